// Compares the checked-in command table with the installed redis-server, so it cannot drift:
// the same commands and subcommands, the same arity, flags and legacy key range, and the same
// key positions as COMMAND GETKEYS reports (on synthetic requests for fixed-position keys and
// on hand-written samples for every movable-keys command). Also reruns the generator in
// --check mode, which covers the captured COMMAND/COMMAND DOCS reply bytes.
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "proxy/commands/command_table.h"
#include "tests/support/redis_server.h"

namespace rl::proxy {
namespace {

using testing::RedisClient;
using testing::RedisServer;

std::string Str(const redisReply* r) { return std::string(r->str, r->len); }

// One COMMAND entry as the server describes it.
struct ServerCommand {
  int arity = 0;
  uint32_t flags = 0;
  std::vector<std::string> unknown_flags;
  int first = 0, last = 0, step = 0;
  bool has_subcommands = false;
  bool channel_keys = false;  // has key specs, all flagged not_key
};

uint32_t FlagBit(const std::string& name) {
  for (const CommandFlagName& f : RedisFlagNames()) {
    if (f.name == name) return f.flag;
  }
  return 0;
}

void Collect(const redisReply* entry, std::map<std::string, ServerCommand>& out) {
  ASSERT_EQ(entry->type, REDIS_REPLY_ARRAY);
  ASSERT_GE(entry->elements, 10u);
  ServerCommand c;
  c.arity = static_cast<int>(entry->element[1]->integer);
  for (size_t i = 0; i < entry->element[2]->elements; ++i) {
    std::string flag = Str(entry->element[2]->element[i]);
    uint32_t bit = FlagBit(flag);
    if (bit == 0) c.unknown_flags.push_back(flag);
    c.flags |= bit;
  }
  c.first = static_cast<int>(entry->element[3]->integer);
  c.last = static_cast<int>(entry->element[4]->integer);
  c.step = static_cast<int>(entry->element[5]->integer);
  const redisReply* specs = entry->element[8];
  bool all_not_key = specs->elements > 0;
  for (size_t i = 0; i < specs->elements; ++i) {
    const redisReply* spec = specs->element[i];
    bool not_key = false;
    for (size_t j = 0; j + 1 < spec->elements; j += 2) {
      if (Str(spec->element[j]) != "flags") continue;
      for (size_t k = 0; k < spec->element[j + 1]->elements; ++k) {
        not_key |= Str(spec->element[j + 1]->element[k]) == "not_key";
      }
    }
    all_not_key &= not_key;
  }
  c.channel_keys = all_not_key;
  const redisReply* subs = entry->element[9];
  c.has_subcommands = subs->elements > 0;
  out[Str(entry->element[0])] = c;
  for (size_t i = 0; i < subs->elements; ++i) Collect(subs->element[i], out);
}

class CommandTableLiveTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto server = RedisServer::Start();
    ASSERT_TRUE(server.has_value()) << server.error();
    server_ = std::move(*server).release();
    auto client = server_->Connect();
    ASSERT_TRUE(client.has_value()) << client.error();
    client_ = new RedisClient(std::move(*client));
    RedisClient::Reply reply = client_->Command({"COMMAND"});
    ASSERT_NE(reply, nullptr);
    ASSERT_EQ(reply->type, REDIS_REPLY_ARRAY);
    commands_ = new std::map<std::string, ServerCommand>;
    for (size_t i = 0; i < reply->elements; ++i) Collect(reply->element[i], *commands_);
  }
  void SetUp() override { ASSERT_NE(commands_, nullptr) << "redis-server did not start"; }

  static void TearDownTestSuite() {
    delete commands_;
    delete client_;
    delete server_;  // stops redis-server by pid
    commands_ = nullptr;
    client_ = nullptr;
    server_ = nullptr;
  }

