// Pub/sub through the proxy against real redis-servers: confirmations byte for byte as one
// Redis gives them (counts are the client's totals across servers), messages for channels on
// every server, patterns hearing every server, shard channels, PUBSUB introspection merged,
// a subscriber leaving or RESET unsubscribing on the servers, and a server restart
// resubscribed without the client noticing.
#include <signal.h>

#include <set>
#include <string>
#include <vector>

#include "fmt/format.h"
#include "gtest/gtest.h"
#include "tests/proxy/families_util.h"
#include "tests/proxy/proxy_fixture.h"
#include "tests/support/temp_dir.h"

namespace rl::testing {
namespace {

using Script = std::vector<std::vector<std::string>>;

std::string Bulk(const std::string& s) { return fmt::format("${}\r\n{}\r\n", s.size(), s); }
std::string Message(const std::string& channel, const std::string& payload) {
  return "*3\r\n$7\r\nmessage\r\n" + Bulk(channel) + Bulk(payload);
}
std::string PMessage(const std::string& pattern, const std::string& channel,
                     const std::string& payload) {
  return "*4\r\n$8\r\npmessage\r\n" + Bulk(pattern) + Bulk(channel) + Bulk(payload);
}

// Sends a (P|S)SUBSCRIBE or (P|S)UNSUBSCRIBE with names and reads its confirmations, one
// per name.
std::vector<std::string> Confirm(RawConn& c, const std::vector<std::string>& argv) {
  c.Send(Resp(argv));
  std::vector<std::string> replies;
  for (size_t i = 1; i < argv.size(); ++i) replies.push_back(c.ReadReply());
  return replies;
}

// Reads replies up to and including `last`, the reply to a marker request sent last; a reply
// that does not come within the bound ends the stream early.
std::string ReadThrough(RawConn& c, const std::string& last) {
  std::string stream;
  for (;;) {
    std::string reply = c.ReadReply();
    stream += reply;
    if (reply.empty() || reply == last) return stream;
  }
}

class PubsubTest : public ::testing::Test {
 protected:
  void SetUp() override { t_ = ProxyUnderTest::Start(3); }
  // PUBSUB NUMSUB `channel` on server i directly.
  long long NumsubOn(size_t i, const std::string& channel) {
    RedisClient c = t_->Direct(i);
    auto r = c.Command({"PUBSUB", "NUMSUB", channel});
    return r->element[1]->integer;
  }
  long long NumpatOn(size_t i) {
    RedisClient c = t_->Direct(i);
    return c.Command({"PUBSUB", "NUMPAT"})->integer;
  }
  std::unique_ptr<ProxyUnderTest> t_;
};

TEST_F(PubsubTest, ConfirmationsMatchOneRedisByteForByte) {
  // Channels on three different servers, so the counts must be summed by the proxy.
  std::string a = KeyOn(*t_, 0, "a"), b = KeyOn(*t_, 1, "b"), c = KeyOn(*t_, 2, "c");
  std::string s1 = KeyOn(*t_, 1, "s"), s2 = KeyOn(*t_, 2, "s");
  Script script = {
      {"UNSUBSCRIBE"},
      {"PUNSUBSCRIBE", "nothing*"},
      {"PING"},
      {"SUBSCRIBE", a, b, a},
      {"SUBSCRIBE", c},
      {"PSUBSCRIBE", "p*", "q*"},
      {"SSUBSCRIBE", s1, s2},
      {"PING"},
      {"PING", "x"},
      {"GET", a},
      {"CLIENT", "SETNAME", "n"},
      {"MULTI"},
      {"NOSUCH"},
      {"UNSUBSCRIBE", b, "never"},
      {"UNSUBSCRIBE", a, c},
      {"UNSUBSCRIBE"},
      {"PUNSUBSCRIBE", "q*"},
      {"PUNSUBSCRIBE"},
      {"PUNSUBSCRIBE"},
      {"GET", a},
      {"SUNSUBSCRIBE", s1},
      {"SUNSUBSCRIBE", s2},
      {"SUNSUBSCRIBE"},
      {"GET", a},
      {"PING"},
      {"ECHO", "end of script"},  // the marker: its reply ends the stream
  };
  auto reference = RedisServer::Start();
  ASSERT_TRUE(reference) << reference.error();
  auto direct = RawConn::Connect((*reference)->port());
  auto proxied = t_->Raw();
  // Some requests get several replies: compare the whole streams.
  std::string bytes;
  for (const auto& r : script) bytes += Resp(r);
  direct->Send(bytes);
  proxied->Send(bytes);
  std::string want = ReadThrough(*direct, Bulk("end of script")),
              got = ReadThrough(*proxied, Bulk("end of script"));
  EXPECT_EQ(got, want);
  EXPECT_NE(got.find("*3\r\n$9\r\nsubscribe\r\n" + Bulk(c) + ":3\r\n"), std::string::npos);
  EXPECT_TRUE(got.ends_with("$-1\r\n+PONG\r\n" + Bulk("end of script"))) << got;
}

TEST_F(PubsubTest, MessagesReachSubscribersOfChannelsOnEveryServer) {
  auto sub = t_->Raw();
  RedisClient pub = t_->Client();
  std::vector<std::string> channels;
  for (size_t i = 0; i < 3; ++i) channels.push_back(KeyOn(*t_, i, "chan"));
  for (const std::string& reply :
       Confirm(*sub, {"SUBSCRIBE", channels[0], channels[1], channels[2]})) {
    ASSERT_TRUE(reply.starts_with("*3\r\n$9\r\nsubscribe")) << reply;
  }
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(NumsubOn(i, channels[i]), 1) << "a channel lives on the server its name hashes to";
    EXPECT_EQ(pub.Command({"PUBLISH", channels[i], "hello" + std::to_string(i)})->integer, 1);
    EXPECT_EQ(sub->ReadReply(), Message(channels[i], "hello" + std::to_string(i)));
  }
  // Binary payloads pass through untouched.
  std::string payload("\0\r\n\xff", 4);
  EXPECT_EQ(pub.Command({"PUBLISH", channels[1], payload})->integer, 1);
  EXPECT_EQ(sub->ReadReply(), Message(channels[1], payload));
  // A channel nobody listens to: nothing comes of it. The marker, published after it on the
  // same server, is the next thing the subscriber hears.
  EXPECT_EQ(pub.Command({"PUBLISH", "nobody", "x"})->integer, 0);
  const std::string& marker = channels[t_->OwnerOf("nobody")];
  EXPECT_EQ(pub.Command({"PUBLISH", marker, "marker"})->integer, 1);
  EXPECT_EQ(sub->ReadReply(), Message(marker, "marker"));
}

TEST_F(PubsubTest, PublishOnEveryServerReachesPatternSubscribers) {
  auto sub = t_->Raw();
  EXPECT_EQ(Exchange(*sub, {{"PSUBSCRIBE", "news.*"}}),
            std::vector<std::string>{"*3\r\n$10\r\npsubscribe\r\n$6\r\nnews.*\r\n:1\r\n"});
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(NumpatOn(i), 1) << "a pattern listens everywhere";
  RedisClient pub = t_->Client();
  std::set<std::string> want, got;
  for (size_t i = 0; i < 3; ++i) {
    std::string channel = KeyOn(*t_, i, "news.");
    // Through the proxy (to the channel's server), and straight to every server.
    EXPECT_EQ(pub.Command({"PUBLISH", channel, "via proxy"})->integer, 1);
    want.insert(PMessage("news.*", channel, "via proxy"));
    RedisClient direct = t_->Direct(i);
    std::string other = fmt::format("news.direct{}", i);
    EXPECT_EQ(direct.Command({"PUBLISH", other, "direct"})->integer, 1);
    want.insert(PMessage("news.*", other, "direct"));
  }
  for (size_t i = 0; i < want.size(); ++i) got.insert(sub->ReadReply());
  EXPECT_EQ(got, want);
  // A channel the pattern does not match: the marker published after it on the same server is
  // the next message.
  EXPECT_EQ(pub.Command({"PUBLISH", "sports.x", "no"})->integer, 0);
  std::string marker = KeyOn(*t_, t_->OwnerOf("sports.x"), "news.");
  EXPECT_EQ(pub.Command({"PUBLISH", marker, "marker"})->integer, 1);
  EXPECT_EQ(sub->ReadReply(), PMessage("news.*", marker, "marker"));
}

TEST_F(PubsubTest, ShardChannels) {
  std::string s = KeyOn(*t_, 2, "shard");
  auto sub = t_->Raw();
  EXPECT_EQ(Exchange(*sub, {{"SSUBSCRIBE", s}}),
            std::vector<std::string>{"*3\r\n$10\r\nssubscribe\r\n" + Bulk(s) + ":1\r\n"});
  RedisClient pub = t_->Client();
  EXPECT_EQ(pub.Command({"SPUBLISH", s, "hi"})->integer, 1);
  EXPECT_EQ(sub->ReadReply(), "*3\r\n$8\r\nsmessage\r\n" + Bulk(s) + Bulk("hi"));
  EXPECT_EQ(pub.Command({"PUBLISH", s, "not shard"})->integer, 0);
}

TEST_F(PubsubTest, IntrospectionIsMergedAcrossServers) {
  std::vector<std::string> channels;
  for (size_t i = 0; i < 3; ++i) channels.push_back(KeyOn(*t_, i, "ch"));
  auto s1 = t_->Raw(), s2 = t_->Raw();
  Confirm(*s1, {"SUBSCRIBE", channels[0], channels[1], channels[2]});
  Confirm(*s2, {"SUBSCRIBE", channels[1]});
  Confirm(*s2, {"PSUBSCRIBE", "p1*", "p2*"});
  Confirm(*s2, {"SSUBSCRIBE", "shard"});
  RedisClient c = t_->Client();
  auto list = c.Command({"PUBSUB", "CHANNELS"});
  std::set<std::string> names;
  for (size_t i = 0; i < list->elements; ++i) names.insert(list->element[i]->str);
  EXPECT_EQ(names, std::set<std::string>(channels.begin(), channels.end()));
  auto numsub = c.Command({"PUBSUB", "NUMSUB", channels[0], channels[1], "none"});
  ASSERT_EQ(numsub->elements, 6u);
  EXPECT_EQ(numsub->element[0]->str, channels[0]);
  EXPECT_EQ(numsub->element[1]->integer, 1);
  // s1 and s2 listen to channels[1] through their worker's one shared subscriber connection to
  // its server, which Redis counts once (proxy/README.md, "Decisions").
  EXPECT_EQ(numsub->element[3]->integer, 1);
  EXPECT_EQ(numsub->element[5]->integer, 0);
  EXPECT_EQ(c.Command({"PUBSUB", "NUMPAT"})->integer, 2);
  EXPECT_EQ(c.Command({"PUBSUB", "SHARDCHANNELS"})->elements, 1u);
  EXPECT_EQ(c.Command({"PUBSUB", "SHARDNUMSUB", "shard"})->element[1]->integer, 1);
}

TEST_F(PubsubTest, ConfirmedSubscriptionHearsTheNextPublish) {
  // The confirmation comes only once the server subscribed: a PUBLISH sent right after it
  // is heard. Many channels, so every server is exercised.
  auto sub = t_->Raw();
  RedisClient pub = t_->Client();
  for (int i = 0; i < 60; ++i) {
    std::string channel = "race" + std::to_string(i);
    std::string want = "*3\r\n$9\r\nsubscribe\r\n" + Bulk(channel) + fmt::format(":{}\r\n", i + 1);
    ASSERT_EQ(Exchange(*sub, {{"SUBSCRIBE", channel}}), std::vector<std::string>{want});
    ASSERT_EQ(pub.Command({"PUBLISH", channel, "now"})->integer, 1) << channel;
    ASSERT_EQ(sub->ReadReply(), Message(channel, "now"));
  }
  // Unsubscribing stops the messages at once.
  Confirm(*sub, {"UNSUBSCRIBE", "race7"});
  EXPECT_EQ(pub.Command({"PUBLISH", "race7", "late"})->integer, 0);
  EXPECT_EQ(pub.Command({"PUBLISH", "race8", "on"})->integer, 1);
  EXPECT_EQ(sub->ReadReply(), Message("race8", "on"));
}

TEST_F(PubsubTest, LeavingOrResetUnsubscribesOnTheServers) {
  std::string a = KeyOn(*t_, 0, "a"), b = KeyOn(*t_, 1, "b");
  {
    auto sub = t_->Raw();
    Confirm(*sub, {"SUBSCRIBE", a, b});
    Confirm(*sub, {"PSUBSCRIBE", "p*"});
    EXPECT_EQ(NumsubOn(0, a), 1);
    EXPECT_EQ(NumpatOn(2), 1);
  }
  EXPECT_TRUE(WaitFor([&] { return NumsubOn(0, a) == 0 && NumsubOn(1, b) == 0; }));
  EXPECT_TRUE(WaitFor([&] { return NumpatOn(0) + NumpatOn(1) + NumpatOn(2) == 0; }));
  auto sub = t_->Raw();
  Confirm(*sub, {"SUBSCRIBE", a});
  EXPECT_EQ(Exchange(*sub, {{"RESET"}, {"SET", a, "1"}, {"PING"}}),
            (std::vector<std::string>{"+RESET\r\n", "+OK\r\n", "+PONG\r\n"}));
  EXPECT_TRUE(WaitFor([&] { return NumsubOn(0, a) == 0; }));
  // Unsubscribing from everything on a server closes the connection there, too.
  Confirm(*sub, {"SUBSCRIBE", a, b});
  Confirm(*sub, {"UNSUBSCRIBE", a});
  EXPECT_TRUE(WaitFor([&] { return NumsubOn(0, a) == 0; }));
  EXPECT_EQ(NumsubOn(1, b), 1);
}

TEST_F(PubsubTest, SubscriberLeavingBeforeTheServerConfirmed) {
  std::string ch = KeyOn(*t_, 1, "ch");
  kill(t_->redis[1]->pid(), SIGSTOP);
  {
    InputCounter input(t_->port);
    auto sub = t_->Raw();
    const std::string bytes = Resp({"SUBSCRIBE", ch}) + Resp({"PSUBSCRIBE", "x*"});
    sub->Send(bytes);
    ASSERT_TRUE(input.Wait(bytes.size()));  // the proxy has both, r2's confirmation is pending
  }
  kill(t_->redis[1]->pid(), SIGCONT);
  EXPECT_TRUE(WaitFor([&] { return NumsubOn(1, ch) == 0 && NumpatOn(0) == 0; }));
  // The proxy is fine: a new subscriber works.
  auto sub = t_->Raw();
  EXPECT_EQ(Confirm(*sub, {"SUBSCRIBE", ch}).size(), 1u);
  EXPECT_EQ(t_->Client().Command({"PUBLISH", ch, "m"})->integer, 1);
  EXPECT_EQ(sub->ReadReply(), Message(ch, "m"));
}

// Connections to server i that are subscribed to something (CLIENT LIST's sub/psub/ssub).
long long SubscriberConnsOn(ProxyUnderTest& t, size_t i) {
  RedisClient c = t.Direct(i);
  auto list = c.Command({"CLIENT", "LIST"});
  long long n = 0;
  std::string text(list->str, list->len);
  size_t at = 0;
  while ((at = text.find("id=", at)) != std::string::npos) {
    size_t end = text.find('\n', at);
    std::string line = text.substr(at, end - at);
    at = end;
    if (line.find(" sub=0 ") == std::string::npos || line.find(" psub=0 ") == std::string::npos ||
        (line.find(" ssub=") != std::string::npos && line.find(" ssub=0 ") == std::string::npos)) {
      ++n;
    }
  }
  return n;
}

TEST_F(PubsubTest, SubscribersOfAWorkerShareOneConnectionPerServer) {
  std::string ch = KeyOn(*t_, 1, "shared");
  constexpr int kClients = 40;
  std::vector<std::unique_ptr<RawConn>> subs;
  for (int i = 0; i < kClients; ++i) {
    subs.push_back(t_->Raw());
    // Pipelined with no wait: later clients find the name subscribed but not yet confirmed.
    subs.back()->Send(Resp({"SUBSCRIBE", ch}) + Resp({"PSUBSCRIBE", "shared*"}));
  }
  for (auto& s : subs) {
    EXPECT_EQ(s->ReadReply(), "*3\r\n$9\r\nsubscribe\r\n" + Bulk(ch) + ":1\r\n");
    EXPECT_EQ(s->ReadReply(), "*3\r\n$10\r\npsubscribe\r\n$7\r\nshared*\r\n:2\r\n");
  }
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(SubscriberConnsOn(*t_, i), 1) << "server " << i;
  // Redis counts the shared connection: one receiver per subscription kind that matched.
  EXPECT_EQ(t_->Client().Command({"PUBLISH", ch, "m"})->integer, 2);
  for (auto& s : subs) {
    EXPECT_EQ(s->ReadReply(), Message(ch, "m"));
    EXPECT_EQ(s->ReadReply(), PMessage("shared*", ch, "m"));
  }
  // One client leaving leaves the others subscribed; the last one leaving unsubscribes.
  Confirm(*subs[0], {"UNSUBSCRIBE", ch});
  subs[1].reset();
  EXPECT_EQ(t_->Client().Command({"PUBLISH", ch, "n"})->integer, 2);
  EXPECT_EQ(subs[0]->ReadReply(), PMessage("shared*", ch, "n"));
  for (int i = 2; i < kClients; ++i) {
    EXPECT_EQ(subs[i]->ReadReply(), Message(ch, "n"));
    EXPECT_EQ(subs[i]->ReadReply(), PMessage("shared*", ch, "n"));
  }
  subs.clear();
  EXPECT_TRUE(WaitFor([&] { return NumsubOn(1, ch) == 0 && NumpatOn(1) == 0; }));
  EXPECT_TRUE(WaitFor([&] { return SubscriberConnsOn(*t_, 1) == 0; }));
}

TEST_F(PubsubTest, ServerRestartIsResubscribedTransparently) {
  std::string on1 = KeyOn(*t_, 1, "ch"), on0 = KeyOn(*t_, 0, "ch");
  uint16_t port = t_->redis[1]->port();
  auto sub = t_->Raw();
  Confirm(*sub, {"SUBSCRIBE", on0, on1});
  Confirm(*sub, {"PSUBSCRIBE", "pat.*"});
  Confirm(*sub, {"SSUBSCRIBE", on1});
  t_->redis[1]->process().Stop();
  // The other servers keep delivering while r2 is down.
  RedisClient pub = t_->Client();
  EXPECT_EQ(pub.Command({"PUBLISH", on0, "still"})->integer, 1);
  EXPECT_EQ(sub->ReadReply(), Message(on0, "still"));
  TempDir dir;
  auto again = StartRedisOnPort(port, dir.path());
  ASSERT_TRUE(again);
  auto connected = RedisClient::Connect(port);
  ASSERT_TRUE(connected) << connected.error();
  RedisClient& direct = *connected;
  ASSERT_TRUE(WaitFor([&] {
    auto n = direct.Command({"PUBSUB", "NUMSUB", on1});
    auto p = direct.Command({"PUBSUB", "NUMPAT"});
    auto s = direct.Command({"PUBSUB", "SHARDNUMSUB", on1});
    return n && n->element[1]->integer == 1 && p->integer == 1 && s->element[1]->integer == 1;
  }));
  // Nothing reached the client but messages: no confirmation of the resubscription.
  EXPECT_TRUE(WaitFor([&] {
    auto r = pub.Command({"PUBLISH", on1, "back"});
    return r && r->type == REDIS_REPLY_INTEGER && r->integer == 1;
  }));
  EXPECT_EQ(sub->ReadReply(), Message(on1, "back"));
  std::string channel = KeyOn(*t_, 1, "pat.");
  EXPECT_EQ(direct.Command({"PUBLISH", channel, "p"})->integer, 1);
  EXPECT_EQ(sub->ReadReply(), PMessage("pat.*", channel, "p"));
  EXPECT_EQ(direct.Command({"SPUBLISH", on1, "s"})->integer, 1);
  EXPECT_EQ(sub->ReadReply(), "*3\r\n$8\r\nsmessage\r\n" + Bulk(on1) + Bulk("s"));
  EXPECT_EQ(Exchange(*sub, {{"PING"}}), std::vector<std::string>{"*2\r\n$4\r\npong\r\n$0\r\n\r\n"});
}

}  // namespace
}  // namespace rl::testing
