// Node: opening the data directory, the bootstrap/restart/join decision, Stop, and what the node
// reports about itself. The Ready loop is in node_ready.cc, proposals in node_propose.cc.
#include "raft/node/node.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "fmt/format.h"
#include "proxy/base/log.h"
#include "raft/bootstrap.h"
#include "raft/durable_source.h"
#include "raft/node/node_handles.h"

namespace rl::raft {
namespace {

constexpr const char* kIdentityFile = "identity";
constexpr const char* kStorageDir = "raft";

std::expected<void, std::string> MakeDir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) == 0 || errno == EEXIST) return {};
  return std::unexpected(fmt::format("cannot create {}: {}", path, std::strerror(errno)));
}

std::unexpected<std::string> Errno(const std::string& what, const std::string& path) {
  return std::unexpected(fmt::format("cannot {} {}: {}", what, path, std::strerror(errno)));
}

// Temp file, fsync, rename, fsync of the directory: after a crash the file is whole or absent.
std::expected<void, std::string> WriteDurably(const std::string& dir, const std::string& name,
                                              const std::string& bytes) {
  const std::string path = dir + "/" + name;
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("create", tmp);
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      auto error = Errno("write", tmp);
      ::close(fd);
      return error;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    auto error = Errno("fsync", tmp);
    ::close(fd);
    return error;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Errno("rename", tmp);
  int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return Errno("open", dir);
  int rc = ::fsync(dir_fd);
  ::close(dir_fd);
  if (rc != 0) return Errno("fsync", dir);
  return {};
}

std::string IdentityText(NodeId id, uint64_t cluster) {
  return fmt::format("ringleader raft identity 1\nnode_id {}\ncluster_id {:016x}\n", id, cluster);
}

// A data directory remembers whose it is, so that a misconfigured node cannot adopt another
// node's (or another cluster's) log and vote with it.
std::expected<void, std::string> CheckIdentity(const std::string& dir, NodeId id,
                                               uint64_t cluster) {
  const std::string path = dir + "/" + kIdentityFile;
  const std::string want = IdentityText(id, cluster);
  std::ifstream in(path);
  if (in) {
    std::stringstream text;
    text << in.rdbuf();
    if (text.str() == want) return {};
    return std::unexpected(fmt::format(
        "data directory {} belongs to another node or cluster ({}): this is node {} of cluster "
        "{:016x}; use a data directory of its own",
        dir,
        text.str().empty() ? "an empty identity file"
                           : "identity file says \"" + text.str().substr(0, 80) + "\"",
        id, cluster));
  }
  return WriteDurably(dir, kIdentityFile, want);
}

bool IsEmpty(const DurableState& s) {
  return s.hard_state.term == 0 && s.entries.empty() && s.snapshot.meta.index == 0;
}

}  // namespace

uint64_t ClusterId(std::span<const MemberInfo> initial_members) {
  std::vector<MemberInfo> sorted(initial_members.begin(), initial_members.end());
  std::ranges::sort(sorted, {}, &MemberInfo::id);
  uint64_t h = 14695981039346656037ull;  // FNV-1a 64: fixed forever, it is on disk
  auto mix = [&](std::string_view bytes) {
    for (char c : bytes) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ull;
  };
  for (const MemberInfo& m : sorted) mix(fmt::format("{}@{},", m.id, m.addr));
  return h;
}

std::expected<std::unique_ptr<Node>, std::string> Node::Open(uv_loop_t* loop, NodeSettings settings,
                                                             Transport* transport) {
  if (settings.id == kNoNode) return std::unexpected("node id 0 is not allowed");
  const bool listed = std::ranges::any_of(settings.initial_members,
                                          [&](const MemberInfo& m) { return m.id == settings.id; });
  if (!settings.join && !listed) {
    return std::unexpected(fmt::format(
        "node {} is not among the initial members: a node added later must be started to join",
        settings.id));
  }
  if (auto ok = MakeDir(settings.data_dir); !ok) return std::unexpected(ok.error());
  const uint64_t cluster = ClusterId(settings.initial_members);
  if (auto ok = CheckIdentity(settings.data_dir, settings.id, cluster); !ok) {
    return std::unexpected(ok.error());
  }
  auto storage = std::make_unique<FileStorage>(settings.data_dir + "/" + kStorageDir,
                                               FileStorageOptions{settings.segment_bytes});
  auto durable = storage->Load();
  if (!durable) {
    return std::unexpected(
        fmt::format("raft storage in {}: {}", settings.data_dir, durable.error().message));
  }
  return std::unique_ptr<Node>(
      new Node(loop, std::move(settings), transport, std::move(storage), std::move(*durable)));
}

Node::Node(uv_loop_t* loop, NodeSettings settings, Transport* transport,
           std::unique_ptr<FileStorage> storage, DurableState durable)
    : loop_(loop),
      settings_(std::move(settings)),
      transport_(transport),
      cluster_id_(ClusterId(settings_.initial_members)),
      storage_(std::move(storage)),
      durable_(std::move(durable)),
      handles_(new Handles(loop, this)) {}

