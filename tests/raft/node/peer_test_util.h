// Test scaffolding for the peer transport (peer_transport_test.cc, peer_faults_test.cc): a loop
// per test, a fake PeerHandler that records what the server hands it, PeerServer/PeerLinks
// settings on loopback, and a raw socket client (a thread of its own, for bytes no RESP client
// would send). Thread safety: the test thread owns the loop; RawExchange's thread touches none of
// it.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "raft/node/peer_links.h"
#include "raft/node/peer_server.h"

namespace rl::raft {

using namespace std::chrono_literals;

inline constexpr char kSecret[] = "0123456789abcdef-test-secret";
inline constexpr uint64_t kClusterId = 0xc1u;

class FakeHandler : public PeerHandler {
 public:
  void OnMessages(NodeId from, std::vector<Message> messages) override {
    batches.push_back({from, std::move(messages)});
  }
  void OnPropose(NodeId from, Proposal proposal, ProposalDone done) override {
    proposals.push_back({from, std::move(proposal)});
    dones.push_back(std::move(done));
  }
  MemberState OnAskMember(NodeId id) const override {
    auto it = members.find(id);
    return it == members.end() ? MemberState::kNotMember : it->second;
  }
  std::string StatusText() const override { return "rl_node_id:1\r\nrl_role:leader\r\n"; }

  size_t messages() const {
    size_t n = 0;
    for (auto& b : batches) n += b.second.size();
    return n;
  }
  // Every message received, in order.
  std::vector<Message> all() const {
    std::vector<Message> out;
    for (auto& b : batches) out.insert(out.end(), b.second.begin(), b.second.end());
    return out;
  }

  std::vector<std::pair<NodeId, std::vector<Message>>> batches;
  std::vector<std::pair<NodeId, Proposal>> proposals;
  std::vector<ProposalDone> dones;
  std::map<NodeId, MemberState> members;
};

inline Message Heartbeat(NodeId from, NodeId to, uint64_t n) {
  Message m;
  m.type = MessageType::kHeartbeat;
  m.from = from;
  m.to = to;
  m.term = 1;
  m.commit = n;
  m.context = n;
  return m;
}

class PeerTest : public ::testing::Test {
 protected:
  static constexpr auto kBound = 10s;

  PeerTest() {
    uv_loop_init(&loop_);
    uv_timer_init(&loop_, &tick_);
  }
  ~PeerTest() override {
    links_.clear();
    servers_.clear();
    uv_close(reinterpret_cast<uv_handle_t*>(&tick_), nullptr);
    auto deadline = std::chrono::steady_clock::now() + kBound;
    while (uv_run(&loop_, UV_RUN_NOWAIT) != 0 && std::chrono::steady_clock::now() < deadline) {
    }
    EXPECT_EQ(uv_loop_close(&loop_), 0) << "handles left open on the loop";
  }

  bool RunUntil(const std::function<bool()>& done, std::chrono::milliseconds bound = kBound) {
    uv_timer_start(
        &tick_, [](uv_timer_t*) {}, 5, 5);
    auto deadline = std::chrono::steady_clock::now() + bound;
    while (!done() && std::chrono::steady_clock::now() < deadline) uv_run(&loop_, UV_RUN_ONCE);
    uv_timer_stop(&tick_);
    return done();
  }

  PeerSettings Settings(NodeId self) {
    PeerSettings s;
    s.self = self;
    s.cluster_id = kClusterId;
    s.secret = kSecret;
    s.reconnect_min = 10ms;
    s.reconnect_max = 100ms;
    return s;
  }

  // A server for node `self`, handled by handlers_[self], on `port` (0: a free one).
  PeerServer* StartServer(NodeId self, uint16_t port = 0) {
    PeerSettings s = Settings(self);
    s.listen_port = port;
    auto server = PeerServer::Start(&loop_, s, &handlers_[self]);
    EXPECT_TRUE(server) << server.error();
    if (!server) return nullptr;
    servers_[self] = std::move(*server);
    return servers_[self].get();
  }

  std::string Addr(NodeId id) { return "127.0.0.1:" + std::to_string(servers_.at(id)->port()); }

  PeerLinks* StartLinks(PeerSettings s, std::map<NodeId, std::string> peers) {
    auto links = PeerLinks::Create(&loop_, s);
    EXPECT_TRUE(links) << links.error();
    if (!links) return nullptr;
    (*links)->SetPeers(std::move(peers));
    NodeId self = s.self;
    links_[self] = std::move(*links);
    return links_[self].get();
  }

  // Connects to the peer port from a thread of its own, writes `bytes`, and reads until `want`
  // bytes came, the server closed, or 5 s passed (with `half_close`, after shutting down its
  // side, so that a partial request ends). Runs the loop meanwhile.
  std::string RawExchange(uint16_t port, std::string bytes, size_t want, bool half_close = false) {
    std::atomic<bool> done{false};
    std::string got;
    std::thread client([&] {
      int fd = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(port);
      inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
      timeval tv{5, 0};
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
        size_t off = 0;
        while (off < bytes.size()) {
          ssize_t n = send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
          if (n <= 0) break;
          off += static_cast<size_t>(n);
        }
        if (half_close) shutdown(fd, SHUT_WR);
        char buf[4096];
        while (got.size() < want) {
          ssize_t n = recv(fd, buf, sizeof buf, 0);
          if (n <= 0) break;
          got.append(buf, static_cast<size_t>(n));
        }
      }
      close(fd);
      done = true;
    });
    RunUntil([&] { return done.load(); }, 15s);
    client.join();
    return got;
  }

  uv_loop_t loop_;
  uv_timer_t tick_;
  std::map<NodeId, FakeHandler> handlers_;
  std::map<NodeId, std::unique_ptr<PeerServer>> servers_;
  std::map<NodeId, std::unique_ptr<PeerLinks>> links_;
};

}  // namespace rl::raft
