// The RESP peer transport over real loopback sockets on one loop: PeerLinks (node 2, 3...)
// talking to PeerServer (node 1) with a fake PeerHandler. Authentication (and its refusals),
// spoofed and malformed messages, batching, ordered RAFT.PROPOSE replies, RAFT.MEMBER, the
// unauthenticated PING/RAFT.STATUS, hostile bytes (seeded: RL_TEST_SEED), reconnecting, and
// the fault-injection parser.
#include <fmt/format.h>

#include <random>

#include "proxy/resp/client.h"
#include "raft/codec.h"
#include "raft/node/peer_auth.h"
#include "raft/node/peer_links_internal.h"
#include "tests/raft/node/peer_test_util.h"
#include "tests/support/test_seed.h"

namespace rl::raft {
namespace {

using proxy::RespClient;
using proxy::RespResult;

class PeerTransportTest : public PeerTest {
 protected:
  // Node 1's server and node 2's links to it, authenticated.
  void Pair(PeerSettings links_settings) {
    ASSERT_NE(StartServer(1), nullptr);
    links_settings.self = 2;
    ASSERT_NE(StartLinks(links_settings, {{1, Addr(1)}}), nullptr);
    ASSERT_TRUE(RunUntil([&] { return links_[2]->authenticated(1); }));
  }

  // A RespClient on node 1's port, authenticated as `as` (ASSERTs it worked).
  proxy::RespClientPtr AuthedClient(NodeId as) {
    proxy::RespClientOptions options;
    options.port = servers_.at(1)->port();
    bool connected = false;
    options.on_connected = [&connected] { connected = true; };
    auto client = RespClient::Create(&loop_, std::move(options));
    EXPECT_TRUE(RunUntil([&] { return connected; }));
    client_settings_ = Settings(as);
    std::optional<peer_links_internal::HandshakeResult> result;
    peer_links_internal::Handshake(
        client.get(), client_settings_,
        [&result](peer_links_internal::HandshakeResult r) { result = r; });
    EXPECT_TRUE(RunUntil([&] { return result.has_value(); }));
    EXPECT_TRUE(result && result->outcome == peer_links_internal::HandshakeResult::Outcome::kOk)
        << (result ? result->error : "no answer");
    return client;
  }