Node::~Node() {
  if (!stopping_) Stop(nullptr);
}

void Node::Start(std::move_only_function<void(std::string)> on_fatal) {
  RL_RAFT_CHECK(!started_ && !stopping_, "Node::Start twice or after Stop");
  started_ = true;
  on_fatal_ = std::move(on_fatal);
  if (!IsEmpty(*durable_)) {
    const Snapshot& snap = durable_->snapshot;
    if (snap.meta.index != 0 && !RestoreSnapshot(snap)) return;
    MemoryLogSource source = DurableSource(std::move(*durable_));
    durable_.reset();
    Run(std::move(source));
  } else if (settings_.join) {
    durable_.reset();
    Run(MemoryLogSource{});
  } else {
    AskThenBootstrap();
  }
}

ClusterState Node::RecoveredPools() const {
  RL_RAFT_CHECK(durable_.has_value(), "Node::RecoveredPools after Start");
  StateMachine sm;
  const Snapshot& snap = durable_->snapshot;
  if (snap.meta.index != 0 && !sm.Restore(snap.data)) return {};
  for (const Entry& e : durable_->entries) {
    if (e.index > durable_->hard_state.commit) break;
    if (e.index <= sm.applied_index()) continue;
    // Membership bookkeeping (conf changes) is the node's; only the pools are wanted here.
    if (e.type == EntryType::kNormal && !e.data.empty()) {
      (void)sm.Apply(e.index, e.data);
    } else {
      sm.Skip(e.index);
    }
  }
  ClusterState out;
  out.pools = sm.state().pools;
  return out;
}

// An empty data directory is either a brand-new member or one whose data was lost. The second
// must not bootstrap again: it would vote with an empty log, and the entries it acknowledged
// could be lost. A member the leader has heard from is marked joined in the replicated state,
// so any survivor can tell.
void Node::AskThenBootstrap() {
  std::vector<std::string> others;
  for (const MemberInfo& m : settings_.initial_members) {
    if (m.id != settings_.id) others.push_back(m.addr);
  }
  if (others.empty()) return Bootstrap();
  auto waiting = std::make_shared<size_t>(others.size());
  auto joined_at = std::make_shared<std::string>();
  std::weak_ptr<bool> alive = alive_;
  for (const std::string& addr : others) {
    transport_->AskMember(
        addr, settings_.id,
        [this, alive, waiting, joined_at, addr](std::expected<MemberState, std::string> answer) {
          if (alive.expired() || !*alive.lock()) return;
          if (answer && *answer == MemberState::kJoined && joined_at->empty()) {
            *joined_at = addr;
          }
          if (--*waiting != 0) return;
          if (joined_at->empty()) return Bootstrap();
          Fatal(
              fmt::format("data directory {} is empty but node {} already joined cluster "
                          "{:016x} (so says the member at {}): its data was lost. Remove it "
                          "(RINGLEADER CLUSTER REMOVE {}) and add it back under a new id",
                          settings_.data_dir, settings_.id, cluster_id_, *joined_at, settings_.id));
        });
  }
}

// The initial state every initial member writes alike: one committed kAddVoter per member, then
// one committed PutMember per member, so the members' addresses are in the replicated state
// from the first index on (a conf change carries no address).
void Node::Bootstrap() {
  std::vector<MemberInfo> members = settings_.initial_members;
  std::ranges::sort(members, {}, &MemberInfo::id);
  std::vector<NodeId> voters;
  for (const MemberInfo& m : members) voters.push_back(m.id);
  MemoryLogSource source = BootstrapState(voters);
  for (const MemberInfo& m : members) {
    MemberInfo info{m.id, m.addr, /*learner=*/false, /*joined=*/false};
    Index index = source.entries.size() + 1;
    source.entries.push_back({1, index, EntryType::kNormal, EncodeCommand(PutMember{info})});
  }
  source.hard_state.commit = source.entries.size();
  // Written here, once, before the disk thread exists: nothing else is running yet.
  auto ok = storage_->Append(source.entries);
  if (ok) ok = storage_->SaveHardState(source.hard_state);
  if (ok) ok = storage_->Sync();
  if (!ok) return Fatal("raft storage: bootstrap: " + ok.error().message);
  durable_.reset();
  Run(std::move(source));
}

void Node::Run(MemoryLogSource source) {
  Config config;
  config.id = settings_.id;
  config.election_ticks = settings_.election_ticks;
  config.heartbeat_ticks = settings_.heartbeat_ticks;
  config.lost_leader_ticks = settings_.lost_leader_ticks;
  config.random_seed = settings_.seed * 0x9e3779b97f4a7c15ull + settings_.id;
  auto core = Core::Create(config, source);
  if (!core) return Fatal("raft core: " + core.error());
  core_.emplace(std::move(*core));
  disk_ = std::make_unique<DiskThread>(loop_, std::move(storage_));
  handles_->StartTimer(static_cast<uint64_t>(settings_.tick.count()));
  transport_->SetPeerDownHandler([this](NodeId peer) { OnPeerDown(peer); });
  UpdatePeers();
  Schedule();
}

