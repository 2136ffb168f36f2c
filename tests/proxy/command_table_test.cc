// Unit tests for the command table: lookups (case, subcommands, unknown names), ExtractKeys for
// every KeyRule including malformed requests (table-driven), routing decisions the proxy relies
// on, the captured COMMAND replies, and that proxy/commands/COMMANDS.md matches the table.
#include "proxy/commands/command_table.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "proxy/commands/command_doc.h"
#include "proxy/commands/command_replies.h"
#include "tests/support/test_seed.h"

namespace rl::proxy {
namespace {

// "eval s 2 a b" -> argv; '' stands for an empty argument.
std::vector<std::string_view> Args(std::string_view line) {
  std::vector<std::string_view> argv;
  while (!line.empty()) {
    size_t space = line.find(' ');
    std::string_view word = line.substr(0, space);
    argv.push_back(word == "''" ? std::string_view() : word);
    line = space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
  }
  return argv;
}

// The table entry for a request: a subcommand's entry when argv[0] is a container.
const CommandInfo* Lookup(const std::vector<std::string_view>& argv) {
  return FindCommand(argv[0], argv.size() > 1 ? argv[1] : std::string_view());
}

TEST(FindCommandTest, IsCaseInsensitive) {
  const CommandInfo* get = FindCommand("get");
  ASSERT_NE(get, nullptr);
  EXPECT_EQ(get->name, "get");
  EXPECT_EQ(FindCommand("GET"), get);
  EXPECT_EQ(FindCommand("gEt"), get);
  EXPECT_EQ(FindCommand("RESTORE-ASKING"), FindCommand("restore-asking"));
  EXPECT_EQ(FindCommand("Eval_RO")->name, "eval_ro");
}

TEST(FindCommandTest, FindsSubcommands) {
  struct Case {
    std::string_view name, sub, want;
  };
  const Case cases[] = {
      {"config", "get", "config|get"},
      {"CONFIG", "GET", "config|get"},
      {"Config", "gEt", "config|get"},
      {"client", "setname", "client|setname"},
      {"object", "ENCODING", "object|encoding"},
      {"xinfo", "stream", "xinfo|stream"},
      {"memory", "usage", "memory|usage"},
      {"script", "load", "script|load"},
      {"function", "load", "function|load"},
      {"cluster", "count-failure-reports", "cluster|count-failure-reports"},
      {"command", "docs", "command|docs"},
      {"client", "setinfo", "client|setinfo"},
      // Unknown or missing subcommand: the container itself.
      {"config", "bogus", "config"},
      {"command", "bogus", "command"},
      {"config", "", "config"},
      {"config", "get|x", "config"},
      {"client", "setnamex", "client"},
      {"config", "a-subcommand-name-longer-than-any-real-one", "config"},
      // Not a container: the subcommand argument is ignored.
      {"get", "key", "get"},
      {"set", "get", "set"},
  };
  for (const Case& c : cases) {
    const CommandInfo* info = FindCommand(c.name, c.sub);
    ASSERT_NE(info, nullptr) << c.name << " " << c.sub;
    EXPECT_EQ(info->name, c.want) << c.name << " " << c.sub;
  }
}

TEST(FindCommandTest, UnknownNamesAreNull) {
  for (std::string_view name :
       {std::string_view("nosuch"), std::string_view(""), std::string_view("ge"),
        std::string_view("gett"), std::string_view("config|get"), std::string_view("get "),
        std::string_view("g\0t", 3), std::string_view("\xc3\xa9val"),
        std::string_view("a-command-name-much-longer-than-any-redis-command")}) {
    EXPECT_EQ(FindCommand(name), nullptr) << name;
    EXPECT_EQ(FindCommand(name, "get"), nullptr) << name;
  }
}

TEST(FindCommandTest, FindsEveryRowInAnyCase) {
  for (const CommandInfo& row : AllCommands()) {
    std::string name(row.name), sub;
    if (size_t bar = name.find('|'); bar != std::string::npos) {
      sub = name.substr(bar + 1);
      name.resize(bar);
    }
    EXPECT_EQ(FindCommand(name, sub), &row) << row.name;
    std::transform(name.begin(), name.end(), name.begin(), ::toupper);
    std::transform(sub.begin(), sub.end(), sub.begin(), ::toupper);
    EXPECT_EQ(FindCommand(name, sub), &row) << row.name;
  }
}

TEST(AllCommandsTest, SortedUniqueAndComplete) {
  std::span<const CommandInfo> all = AllCommands();
  EXPECT_GE(all.size(), 360u);  // Redis 7.0: 240 commands and 126 subcommands
  for (size_t i = 1; i < all.size(); ++i) EXPECT_LT(all[i - 1].name, all[i].name);
  for (const CommandInfo& c : all) {
    size_t bar = c.name.find('|');
    if (bar == std::string_view::npos) continue;
    const CommandInfo* container = FindCommand(c.name.substr(0, bar));
    ASSERT_NE(container, nullptr) << c.name;
    EXPECT_TRUE(container->flags & kHasSubcommands) << c.name;
  }
}

TEST(ArityTest, ExactAndMinimum) {
  const CommandInfo& get = *FindCommand("get");
  EXPECT_FALSE(ArityOk(get, 1));
  EXPECT_TRUE(ArityOk(get, 2));
  EXPECT_FALSE(ArityOk(get, 3));
  const CommandInfo& mset = *FindCommand("mset");
  EXPECT_FALSE(ArityOk(mset, 2));
  EXPECT_TRUE(ArityOk(mset, 3));
  EXPECT_TRUE(ArityOk(mset, 100));
  const CommandInfo& config_get = *FindCommand("config", "get");
  EXPECT_FALSE(ArityOk(config_get, 2));
  EXPECT_TRUE(ArityOk(config_get, 3));
}

TEST(FlagsTest, MatchRedis) {
  EXPECT_EQ(FindCommand("get")->flags & kRedisFlagsMask, kReadonly | kFast);
  EXPECT_EQ(FindCommand("set")->flags & kRedisFlagsMask, kWrite | kDenyoom);
  EXPECT_TRUE(FindCommand("blpop")->flags & kBlocking);
  EXPECT_TRUE(FindCommand("eval")->flags & kMovableKeys);
  EXPECT_TRUE(FindCommand("spublish")->flags & kChannelKeys);
  EXPECT_TRUE(FindCommand("client", "setinfo")->flags & kNotInRedis);
  EXPECT_FALSE(FindCommand("client", "setname")->flags & kNotInRedis);
  uint32_t seen = 0;
  for (const CommandFlagName& f : RedisFlagNames()) {
    EXPECT_EQ(seen & f.flag, 0u) << f.name;
    seen |= f.flag;
  }
  EXPECT_EQ(seen, static_cast<uint32_t>(kRedisFlagsMask));
}

struct KeysCase {
  std::string_view request;
  std::vector<uint32_t> keys;  // expected indexes when error == kNone
  KeyError error = KeyError::kNone;
};

void ExpectKeys(const KeysCase& c) {
  std::vector<std::string_view> argv = Args(c.request);
  const CommandInfo* info = Lookup(argv);
  ASSERT_NE(info, nullptr) << c.request;
  std::vector<uint32_t> out(argv.size());
  KeyError error = KeyError::kNone;
  int n = ExtractKeys(*info, argv, out, &error);
  EXPECT_EQ(error, c.error) << c.request;
  if (c.error == KeyError::kNone) {
    ASSERT_GE(n, 0) << c.request;
    out.resize(static_cast<size_t>(n));
    EXPECT_EQ(out, c.keys) << c.request;
  } else {
    EXPECT_EQ(n, -1) << c.request;
    EXPECT_FALSE(KeyErrorMessage(error).empty());
  }
}

TEST(ExtractKeysTest, Range) {
  const KeysCase cases[] = {
      {"get k", {1}},
      {"set k v EX 10", {1}},
      {"ping", {}},
      {"ping hello", {}},
      {"mget a b c", {1, 2, 3}},
      {"mset a 1 b 2", {1, 3}},
      {"msetnx a 1 b 2 c 3", {1, 3, 5}},
      {"del a", {1}},
      {"blpop a b 0", {1, 2}},
      {"bitop AND dst a b", {2, 3, 4}},
      {"rename a b", {1, 2}},
      {"lmove a b LEFT RIGHT", {1, 2}},
      {"object encoding k", {2}},
      {"OBJECT FREQ k", {2}},
      {"memory usage k SAMPLES 5", {2}},
      {"xinfo stream s FULL", {2}},
      {"xgroup create s g $ MKSTREAM", {2}},
      {"spublish channel message", {1}},  // shard channels route like keys
      {"ssubscribe a b c", {1, 2, 3}},
      {"sort_ro k BY w_* GET #", {1}},
      {"config get maxmemory", {}},
      {"client setinfo lib-name redis-py", {}},
      // Malformed.
      {"get", {}, KeyError::kWrongArgCount},
      {"get a b", {}, KeyError::kWrongArgCount},
      {"mget", {}, KeyError::kWrongArgCount},
      {"mset a 1 b", {}, KeyError::kWrongArgCount},
      {"object encoding", {}, KeyError::kWrongArgCount},
  };
  for (const KeysCase& c : cases) ExpectKeys(c);
}

TEST(ExtractKeysTest, Numkeys) {
  const KeysCase cases[] = {
      {"eval s 2 a b x", {3, 4}},
      {"EVAL s 0", {}},
      {"eval s 0 x y", {}},
      {"evalsha_ro sha 1 k", {3}},
      {"fcall f 1 k arg", {3}},
      {"fcall_ro f 2 a b", {3, 4}},
      {"zunionstore d 2 a b WEIGHTS 1 2", {1, 3, 4}},
      {"zinterstore d 1 a", {1, 3}},
      {"zdiffstore d 2 a b", {1, 3, 4}},
      {"zunion 2 a b WITHSCORES", {2, 3}},
      {"zdiff 1 a", {2}},
      {"sintercard 2 a b LIMIT 1", {2, 3}},
      {"zintercard 1 a", {2}},
      {"lmpop 2 a b LEFT COUNT 2", {2, 3}},
      {"zmpop 1 a MIN", {2}},
      {"blmpop 0 2 a b LEFT", {3, 4}},
      {"bzmpop 1.5 1 a MAX", {3}},
      // Malformed numkeys: Redis rejects every one of these.
      {"eval s 3 a b", {}, KeyError::kNumkeysTooLarge},
      {"eval s -1", {}, KeyError::kNegativeNumkeys},
      {"eval s abc", {}, KeyError::kNotAnInteger},
      {"eval s 03 a b c", {}, KeyError::kNotAnInteger},
      {"eval s +1 a", {}, KeyError::kNotAnInteger},
      {"eval s 1x a", {}, KeyError::kNotAnInteger},
      {"eval s '' a", {}, KeyError::kNotAnInteger},
      {"eval s -0", {}, KeyError::kNotAnInteger},
      {"eval s 99999999999999999999 a", {}, KeyError::kNotAnInteger},
      {"eval s 9223372036854775807 a", {}, KeyError::kNumkeysTooLarge},
      {"eval s -9223372036854775808 a", {}, KeyError::kNegativeNumkeys},
      {"eval s -9223372036854775809 a", {}, KeyError::kNotAnInteger},
      {"zunionstore d x a", {}, KeyError::kNotAnInteger},
      {"zunionstore d 3 a b", {}, KeyError::kNumkeysTooLarge},
      {"lmpop -1 a LEFT", {}, KeyError::kNegativeNumkeys},
      {"blmpop 0 5 a LEFT", {}, KeyError::kNumkeysTooLarge},
      {"eval s", {}, KeyError::kWrongArgCount},
  };
  for (const KeysCase& c : cases) ExpectKeys(c);
}

TEST(ExtractKeysTest, Streams) {
  const KeysCase cases[] = {
      {"xread STREAMS a 0", {2}},
      {"xread COUNT 1 BLOCK 0 streams a b 0 0", {6, 7}},
      {"XREADGROUP GROUP g c STREAMS s 0", {5}},
      // A group or consumer named "streams" comes before the searched range.
      {"xreadgroup group streams c streams s >", {5}},
      {"xreadgroup group g streams COUNT 1 STREAMS s1 s2 > >", {7, 8}},
      {"xread streams streams 0", {2}},  // a stream named "streams"
      // Malformed.
      {"xread streams a b 0", {}, KeyError::kUnbalancedStreams},
      {"xread count 1 streams", {}, KeyError::kUnbalancedStreams},
      {"xread count 1 a 0", {}, KeyError::kSyntax},
      {"xreadgroup group g c count 1 a 0", {}, KeyError::kSyntax},
  };
  for (const KeysCase& c : cases) ExpectKeys(c);
}

TEST(ExtractKeysTest, SortGeoradiusMigrate) {
  const KeysCase cases[] = {
      {"sort k", {1}},
      {"sort k STORE d", {1, 3}},
      {"sort k BY w_* LIMIT 0 10 GET # GET h_*->f DESC ALPHA STORE d", {1, 14}},
      {"sort k store a store b", {1, 5}},  // the last STORE wins, as in Redis
      {"sort k get store", {1}},           // GET's pattern is "store"
      {"sort k by store store d", {1, 5}},
      {"sort k limit store 1 store d", {1, 6}},
      {"sort k store", {1}},  // Redis: syntax error, no destination
      {"georadius k 0 0 1 m STORE d", {1, 7}},
      {"georadius k 0 0 1 m STOREDIST d", {1, 7}},
      {"georadius k 0 0 1 m WITHDIST COUNT 5 ASC", {1}},
      {"georadius k 0 0 1 m store a storedist b", {1, 7, 9}},
      {"georadius k 0 0 1 m store a store b", {1, 7, 9}},  // superset of what Redis writes
      {"georadius k 0 0 1 m store", {1}},
      {"georadiusbymember k m 1 km STORE d", {1, 6}},
      {"georadiusbymember store m 1 km", {1}},
      {"migrate h 6379 k 0 100", {3}},
      {"migrate h 6379 k 0 100 COPY REPLACE", {3}},
      {"migrate h 6379 '' 0 100 KEYS a b", {7, 8}},
      {"migrate h 6379 '' 0 100 AUTH keys KEYS a", {9}},
      {"migrate h 6379 '' 0 100 COPY REPLACE AUTH2 u keys KEYS a b", {12, 13}},
      {"migrate h 6379 '' 0 100 keys", {}},
      {"migrate h 6379 k 0 100 KEYS a", {}, KeyError::kSyntax},
  };
  for (const KeysCase& c : cases) ExpectKeys(c);
}

TEST(ExtractKeysTest, ReportsAShortOutputSpan) {
  std::vector<std::string_view> argv = Args("mget a b c");
  uint32_t out[2];
  KeyError error = KeyError::kNone;
  EXPECT_EQ(ExtractKeys(*FindCommand("mget"), argv, out, &error), -1);
  EXPECT_EQ(error, KeyError::kOutputTooSmall);
  EXPECT_EQ(ExtractKeys(*FindCommand("mget"), argv, out), -1);  // error pointer optional
}

// Random requests for every command: whatever the arguments, the keys are in range, strictly
// ascending, and an error comes with a reason. Run under ASan this also checks bounds.
TEST(ExtractKeysTest, RandomRequestsStayInBounds) {
  SCOPED_TRACE(rl::testing::SeedNote());
  std::mt19937 rng(rl::testing::TestSeed());
  const std::string_view words[] = {
      "0",    "1",       "2",       "3",     "-1",        "x",
      "",     "STREAMS", "streams", "STORE", "storedist", "KEYS",
      "AUTH", "auth2",   "LIMIT",   "BY",    "GET",       "99999999999999999999"};
  for (const CommandInfo& info : AllCommands()) {
    for (int round = 0; round < 50; ++round) {
      std::vector<std::string_view> argv = {info.name};
      const size_t argc = 1 + rng() % 12;
      while (argv.size() < argc) argv.push_back(words[rng() % std::size(words)]);
      std::vector<uint32_t> out(argv.size());
      KeyError error = KeyError::kNone;
      int n = ExtractKeys(info, argv, out, &error);
      if (n < 0) {
        EXPECT_NE(error, KeyError::kNone) << info.name;
        continue;
      }
      EXPECT_EQ(error, KeyError::kNone);
      for (int i = 0; i < n; ++i) {
        EXPECT_GT(out[i], 0u) << info.name;
        EXPECT_LT(out[i], argv.size()) << info.name;
        if (i > 0) {
          EXPECT_LT(out[i - 1], out[i]) << info.name;
        }
      }
    }
  }
}

TEST(RouteTest, DecisionsTheProxyReliesOn) {
  struct Case {
    std::string_view name, sub;
    Route route;
    Merge merge = Merge::kNone;
  };
  const Case cases[] = {
      {"get", "", Route::kForwardByKey},
      {"object", "encoding", Route::kForwardByKey},
      {"mget", "", Route::kSplitMerge, Merge::kKeyOrder},
      {"mset", "", Route::kSplitMerge, Merge::kAllOk},
      {"del", "", Route::kSplitMerge, Merge::kSumIntegers},
      {"unlink", "", Route::kSplitMerge, Merge::kSumIntegers},
      {"exists", "", Route::kSplitMerge, Merge::kSumIntegers},
      {"touch", "", Route::kSplitMerge, Merge::kSumIntegers},
      {"rename", "", Route::kColocated},
      {"renamenx", "", Route::kColocated},
      {"smove", "", Route::kColocated},
      {"sunionstore", "", Route::kColocated},
      {"zunionstore", "", Route::kColocated},
      {"rpoplpush", "", Route::kColocated},
      {"pfmerge", "", Route::kColocated},
      {"pfcount", "", Route::kColocated},
      {"copy", "", Route::kColocated},
      {"msetnx", "", Route::kColocated},
      {"bitop", "", Route::kColocated},
      {"eval", "", Route::kColocated},
      {"evalsha", "", Route::kColocated},
      {"fcall", "", Route::kColocated},
      {"geosearchstore", "", Route::kColocated},
      {"sintercard", "", Route::kColocated},
      {"ping", "", Route::kLocal},
      {"echo", "", Route::kLocal},
      {"quit", "", Route::kLocal},
      {"select", "", Route::kLocal},
      {"auth", "", Route::kLocal},
      {"hello", "", Route::kLocal},
      {"client", "setname", Route::kLocal},
      {"client", "getname", Route::kLocal},
      {"client", "id", Route::kLocal},
      {"client", "setinfo", Route::kLocal},
      {"client", "info", Route::kLocal},
      {"info", "", Route::kLocal},
      {"command", "", Route::kLocal},
      {"command", "count", Route::kLocal},
      {"command", "docs", Route::kLocal},
      {"command", "info", Route::kLocal},
      {"config", "get", Route::kLocal},
      {"readonly", "", Route::kLocal},
      {"readwrite", "", Route::kLocal},
      {"reset", "", Route::kLocal},
      {"dbsize", "", Route::kBroadcast, Merge::kSumIntegers},
      {"script", "load", Route::kBroadcast, Merge::kAllEqual},
      {"script", "exists", Route::kBroadcast, Merge::kAndArrays},
      {"script", "flush", Route::kBroadcast, Merge::kAllOk},
      {"script", "kill", Route::kBroadcast, Merge::kAnySuccess},
      {"keys", "", Route::kBroadcast, Merge::kConcatArrays},
      {"randomkey", "", Route::kBroadcast, Merge::kRandomNonNil},
      {"flushdb", "", Route::kAdminBroadcast, Merge::kAllOk},
      {"flushall", "", Route::kAdminBroadcast, Merge::kAllOk},
      {"scan", "", Route::kScan},
      {"time", "", Route::kAnyServer},
      {"multi", "", Route::kTransaction},
      {"watch", "", Route::kTransaction},
      {"blpop", "", Route::kBlocking},
      {"xread", "", Route::kBlocking},
      {"subscribe", "", Route::kPubsub},
      {"publish", "", Route::kPubsub},
      {"spublish", "", Route::kForwardByKey},
      {"pubsub", "channels", Route::kBroadcast, Merge::kUnionArrays},
      {"pubsub", "numsub", Route::kBroadcast, Merge::kSumPairs},
      {"wait", "", Route::kBlocking},
      {"cluster", "info", Route::kRefused},
      {"monitor", "", Route::kRefused},
      {"shutdown", "", Route::kRefused},
      {"replicaof", "", Route::kRefused},
      {"config", "set", Route::kRefused},
      {"migrate", "", Route::kRefused},
      {"move", "", Route::kRefused},
      {"swapdb", "", Route::kRefused},
      {"client", "kill", Route::kRefused},
      {"acl", "setuser", Route::kRefused},
      {"config", "nosuch", Route::kRefused},
  };
  for (const Case& c : cases) {
    const CommandInfo* info = FindCommand(c.name, c.sub);
    ASSERT_NE(info, nullptr) << c.name << " " << c.sub;
    EXPECT_EQ(info->route, c.route) << info->name;
    EXPECT_EQ(info->merge, c.merge) << info->name;
  }
  for (const CommandInfo& c : AllCommands()) {
    bool explained = c.route == Route::kRefused || c.route == Route::kSpecial ||
                     c.route == Route::kAdminBroadcast;
    EXPECT_EQ(!c.reason.empty(), explained) << c.name;
  }
}

TEST(CommandRepliesTest, EveryRedisCommandHasItsOwnEntries) {
  for (const CommandInfo& c : AllCommands()) {
    std::string_view info = CommandInfoReply(c);
    std::string_view docs = CommandDocsReply(c);
    if (c.flags & kNotInRedis) {
      EXPECT_TRUE(info.empty() && docs.empty()) << c.name;
      continue;
    }
    std::string head = "*10\r\n$" + std::to_string(c.name.size()) + "\r\n" + std::string(c.name) +
                       "\r\n:" + std::to_string(c.arity) + "\r\n";
    EXPECT_EQ(info.substr(0, head.size()), head) << c.name;
    EXPECT_TRUE(info.ends_with("\r\n")) << c.name;
    EXPECT_TRUE(docs.starts_with("*") && docs.find("summary") != std::string_view::npos) << c.name;
  }
}

TEST(CommandDocTest, CommandsMarkdownIsCurrent) {
  std::ifstream file(RL_SOURCE_DIR "/proxy/commands/COMMANDS.md");
  ASSERT_TRUE(file) << "missing proxy/commands/COMMANDS.md";
  std::stringstream text;
  text << file.rdbuf();
  EXPECT_TRUE(text.str() == RenderCommandsMarkdown())
      << "proxy/commands/COMMANDS.md is stale: build rl_command_doc and run "
         "build/proxy/commands/rl_command_doc > proxy/commands/COMMANDS.md";
}

TEST(CommandDocTest, DescribesKeys) {
  EXPECT_EQ(DisplayName(*FindCommand("client", "setname")), "CLIENT SETNAME");
  EXPECT_EQ(DescribeKeys(*FindCommand("get")), "argv[1]");
  EXPECT_EQ(DescribeKeys(*FindCommand("mset")), "argv[1..] step 2");
  EXPECT_EQ(DescribeKeys(*FindCommand("blpop")), "argv[1..-2]");
  EXPECT_EQ(DescribeKeys(*FindCommand("rename")), "argv[1..2]");
  EXPECT_EQ(DescribeKeys(*FindCommand("zunionstore")), "argv[1] + numkeys at argv[2]");
  EXPECT_EQ(DescribeKeys(*FindCommand("ping")), "");
}

}  // namespace
}  // namespace rl::proxy