  PeerSettings client_settings_;
};

std::string Show(const RespResult& r) {
  return r ? r->ToString() : fmt::format("error: {}", r.error().message);
}

TEST_F(PeerTransportTest, OneSendArrivesAsOneBatchInOrder) {
  Pair(Settings(2));
  std::vector<Message> sent;
  for (uint64_t i = 0; i < 20; ++i) sent.push_back(Heartbeat(2, 1, i));
  links_[2]->Send(sent);
  ASSERT_TRUE(RunUntil([&] { return handlers_[1].messages() == 20; }));
  ASSERT_EQ(handlers_[1].batches.size(), 1u);
  EXPECT_EQ(handlers_[1].batches[0].first, 2u);
  EXPECT_EQ(handlers_[1].batches[0].second, sent);
  EXPECT_EQ(servers_[1]->stats().messages_in, 20u);
  EXPECT_EQ(servers_[1]->stats().connections, 1u);
  EXPECT_EQ(links_[2]->stats().messages_out, 20u);
  EXPECT_GT(links_[2]->stats().bytes_out, 0u);
  EXPECT_EQ(servers_[1]->stats().auth_failures, 0u);
}

TEST_F(PeerTransportTest, LargeSendIsSplitIntoBatchesInOrder) {
  PeerSettings s = Settings(2);
  s.max_batch_bytes = 300;
  Pair(s);
  std::vector<Message> sent;
  for (uint64_t i = 0; i < 30; ++i) {
    Message m = Heartbeat(2, 1, i);
    m.type = MessageType::kApp;
    m.entries = {Entry{1, i + 1, EntryType::kNormal, std::string(50, 'x')}};
    sent.push_back(std::move(m));
  }
  links_[2]->Send(sent);
  ASSERT_TRUE(RunUntil([&] { return handlers_[1].messages() == 30; }));
  EXPECT_GT(handlers_[1].batches.size(), 4u);
  EXPECT_EQ(handlers_[1].all(), sent);
}

TEST_F(PeerTransportTest, MessagesToSeveralPeersGoToEach) {
  ASSERT_NE(StartServer(1), nullptr);
  ASSERT_NE(StartServer(3), nullptr);
  ASSERT_NE(StartLinks(Settings(2), {{1, Addr(1)}, {3, Addr(3)}, {2, "ignored:1"}}), nullptr);
  ASSERT_TRUE(RunUntil([&] { return links_[2]->authenticated(1) && links_[2]->authenticated(3); }));
  links_[2]->Send({Heartbeat(2, 1, 1), Heartbeat(2, 3, 2), Heartbeat(2, 1, 3), Heartbeat(2, 9, 4)});
  ASSERT_TRUE(
      RunUntil([&] { return handlers_[1].messages() == 2 && handlers_[3].messages() == 1; }));
  EXPECT_EQ(handlers_[1].all(), (std::vector{Heartbeat(2, 1, 1), Heartbeat(2, 1, 3)}));
  EXPECT_EQ(handlers_[3].all(), (std::vector{Heartbeat(2, 3, 2)}));
  EXPECT_EQ(links_[2]->stats().dropped, 1u);  // node 9 has no address
}

TEST_F(PeerTransportTest, WrongSecretIsRefusedAndCounted) {
  ASSERT_NE(StartServer(1), nullptr);
  PeerSettings s = Settings(2);
  s.secret = "another-secret-of-16+";
  ASSERT_NE(StartLinks(s, {{1, Addr(1)}}), nullptr);
  ASSERT_TRUE(RunUntil([&] {
    return servers_[1]->stats().auth_failures >= 1 && links_[2]->stats().auth_failures >= 1;
  }));
  EXPECT_FALSE(links_[2]->authenticated(1));
  links_[2]->Send({Heartbeat(2, 1, 1)});
  EXPECT_EQ(links_[2]->stats().dropped, 1u);
  EXPECT_EQ(servers_[1]->stats().messages_in, 0u);
}

TEST_F(PeerTransportTest, WrongClusterIdIsRefused) {
  ASSERT_NE(StartServer(1), nullptr);
  PeerSettings s = Settings(2);
  s.cluster_id = kClusterId + 1;
  ASSERT_NE(StartLinks(s, {{1, Addr(1)}}), nullptr);
  ASSERT_TRUE(RunUntil([&] { return servers_[1]->stats().auth_failures >= 1; }));
  EXPECT_FALSE(links_[2]->authenticated(1));
}

TEST_F(PeerTransportTest, ShortSecretIsRefusedAtStart) {
  PeerSettings s = Settings(1);
  s.secret = "short";
  EXPECT_FALSE(PeerServer::Start(&loop_, s, &handlers_[1]));
  EXPECT_FALSE(PeerLinks::Create(&loop_, s));
}

TEST_F(PeerTransportTest, AuthProofChecksEveryInput) {
  std::string proof = AuthProof(kSecret, "nonce", 2, 7);
  EXPECT_EQ(proof.size(), 64u);
  EXPECT_TRUE(CheckAuthProof(kSecret, "nonce", 2, 7, proof));
  EXPECT_FALSE(CheckAuthProof(kSecret, "nonce", 3, 7, proof));
  EXPECT_FALSE(CheckAuthProof(kSecret, "nonce", 2, 8, proof));
  EXPECT_FALSE(CheckAuthProof(kSecret, "other", 2, 7, proof));
  EXPECT_FALSE(CheckAuthProof("another-secret-xyz", "nonce", 2, 7, proof));
  EXPECT_FALSE(CheckAuthProof(kSecret, "nonce", 2, 7, proof.substr(1)));
  EXPECT_FALSE(CheckAuthProof(kSecret, "nonce", 2, 7, std::string(64, 'z')));
  auto a = NewNonce();
  auto b = NewNonce();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->size(), 32u);
  EXPECT_NE(*a, *b);
}

TEST_F(PeerTransportTest, SpoofedFromIsDroppedAndCounted) {
  Pair(Settings(2));
  links_[2]->Send({Heartbeat(3, 1, 1), Heartbeat(2, 1, 2)});
  ASSERT_TRUE(RunUntil([&] { return handlers_[1].messages() == 1; }));
  EXPECT_EQ(handlers_[1].all(), (std::vector{Heartbeat(2, 1, 2)}));
  EXPECT_EQ(servers_[1]->stats().malformed_messages, 1u);
  EXPECT_EQ(servers_[1]->stats().messages_in, 1u);
}

TEST_F(PeerTransportTest, ProposeRepliesStayInRequestOrder) {
  ASSERT_NE(StartServer(1), nullptr);
  auto client = AuthedClient(2);
  std::vector<std::string> order;
  client->Send({"RAFT.PROPOSE", "1", "0", "", "cmd"},
               [&](RespResult r) { order.push_back("propose " + Show(r)); });
  std::string msg = EncodeMessage(Heartbeat(2, 1, 5));
  client->Send({"RAFT.MSG", msg}, [&](RespResult r) { order.push_back("msg " + Show(r)); });
  client->Send({"PING"}, [&](RespResult r) { order.push_back("ping " + Show(r)); });
  // The message is handled at once; its +OK (and PING's) wait behind the proposal's answer.
  ASSERT_TRUE(
      RunUntil([&] { return handlers_[1].dones.size() == 1 && handlers_[1].messages() == 1; }));
  EXPECT_EQ(handlers_[1].proposals[0].first, 2u);
  EXPECT_EQ(handlers_[1].proposals[0].second, (Proposal{Proposal::Kind::kCommand, "cmd", 0, ""}));
  // A marker on a second connection proves the first one's replies had their chance to arrive.
  auto marker = AuthedClient(3);
  ASSERT_NE(marker, nullptr);
  EXPECT_TRUE(order.empty());
  handlers_[1].dones[0](ProposalOutcome{7, ""});
  ASSERT_TRUE(RunUntil([&] { return order.size() == 3; }));
  EXPECT_EQ(order,
            (std::vector<std::string>{"propose [(integer) 7, \"\"]", "msg OK", "ping PONG"}));
}

TEST_F(PeerTransportTest, ForwardRoundTrips) {
  Pair(Settings(2));
  std::vector<ProposalResult> results;
  links_[2]->Forward(1, Proposal{Proposal::Kind::kAddLearner, "", 4, "127.0.0.1:9"},
                     [&](ProposalResult r) { results.push_back(std::move(r)); });
  links_[2]->Forward(1, Proposal{Proposal::Kind::kRemove, "", 3, ""},
                     [&](ProposalResult r) { results.push_back(std::move(r)); });
  ASSERT_TRUE(RunUntil([&] { return handlers_[1].dones.size() == 2; }));
  EXPECT_EQ(handlers_[1].proposals[0].second,
            (Proposal{Proposal::Kind::kAddLearner, "", 4, "127.0.0.1:9"}));
  handlers_[1].dones[1](std::unexpected("ERR one membership change at a time"));
  handlers_[1].dones[0](ProposalOutcome{12, "pool 'a' is at epoch 3, not 2"});
  ASSERT_TRUE(RunUntil([&] { return results.size() == 2; }));
  ASSERT_TRUE(results[0]);
  EXPECT_EQ(*results[0], (ProposalOutcome{12, "pool 'a' is at epoch 3, not 2"}));
  EXPECT_EQ(results[1], ProposalResult(std::unexpected("ERR one membership change at a time")));
  // A command's value (the first token of a ReserveTokens) comes back with the outcome.
  links_[2]->Forward(1, Proposal{Proposal::Kind::kCommand, "reserve", 0, ""},
                     [&](ProposalResult r) { results.push_back(std::move(r)); });
  ASSERT_TRUE(RunUntil([&] { return handlers_[1].dones.size() == 3; }));
  handlers_[1].dones[2](ProposalOutcome{13, "", uint64_t{1} << 40});
  ASSERT_TRUE(RunUntil([&] { return results.size() == 3; }));
  EXPECT_EQ(results[2], ProposalResult(ProposalOutcome{13, "", uint64_t{1} << 40}));
}

TEST_F(PeerTransportTest, ProposeReplyCarriesTheValueOnlyWhenThereIsOne) {
  ASSERT_NE(StartServer(1), nullptr);
  auto client = AuthedClient(2);
  std::vector<std::string> replies;
  client->Send({"RAFT.PROPOSE", "1", "0", "", "a"},
               [&](RespResult r) { replies.push_back(Show(r)); });
  client->Send({"RAFT.PROPOSE", "1", "0", "", "b"},
               [&](RespResult r) { replies.push_back(Show(r)); });
  ASSERT_TRUE(RunUntil([&] { return handlers_[1].dones.size() == 2; }));
  handlers_[1].dones[0](ProposalOutcome{7, "", 1001});
  handlers_[1].dones[1](ProposalOutcome{8, ""});
  ASSERT_TRUE(RunUntil([&] { return replies.size() == 2; }));
  EXPECT_EQ(replies, (std::vector<std::string>{"[(integer) 7, \"\", (integer) 1001]",
                                               "[(integer) 8, \"\"]"}));
}

TEST_F(PeerTransportTest, ForwardTimesOutAndToUnknownNodeFails) {
  PeerSettings s = Settings(2);
  s.propose_timeout = 100ms;
  Pair(s);
  std::vector<ProposalResult> results;
  links_[2]->Forward(9, Proposal{}, [&](ProposalResult r) { results.push_back(std::move(r)); });
  EXPECT_TRUE(results.empty());  // never inside Forward()
  ASSERT_TRUE(RunUntil([&] { return results.size() == 1; }));
  EXPECT_EQ(results[0].error(), "TRYAGAIN no address for node 9");
  links_[2]->Forward(1, Proposal{}, [&](ProposalResult r) { results.push_back(std::move(r)); });
  ASSERT_TRUE(RunUntil([&] { return results.size() == 2; }));
  ASSERT_FALSE(results[1]);
  EXPECT_TRUE(results[1].error().starts_with("TRYAGAIN node 1 did not answer"))
      << results[1].error();
  // The late answer is ignored, and the link still works.
  handlers_[1].dones[0](ProposalOutcome{1, ""});
  links_[2]->Send({Heartbeat(2, 1, 1)});
  ASSERT_TRUE(RunUntil([&] { return handlers_[1].messages() == 1; }));
  EXPECT_EQ(results.size(), 2u);
}

TEST_F(PeerTransportTest, OutstandingBytesAreBounded) {
  PeerSettings s = Settings(2);
  s.max_outstanding_bytes = 200;
  Pair(s);
  // A proposal the handler holds keeps every later +OK on the connection waiting.
  std::vector<ProposalResult> results;
  links_[2]->Forward(1, Proposal{}, [&](ProposalResult r) { results.push_back(std::move(r)); });
  ASSERT_TRUE(RunUntil([&] { return handlers_[1].dones.size() == 1; }));
  for (uint64_t i = 0; i < 20; ++i) links_[2]->Send({Heartbeat(2, 1, i)});
  EXPECT_GT(links_[2]->stats().dropped, 0u);
  EXPECT_LT(links_[2]->stats().messages_out, 20u);
  uint64_t out = links_[2]->stats().messages_out;
  ASSERT_TRUE(RunUntil([&] { return handlers_[1].messages() == out; }));
  handlers_[1].dones[0](ProposalOutcome{1, ""});
  ASSERT_TRUE(RunUntil([&] { return results.size() == 1; }));
  links_[2]->Send({Heartbeat(2, 1, 99)});
  ASSERT_TRUE(RunUntil([&] { return handlers_[1].messages() == out + 1; }));
}

TEST_F(PeerTransportTest, AskMember) {
  ASSERT_NE(StartServer(1), nullptr);
  handlers_[1].members[5] = MemberState::kJoined;
  ASSERT_NE(StartLinks(Settings(2), {}), nullptr);
  std::map<int, std::expected<MemberState, std::string>> answers;
  auto into = [&](int key) {
    return [&answers, key](std::expected<MemberState, std::string> r) {
      answers.emplace(key, std::move(r));
    };
  };
  links_[2]->AskMember(Addr(1), 5, into(0));
  links_[2]->AskMember(Addr(1), 6, into(1));
  ASSERT_TRUE(RunUntil([&] { return answers.size() == 2; }));
  ASSERT_TRUE(answers.at(0) && answers.at(1));
  EXPECT_EQ(*answers.at(0), MemberState::kJoined);
  EXPECT_EQ(*answers.at(1), MemberState::kNotMember);
  // A closed port and a bad address are errors, not hangs.
  uint16_t port = servers_[1]->port();
  servers_.erase(1);
  links_[2]->AskMember("127.0.0.1:" + std::to_string(port), 5, into(2));
  links_[2]->AskMember("nonsense", 5, into(3));
  ASSERT_TRUE(RunUntil([&] { return answers.size() == 4; }));
  EXPECT_FALSE(answers.at(2));
  EXPECT_FALSE(answers.at(3));
}

TEST_F(PeerTransportTest, PingAndStatusNeedNoAuthOthersDo) {
  ASSERT_NE(StartServer(1), nullptr);
  uint16_t port = servers_[1]->port();
  EXPECT_EQ(RawExchange(port, "PING\r\n", 7), "+PONG\r\n");
  std::string status = "rl_node_id:1\r\nrl_role:leader\r\n";
  std::string status_reply = fmt::format("${}\r\n{}\r\n", status.size(), status);
  EXPECT_EQ(RawExchange(port, "*1\r\n$11\r\nraft.status\r\n", status_reply.size()), status_reply);
  // Refused before RAFT.AUTH, and the connection stays open (PING is answered after it).
  std::string noauth = "-NOAUTH Authentication required (RAFT.HELLO, RAFT.AUTH)\r\n+PONG\r\n";
  EXPECT_EQ(RawExchange(port, "*2\r\n$8\r\nRAFT.MSG\r\n$1\r\nx\r\nPING\r\n", noauth.size()),
            noauth);
  EXPECT_TRUE(RawExchange(port, "RAFT.AUTH 2 193 00\r\n", 1000).starts_with("-AUTHFAILED"));
  EXPECT_EQ(servers_[1]->stats().auth_failures, 1u);
  // Once authenticated, unknown commands and bad arity are errors.
  auto client = AuthedClient(2);
  std::vector<std::string> replies;
  client->Send({"FLUSHALL"}, [&](RespResult r) { replies.push_back(Show(r)); });
  client->Send({"RAFT.MEMBER"}, [&](RespResult r) { replies.push_back(Show(r)); });
  client->Send({"RAFT.PROPOSE", "9", "1", "", ""},
               [&](RespResult r) { replies.push_back(Show(r)); });
  ASSERT_TRUE(RunUntil([&] { return replies.size() == 3; }));
  EXPECT_EQ(replies[0], "(error) ERR unknown command 'FLUSHALL'");
  EXPECT_EQ(replies[1], "(error) ERR wrong number of arguments for 'raft.member' command");
  EXPECT_EQ(replies[2], "(error) ERR RAFT.PROPOSE: kind must be 1 to 6");
}

TEST_F(PeerTransportTest, HostileInputNeverCrashesAndIsCounted) {
  SCOPED_TRACE(testing::SeedNote());
  std::mt19937_64 rng(testing::TestSeed());
  ASSERT_NE(StartServer(1), nullptr);
  uint16_t port = servers_[1]->port();
  // A bulk past the unauthenticated bound, an absurd length, a negative count, random bytes.
  EXPECT_TRUE(
      RawExchange(port, "*2\r\n$4\r\nPING\r\n$20000\r\n", 1000).starts_with("-ERR Protocol error"));
  EXPECT_TRUE(
      RawExchange(port, "*1\r\n$99999999999999999\r\n", 1000).starts_with("-ERR Protocol error"));
  RawExchange(port, "*-5\r\n*3\r\n$x\r\n", 1000, true);
  for (int i = 0; i < 20; ++i) {
    std::string junk(1 + rng() % 3000, '\0');
    for (char& c : junk) c = static_cast<char>(rng());
    if (i % 2 == 0) junk[0] = '*';
    RawExchange(port, junk, 1 << 20, true);
  }
  EXPECT_GE(servers_[1]->stats().protocol_errors, 3u);
  // Garbage inside an authenticated RAFT.MSG: each argument is dropped and counted.
  auto client = AuthedClient(2);
  std::vector<std::string> replies;
  std::string good = EncodeMessage(Heartbeat(2, 1, 1));
  std::string truncated = good.substr(0, good.size() - 1);
  client->Send({"RAFT.MSG", "garbage", truncated, good, std::string(1000, '\xff')},
               [&](RespResult r) { replies.push_back(Show(r)); });
  for (int i = 0; i < 50; ++i) {
    std::string junk(rng() % 200, '\0');
    for (char& c : junk) c = static_cast<char>(rng());
    client->Send({"RAFT.MSG", junk}, [&](RespResult r) { replies.push_back(Show(r)); });
  }
  client->Send({"PING"}, [&](RespResult r) { replies.push_back(Show(r)); });
  ASSERT_TRUE(RunUntil([&] { return replies.size() == 52; }));
  EXPECT_EQ(replies[0], "OK");
  EXPECT_EQ(replies[51], "PONG");
  EXPECT_EQ(handlers_[1].messages(), 1u);
  EXPECT_GE(servers_[1]->stats().malformed_messages, 3u);
  // The server still serves.
  EXPECT_EQ(RawExchange(port, "PING\r\n", 7), "+PONG\r\n");
}

TEST_F(PeerTransportTest, ConnectionsPastTheBoundAreClosed) {
  PeerSettings s = Settings(1);
  s.max_connections = 1;
  auto server = PeerServer::Start(&loop_, s, &handlers_[1]);
  ASSERT_TRUE(server);
  servers_[1] = std::move(*server);
  auto client = AuthedClient(2);  // the one allowed
  EXPECT_EQ(RawExchange(servers_[1]->port(), "PING\r\n", 7), "");
  EXPECT_EQ(servers_[1]->stats().refused_connections, 1u);
  client.reset();
  ASSERT_TRUE(RunUntil([&] { return servers_[1]->stats().open_connections == 0; }));
  EXPECT_EQ(RawExchange(servers_[1]->port(), "PING\r\n", 7), "+PONG\r\n");
}

TEST_F(PeerTransportTest, UnauthenticatedConnectionsAreClosedAfterTheAuthTimeout) {
  PeerSettings s = Settings(1);
  s.auth_timeout = 300ms;
  auto server = PeerServer::Start(&loop_, s, &handlers_[1]);
  ASSERT_TRUE(server);
  servers_[1] = std::move(*server);
  auto authed = AuthedClient(2);
  // PING is answered meanwhile; then the server closes the connection (RawExchange reads until
  // it closes, or 5 s).
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(RawExchange(servers_[1]->port(), "PING\r\n", 1000), "+PONG\r\n");
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, 250ms);  // the server counts in the loop's cached ms clock: a little slack
  EXPECT_LT(took, 4s) << "closed by the auth timeout, not by the client's own 5 s";
  EXPECT_EQ(servers_[1]->stats().auth_timeouts, 1u);
  // The authenticated connection, older than the timeout by now, stays.
  std::optional<std::string> pong;
  authed->Send({"PING"}, [&](RespResult r) { pong = Show(r); });
  ASSERT_TRUE(RunUntil([&] { return pong.has_value(); }));
  EXPECT_EQ(*pong, "PONG");
  EXPECT_EQ(servers_[1]->stats().auth_timeouts, 1u);
  EXPECT_EQ(servers_[1]->stats().open_connections, 1u);
}