void Node::Fatal(std::string message) {
  if (failed_ || stopping_) return;
  failed_ = true;
  handles_->StopAll();
  FailPendingUpTo(UINT64_MAX, "TRYAGAIN node stopped: " + message);
  if (on_fatal_) on_fatal_(std::move(message));
}

// The leader's connection closed: its process is most likely gone. The core forgets it and
// campaigns (through a pre-vote) soon, unless it hears from it again first.
void Node::OnPeerDown(NodeId peer) {
  if (!core_ || failed_ || stopping_ || core_->leader() != peer) return;
  Log(proxy::kLogNotice, "raft: the connection to leader {} closed: electing a new one", peer);
  core_->LeaderLost(peer);
  Schedule();
}

void Node::Stop(std::function<void()> done) {
  RL_RAFT_CHECK(!stopping_, "Node::Stop twice");
  stopping_ = true;
  *alive_ = false;
  if (core_) transport_->SetPeerDownHandler(nullptr);
  FailPendingUpTo(UINT64_MAX, "TRYAGAIN shutting down");
  if (disk_) disk_->Stop();
  Handles* h = handles_;
  handles_ = nullptr;
  h->Close(std::move(done));
}

NodeStatus Node::Status() const {
  NodeStatus s;
  s.id = settings_.id;
  s.applied = sm_.applied_index();
  for (const auto& [name, pool] : sm_.state().pools) s.pool_epochs[name] = pool.epoch;
  if (!core_) {
    s.role = "follower";
    return s;
  }
  s.term = core_->term();
  s.leader = core_->leader();
  s.commit = core_->log().committed();
  const ConfState& conf = core_->conf();
  switch (core_->role()) {
    case Role::kLeader:
      s.role = "leader";
      break;
    case Role::kCandidate:
    case Role::kPreCandidate:
      s.role = "candidate";
      break;
    case Role::kFollower:
      s.role = "follower";
      break;
  }
  if (IsLearner(conf, settings_.id)) s.role = "learner";
  auto member = [&](NodeId id, bool learner) {
    MemberInfo m{id, "", learner, false};
    if (auto it = sm_.state().members.find(id); it != sm_.state().members.end()) {
      m.addr = it->second.addr;
      m.joined = it->second.joined;
    }
    s.members.push_back(std::move(m));
  };
  for (NodeId id : conf.voters) member(id, false);
  for (NodeId id : conf.learners) member(id, true);
  std::ranges::sort(s.members, {}, &MemberInfo::id);
  return s;
}

std::string Node::StatusText() const {
  NodeStatus s = Status();
  std::string members;
  for (const MemberInfo& m : s.members) {
    if (!members.empty()) members += ',';
    members += fmt::format("{}@{}{}", m.id, m.addr, m.learner ? "(learner)" : "");
  }
  std::string out = fmt::format(
      "rl_node_id:{}\r\nrl_role:{}\r\nrl_leader_id:{}\r\nrl_term:{}\r\nrl_commit_index:{}\r\n"
      "rl_applied_index:{}\r\nrl_members:{}\r\n",
      s.id, s.role, s.leader, s.term, s.commit, s.applied, members);
  for (const auto& [name, epoch] : s.pool_epochs) {
    out += fmt::format("rl_pool_{}_epoch:{}\r\n", name, epoch);
  }
  return out;
}

void Node::OnMessages(NodeId /*from*/, std::vector<Message> messages) {
  if (!core_ || failed_ || stopping_) return;  // not started yet: Raft retries
  for (const Message& m : messages) core_->Step(m);
  Schedule();
}

void Node::OnPropose(NodeId /*from*/, Proposal proposal, ProposalDone done) {
  if (stopping_) return done(std::unexpected("TRYAGAIN shutting down"));
  if (core_ && core_->role() == Role::kLeader && !failed_) {
    return ProposeAsLeader(std::move(proposal), std::move(done));
  }
  // Forwarded once only: a second hop could loop between two nodes with stale leaders.
  NodeId leader = core_ ? core_->leader() : kNoNode;
  if (leader == kNoNode || leader == settings_.id) {
    return done(std::unexpected(std::string("TRYAGAIN no leader")));
  }
  done(std::unexpected(fmt::format("TRYAGAIN not the leader, leader is {}", leader)));
}

MemberState Node::OnAskMember(NodeId id) const {
  if (!core_ || sm_.state().members.empty()) return MemberState::kUnknown;
  auto it = sm_.state().members.find(id);
  if (it == sm_.state().members.end()) return MemberState::kNotMember;
  return it->second.joined ? MemberState::kJoined : MemberState::kMember;
}

}  // namespace rl::raft