  // Asks COMMAND GETKEYS for `argv` and compares with ExtractKeys: the same argv indexes (keys
  // are mapped to the index of their first occurrence, so samples use distinct key names).
  static void ExpectSameKeys(const std::vector<std::string>& argv) {
    SCOPED_TRACE(Join(argv));
    // Where Redis 7.0's COMMAND GETKEYS is wrong, the right answer, checked instead.
    struct Divergence {
      std::string_view request;
      std::vector<uint32_t> keys;
    };
    static const Divergence kDivergences[] = {
        // GETKEYS fails when a key spec (PFMERGE's sources) starts past the end, yet
        // "PFMERGE dest" is valid and writes dest.
        {"pfmerge arg1", {1}},
    };
    ASSERT_NE(client_, nullptr);
    const CommandInfo* info = FindCommand(argv[0], argv.size() > 1 ? argv[1] : "");
    ASSERT_NE(info, nullptr);
    std::vector<std::string> request = {"COMMAND", "GETKEYS"};
    request.insert(request.end(), argv.begin(), argv.end());
    RedisClient::Reply reply = client_->Command(request);
    ASSERT_NE(reply, nullptr);
    std::vector<uint32_t> want;
    if (reply->type == REDIS_REPLY_ARRAY) {
      for (size_t i = 0; i < reply->elements; ++i) {
        auto at = std::find(argv.begin(), argv.end(), Str(reply->element[i]));
        ASSERT_NE(at, argv.end());
        want.push_back(static_cast<uint32_t>(at - argv.begin()));
      }
      std::sort(want.begin(), want.end());
    } else {
      ASSERT_EQ(reply->type, REDIS_REPLY_ERROR);  // e.g. "The command has no key arguments"
    }
    for (const Divergence& d : kDivergences) {
      if (Join(argv) == d.request) want = d.keys;
    }
    std::vector<std::string_view> views(argv.begin(), argv.end());
    std::vector<uint32_t> got(argv.size());
    KeyError error = KeyError::kNone;
    int n = ExtractKeys(*info, views, got, &error);
    ASSERT_GE(n, 0) << KeyErrorMessage(error);
    got.resize(static_cast<size_t>(n));
    EXPECT_EQ(got, want) << "server reply: "
                         << (reply->type == REDIS_REPLY_ERROR ? Str(reply.get()) : "keys");
  }

  static std::string Join(const std::vector<std::string>& argv) {
    std::string s;
    for (const std::string& a : argv) s += (s.empty() ? "" : " ") + (a.empty() ? "''" : a);
    return s;
  }

  static RedisServer* server_;
  static RedisClient* client_;
  static std::map<std::string, ServerCommand>* commands_;
};

RedisServer* CommandTableLiveTest::server_ = nullptr;
RedisClient* CommandTableLiveTest::client_ = nullptr;
std::map<std::string, ServerCommand>* CommandTableLiveTest::commands_ = nullptr;

TEST_F(CommandTableLiveTest, SameCommandsAsTheServer) {
  std::set<std::string> table, server;
  for (const CommandInfo& c : AllCommands()) {
    if (!(c.flags & kNotInRedis)) table.emplace(c.name);
  }
  for (const auto& [name, c] : *commands_) server.insert(name);
  for (const std::string& name : server) {
    EXPECT_TRUE(table.contains(name)) << "redis-server has '" << name
                                      << "' but the table does not: run scripts/gen_command_table";
  }
  for (const std::string& name : table) {
    EXPECT_TRUE(server.contains(name))
        << "the table has '" << name
        << "' but redis-server does not: run scripts/gen_command_table";
  }
}

TEST_F(CommandTableLiveTest, ExtensionsAreStillMissingFromTheServer) {
  for (const CommandInfo& c : AllCommands()) {
    if (c.flags & kNotInRedis) {
      EXPECT_FALSE(commands_->contains(std::string(c.name))) << c.name;
    }
  }
}

TEST_F(CommandTableLiveTest, SameArityFlagsAndLegacyKeyRange) {
  for (const auto& [name, s] : *commands_) {
    SCOPED_TRACE(name);
    const CommandInfo* c = nullptr;
    for (const CommandInfo& row : AllCommands()) {
      if (row.name == name) c = &row;
    }
    if (c == nullptr) continue;  // reported by SameCommandsAsTheServer
    EXPECT_TRUE(s.unknown_flags.empty()) << "flag unknown to the table: " << s.unknown_flags[0];
    EXPECT_EQ(c->arity, s.arity);
    EXPECT_EQ(c->flags & kRedisFlagsMask, s.flags);
    EXPECT_EQ(c->first_key, s.first);
    EXPECT_EQ(c->last_key, s.last);
    EXPECT_EQ(c->key_step, s.step);
    EXPECT_EQ((c->flags & kHasSubcommands) != 0, s.has_subcommands);
    EXPECT_EQ((c->flags & kChannelKeys) != 0, s.channel_keys);
  }
}