TEST_F(PeerTransportTest, ReconnectsAfterTheServerRestarts) {
  Pair(Settings(2));
  uint16_t port = servers_[1]->port();
  links_[2]->Send({Heartbeat(2, 1, 1)});
  ASSERT_TRUE(RunUntil([&] { return handlers_[1].messages() == 1; }));
  servers_.erase(1);
  ASSERT_TRUE(RunUntil([&] { return !links_[2]->authenticated(1); }));
  handlers_[1] = FakeHandler();
  ASSERT_NE(StartServer(1, port), nullptr);
  ASSERT_TRUE(RunUntil([&] { return links_[2]->authenticated(1); }));
  EXPECT_GE(links_[2]->stats().reconnects, 1u);
  links_[2]->Send({Heartbeat(2, 1, 2)});
  ASSERT_TRUE(RunUntil([&] { return handlers_[1].messages() == 1; }));
  EXPECT_EQ(handlers_[1].all()[0], Heartbeat(2, 1, 2));
}

TEST_F(PeerTransportTest, SetPeersRemovesAndReaddresses) {
  ASSERT_NE(StartServer(1), nullptr);
  ASSERT_NE(StartServer(3), nullptr);
  PeerSettings s = Settings(2);
  s.propose_timeout = 5s;
  ASSERT_NE(StartLinks(s, {{1, Addr(1)}}), nullptr);
  ASSERT_TRUE(RunUntil([&] { return links_[2]->authenticated(1); }));
  std::vector<ProposalResult> results;
  links_[2]->Forward(1, Proposal{}, [&](ProposalResult r) { results.push_back(std::move(r)); });
  ASSERT_TRUE(RunUntil([&] { return handlers_[1].dones.size() == 1; }));
  // Node 1 now lives at node 3's server's address: the sent proposal fails, messages follow.
  links_[2]->SetPeers({{1, Addr(3)}});
  EXPECT_TRUE(results.empty());
  ASSERT_TRUE(RunUntil([&] { return results.size() == 1; }));
  EXPECT_TRUE(results[0].error().starts_with("TRYAGAIN node 1 moved")) << results[0].error();
  ASSERT_TRUE(RunUntil([&] { return links_[2]->authenticated(1); }));
  links_[2]->Send({Heartbeat(2, 1, 1)});
  ASSERT_TRUE(RunUntil([&] { return handlers_[3].messages() == 1; }));
  links_[2]->SetPeers({});
  EXPECT_FALSE(links_[2]->authenticated(1));
  links_[2]->Send({Heartbeat(2, 1, 2)});
  EXPECT_EQ(links_[2]->stats().dropped, 1u);
}

TEST(PeerFaultsParseTest, ParsesEveryKeyAndRefusesNonsense) {
  auto f = ParseFaults("drop=0.1,delay=5-50,dup=0.01,seed=42,block=2+3");
  ASSERT_TRUE(f) << f.error();
  EXPECT_EQ(f->drop, 0.1);
  EXPECT_EQ(f->delay_min, 5ms);
  EXPECT_EQ(f->delay_max, 50ms);
  EXPECT_EQ(f->duplicate, 0.01);
  EXPECT_EQ(f->seed, 42u);
  EXPECT_EQ(f->blocked_to, (std::set<NodeId>{2, 3}));
  EXPECT_EQ(ParseFaults("delay=7")->delay_max, 7ms);
  EXPECT_EQ(*ParseFaults(""), FaultSettings{});
  for (const char* bad : {"drop=2", "drop=x", "delay=50-5", "delay=-", "block=", "block=0",
                          "block=2+", "nope=1", "drop", "drop=0.1,", "seed=-1"}) {
    EXPECT_FALSE(ParseFaults(bad)) << bad;
  }
  EXPECT_EQ(ParseFaults("nope=1").error(), "unknown fault 'nope' (drop, delay, dup, seed, block)");
}

#ifndef RL_FAULT_INJECTION
TEST_F(PeerTransportTest, SetFaultsSaysTheBinaryHasNone) {
  ASSERT_NE(StartLinks(Settings(2), {}), nullptr);
  auto ok = links_[2]->SetFaults(*ParseFaults("drop=1"));
  ASSERT_FALSE(ok);
  EXPECT_NE(ok.error().find("without fault injection"), std::string::npos);
  EXPECT_FALSE(FaultInjectionBuilt());
}
#endif

}  // namespace
}  // namespace rl::raft