// Commands whose keys sit at fixed positions: a synthetic request of each allowed length.
TEST_F(CommandTableLiveTest, FixedKeyPositionsMatchGetkeys) {
  int compared = 0;
  for (const CommandInfo& c : AllCommands()) {
    if ((c.flags & (kMovableKeys | kHasSubcommands | kNotInRedis | kChannelKeys)) != 0) continue;
    std::vector<std::string> base;
    const size_t bar = c.name.find('|');
    if (bar == std::string_view::npos) {
      base = {std::string(c.name)};
    } else {
      base = {std::string(c.name.substr(0, bar)), std::string(c.name.substr(bar + 1))};
    }
    const size_t min_argc = static_cast<size_t>(std::abs(c.arity));
    const size_t step = static_cast<size_t>(std::max(c.key_step, 1));
    std::vector<size_t> lengths = {min_argc};
    if (c.arity < 0) lengths.insert(lengths.end(), {min_argc + step, min_argc + 3 * step});
    for (size_t argc : lengths) {
      std::vector<std::string> argv = base;
      while (argv.size() < argc) argv.push_back("arg" + std::to_string(argv.size()));
      ExpectSameKeys(argv);
      ++compared;
    }
  }
  EXPECT_GT(compared, 300);
}

// Hand-written, well-formed requests for every command whose keys move with its arguments.
const char* const kMovableSamples[] = {
    "eval s 2 a b x",
    "eval s 0",
    "eval_ro s 1 a x",
    "evalsha sha 2 a b",
    "evalsha_ro sha 0 x",
    "fcall f 1 a x",
    "fcall_ro f 2 a b",
    "zunionstore d 2 a b WEIGHTS 1 2",
    "zinterstore d 1 a AGGREGATE MAX",
    "zdiffstore d 2 a b",
    "zunion 2 a b WITHSCORES",
    "zinter 1 a",
    "zdiff 2 a b",
    "sintercard 2 a b LIMIT 1",
    "zintercard 1 a",
    "lmpop 2 a b LEFT COUNT 2",
    "zmpop 1 a MIN",
    "blmpop 0 2 a b LEFT",
    "bzmpop 0 2 a b MAX COUNT 1",
    "xread STREAMS a 0",
    "xread COUNT 1 BLOCK 0 STREAMS a b 0 0",
    "xreadgroup GROUP g c COUNT 1 NOACK STREAMS a b > >",
    "xreadgroup GROUP streams c STREAMS a >",
    "sort k",
    "sort k BY w_* LIMIT 0 10 GET # GET h_*->f DESC ALPHA STORE d",
    "sort k STORE a STORE b",
    "sort_ro k BY w_* GET #",
    "georadius k 0 0 1 m",
    "georadius k 0 0 1 m WITHDIST COUNT 5 STORE d",
    "georadius k 0 0 1 m STOREDIST d",
    "georadius k 0 0 1 m STORE a STOREDIST b",
    "georadiusbymember k m 1 km STORE d",
    "georadiusbymember k m 1 km",
    "migrate h 6379 k 0 100",
    "migrate h 6379 k 0 100 COPY REPLACE",
    "migrate h 6379 '' 0 100 KEYS a b",
    "migrate h 6379 '' 0 100 AUTH pw KEYS a b",
    "migrate h 6379 '' 0 100 AUTH2 user pw KEYS a",
};

TEST_F(CommandTableLiveTest, MovableKeysMatchGetkeysOnSamples) {
  std::set<std::string> sampled;
  for (std::string_view sample : kMovableSamples) {
    std::vector<std::string> argv;
    std::istringstream words{std::string(sample)};
    for (std::string w; words >> w;) argv.push_back(w == "''" ? "" : w);
    sampled.insert(argv[0]);
    ExpectSameKeys(argv);
  }
  for (const auto& [name, s] : *commands_) {
    if (s.flags & kMovableKeys) {
      EXPECT_TRUE(sampled.contains(name)) << "add a sample for movable-keys command " << name;
    }
  }
}

// The generator, rerun against the installed server, reproduces the checked-in files byte for
// byte (this covers the COMMAND INFO / COMMAND DOCS bytes in command_replies_gen.inc).
TEST(CommandTableGeneratorTest, CheckedInFilesAreCurrent) {
  const char* source_dir = std::getenv("RL_SOURCE_DIR");
  if (source_dir == nullptr) source_dir = RL_SOURCE_DIR;
  testing::TempDir dir;
  const std::string log = dir.File("gen.log");
  auto child = testing::ChildProcess::Spawn(
      {"/usr/bin/python3", std::string(source_dir) + "/scripts/gen_command_table", "--check"}, log);
  ASSERT_TRUE(child.has_value()) << child.error();
  const int status = child->WaitExit(std::chrono::seconds(60));
  std::ifstream file(log);
  std::stringstream output;
  output << file.rdbuf();
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "scripts/gen_command_table --check failed (status " << status << "):\n"
      << output.str();
}

}  // namespace
}  // namespace rl::proxy
