// The simulator's engine: one event queue ordered by (time, sequence), nodes that honour the
// Ready contract against simulated disks (write, then after a disk delay sync, send, apply,
// Advance), a network that carries encoded messages, and the invariant checker after every
// event. Faults, clients and the operator live in sim_chaos.cc.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "raft/bootstrap.h"
#include "raft/codec.h"
#include "tests/raft/sim/simulation.h"

namespace rl::raft::sim {
namespace {

// A run normally takes ~10^4 events; far more means messages multiply without bound.
constexpr uint64_t kMaxEvents = 1'000'000;

std::string SnapshotData(Index index, uint64_t digest) {
  return fmt::format("{}:{}", index, digest);
}

bool ParseSnapshotData(const std::string& data, Index& index, uint64_t& digest) {
  auto colon = data.find(':');
  if (colon == std::string::npos) return false;
  index = std::stoull(data.substr(0, colon));
  digest = std::stoull(data.substr(colon + 1));
  return true;
}

std::string Describe(const Message& m) {
  return fmt::format("{} {}->{} t{} i{} lt{} c{} n{}{}", MessageTypeName(m.type), m.from, m.to,
                     m.term, m.index, m.log_term, m.commit, m.entries.size(),
                     m.reject ? " reject" : "");
}

}  // namespace

SimResult RunSimulation(const SimOptions& options) { return Simulation(options).Run(); }

Simulation::Simulation(const SimOptions& options)
    : options_(options), rng_(options.seed), adv_(options.seed ^ 0xad5e7a1e5eedULL) {}

void Simulation::Trace(const std::string& line) {
  if (!options_.trace) return;
  trace_.push_back(fmt::format("t={} {}", now_, line));
  if (trace_.size() > 100000) trace_.pop_front();
}

void Simulation::Schedule(Event e) {
  e.seq = seq_++;
  queue_.push(std::move(e));
}

SimNode& Simulation::AddNode(NodeId id, const MemoryLogSource& initial) {
  SimNode& n = nodes_[id];
  n.id = id;
  n.config = NodeConfig(id);
  n.compact_every = 5 + rng_.Below(60);
  n.storage = file_storage_ ? MakeFileStorage(rng_.Next()) : MakeModelStorage();
  if (auto fresh = n.storage->Load(); !fresh) checker_.Fail(fresh.error());
  StorageOk(n, n.storage->Write({.hard_state = initial.hard_state, .entries = initial.entries}));
  StorageOk(n, n.storage->Sync());
  return n;
}

bool Simulation::StorageOk(SimNode& n, const NodeStorage::Result& result) {
  if (!result) {
    checker_.Fail(fmt::format("node {} ({} storage): {}", n.id, n.storage->name(), result.error()));
    return false;
  }
  if (!*result) NodeDied(n);
  return *result;
}

void Simulation::StartNode(SimNode& n) {
  n.config.random_seed = rng_.Next();
  auto durable = n.storage->Load();
  if (!durable) {
    checker_.Fail(fmt::format("node {} cannot restart: {}", n.id, durable.error()));
    return;
  }
  auto core = Core::Create(n.config, *durable);
  if (!core) {
    checker_.Fail(fmt::format("node {} cannot restart from its disk: {}", n.id, core.error()));
    return;
  }
  n.core.emplace(std::move(*core));
  n.durable_term = durable->hard_state.term;
  ++n.incarnation;
  n.busy = false;
  n.sm_index = 0;
  n.sm_digest = 0;
  const Snapshot& snap = durable->snapshot;
  if (snap.meta.index > 0 && !ParseSnapshotData(snap.data, n.sm_index, n.sm_digest)) {
    checker_.Fail(fmt::format("node {}: unreadable snapshot", n.id));
  }
  checker_.OnRestart(n.id, n.sm_index);
  checker_.OnSnapshotInstalled(n.id, n.sm_index, n.sm_digest);
  Trace(fmt::format("start node {} (incarnation {}, term {}, last {})", n.id, n.incarnation,
                    n.core->term(), n.core->log().LastIndex()));
  Schedule({.at = align_ticks_ ? now_ + kTick : now_ + 1 + rng_.Below(kTick),
            .kind = EventKind::kTick,
            .node = n.id,
            .incarnation = n.incarnation});
  Pump(n);
}

void Simulation::CrashNode(SimNode& n) {
  n.storage->Crash(rng_.Next());
  n.core.reset();
  n.busy = false;
  n.in_flight = Ready{};
  ++n.incarnation;  // pending ticks and disk completions of the old incarnation are void
  ++result_.crashes;
  Trace(fmt::format("crash node {}", n.id));
  SawClose(n.id);
}

void Simulation::SawClose(NodeId gone) {
  if (!options_.leader_lost) return;
  for (auto& [id, other] : nodes_) {
    if (id != gone && other.core) other.core->LeaderLost(gone);
  }
}

// The power failed in the middle of a storage call (an armed CrashLater): the node is dead now.
void Simulation::NodeDied(SimNode& n) {
  if (!n.core) return;
  n.core.reset();
  n.busy = false;
  n.in_flight = Ready{};
  ++n.incarnation;
  ++result_.crashes;
  Trace(fmt::format("node {} lost power in the middle of a write", n.id));
  SawClose(n.id);
  if (faults_on_) {
    Schedule({.at = now_ + kTick + rng_.Below(30 * kTick),
              .kind = EventKind::kRestart,
              .node = n.id,
              .incarnation = n.incarnation});
  } else {
    StartNode(n);
  }
}

void Simulation::Pump(SimNode& n) {
  if (!n.core || n.busy || !n.core->HasReady()) return;
  n.in_flight = n.core->GetReady();
  const Ready& r = n.in_flight;
  if (!r.hard_state && !r.snapshot && r.entries.empty()) {
    Complete(n);  // nothing to make durable
    return;
  }
  if (!StorageOk(n, n.storage->Write(r))) return;
  n.busy = true;
  Schedule({.at = now_ + DiskDelay(n),
            .kind = EventKind::kDiskDone,
            .node = n.id,
            .incarnation = n.incarnation});
}

// The Ready's writes are durable: now send, apply, and advance (raft/ready.h's order).
void Simulation::Complete(SimNode& n) {
  Ready r = std::move(n.in_flight);
  n.in_flight = Ready{};
  n.busy = false;
  if (r.hard_state) n.durable_term = r.hard_state->term;
  if (r.snapshot) {
    Index index = 0;
    uint64_t digest = 0;
    if (!ParseSnapshotData(r.snapshot->data, index, digest) || index != r.snapshot->meta.index) {
      checker_.Fail(fmt::format("node {} received a malformed snapshot", n.id));
    }
    n.sm_index = index;
    n.sm_digest = digest;
    checker_.OnSnapshotInstalled(n.id, index, digest);
    ++result_.snapshots_installed;
    Trace(fmt::format("node {} installs snapshot {}", n.id, index));
  }
  for (const Message& m : r.messages) {
    if (m.type == MessageType::kVoteResp && !m.reject) checker_.OnVoteGranted(m.from, m.term, m.to);
    SendMessage(m);
  }
  ApplyCommitted(n, r.committed_entries);
  for (const ReadState& rs : r.read_states) {
    for (Client& c : clients_) {
      if (c.state == Client::State::kReading && c.node == n.id && c.incarnation == n.incarnation &&
          c.context == rs.context) {
        c.read_index = rs.index;
      }
    }
  }
  n.core->Advance();
  ServeReads(n);
  MaybeCompact(n);
  Pump(n);
}

void Simulation::ApplyCommitted(SimNode& n, const std::vector<Entry>& entries) {
  for (const Entry& e : entries) {
    n.sm_digest = MixEntry(n.sm_digest, e);
    n.sm_index = e.index;
    checker_.OnApplied(n.id, e, n.sm_digest);
    if (!marker_.empty() && e.data == marker_) marker_index_ = e.index;
    if (e.type == EntryType::kConfChange) {
      for (auto& [id, other] : nodes_) {
        if (other.removal_index == e.index && other.removal_term == e.term) {
          other.removal_committed = true;
        }
      }
    }
    for (Client& c : clients_) {
      if (c.state != Client::State::kWriting || c.node != n.id || c.incarnation != n.incarnation ||
          c.index != e.index) {
        continue;
      }
      // The node the client proposed to applied something at that index: its write, or (if a
      // later leader overwrote the uncommitted proposal) something else, and the write is lost.
      if (e.term == c.term && e.data == c.data) {
        max_acked_index_ = std::max(max_acked_index_, e.index);
        ++result_.writes_acked;
      }
      c.state = Client::State::kIdle;
    }
  }
}

void Simulation::ServeReads(SimNode& n) {
  for (Client& c : clients_) {
    if (c.state == Client::State::kReading && c.node == n.id && c.incarnation == n.incarnation &&
        c.read_index != 0 && n.sm_index >= c.read_index) {
      checker_.OnReadServed(n.id, c.read_index, c.min_index, n.sm_index);
      ++result_.reads_served;
      c.state = Client::State::kIdle;
    }
  }
}

void Simulation::MaybeCompact(SimNode& n) {
  const RaftLog& log = n.core->log();
  if (n.sm_index != log.applied() || n.sm_index < log.snapshot().meta.index + n.compact_every) {
    return;
  }
  std::string data = SnapshotData(n.sm_index, n.sm_digest);
  auto meta = n.core->Compact(n.sm_index, data);
  if (!meta) return;
  StorageOk(n, n.storage->SaveSnapshot({*meta, std::move(data)}));
  Trace(fmt::format("node {} compacts at {}", n.id, meta->index));
}

void Simulation::SendMessage(const Message& m) {
  if (faults_on_ && rng_.Percent(drop_pct_)) {
    if (options_.trace) Trace("drop " + Describe(m));
    return;
  }
  std::string bytes = EncodeMessage(m);
  const int copies = faults_on_ && rng_.Percent(dup_pct_) ? 2 : 1;
  for (int i = 0; i < copies; ++i) {
    Time delay = 1 + rng_.Below(delay_max_);
    if (faults_on_ && rng_.Percent(spike_pct_)) delay += rng_.Below(30 * kTick);
    Schedule({.at = now_ + delay,
              .kind = EventKind::kDeliver,
              .node = m.to,
              .from = m.from,
              .bytes = bytes});
  }
}

void Simulation::Deliver(const Event& e) {
  auto it = nodes_.find(e.node);
  if (it == nodes_.end() || !it->second.core) return;
  if (faults_on_ && (blocked_.contains({e.from, e.node}) || Isolated(e.from) || Isolated(e.node))) {
    return;
  }
  auto m = DecodeMessage(e.bytes);
  if (!m) {
    checker_.Fail("a message failed to decode: " + m.error());
    return;
  }
  ++result_.messages_delivered;
  if (options_.trace) Trace("deliver " + Describe(*m));
  SimNode& n = it->second;
  const Role before = n.core->role();
  n.core->Step(*m);
  if (before != Role::kLeader && n.core->role() == Role::kLeader) OnBecameLeader(n);
  if (m->type == MessageType::kAppResp && !m->reject) OnAppRespDelivered(n, *m);
  if (n.core) Pump(n);
}

void Simulation::Dispatch(const Event& e) {
  switch (e.kind) {
    case EventKind::kTick: {
      auto it = nodes_.find(e.node);
      if (it == nodes_.end() || !it->second.core || it->second.incarnation != e.incarnation) {
        return;
      }
      SimNode& n = it->second;
      const Role before = n.core->role();
      n.core->Tick();
      if (n.core->role() != before) {
        Trace(fmt::format("node {} tick: {} -> {} (term {})", n.id, RoleName(before),
                          RoleName(n.core->role()), n.core->term()));
        if (n.core->role() == Role::kLeader) OnBecameLeader(n);
      }
      Pump(n);
      Schedule({.at = now_ + kTick,
                .kind = EventKind::kTick,
                .node = n.id,
                .incarnation = n.incarnation});
      return;
    }
    case EventKind::kDeliver:
      Deliver(e);
      return;
    case EventKind::kDiskDone: {
      auto it = nodes_.find(e.node);
      if (it == nodes_.end() || !it->second.core || it->second.incarnation != e.incarnation) {
        return;
      }
      if (StorageOk(it->second, it->second.storage->Sync())) Complete(it->second);
      return;
    }
    case EventKind::kChaos:
      Chaos();
      return;
    case EventKind::kClient:
      ClientStep(e.client);
      return;
    case EventKind::kRestart: {
      auto it = nodes_.find(e.node);
      if (it != nodes_.end() && !it->second.core && !it->second.retired &&
          it->second.incarnation == e.incarnation) {
        StartNode(it->second);
      }
      return;
    }
    case EventKind::kHeal:
      Heal();
      return;
  }
}

void Simulation::CheckInvariants() {
  std::vector<NodeView> views;
  views.reserve(nodes_.size());
  for (auto& [id, n] : nodes_) {
    views.push_back({id, n.core ? &*n.core : nullptr, n.durable_term});
  }
  checker_.Check(views);
}

SimNode* Simulation::FindLeader() {
  SimNode* best = nullptr;
  for (auto& [id, n] : nodes_) {
    if (n.core && n.core->role() == Role::kLeader &&
        (best == nullptr || n.core->term() > best->core->term())) {
      best = &n;
    }
  }
  return best;
}

SimResult Simulation::Run() {
  base_config_ = NodeConfig(0);
  DrawAdversaries();
  std::vector<NodeId> ids;
  for (int i = 0; i < options_.nodes; ++i) ids.push_back(next_id_++);
  max_nodes_ = options_.nodes + 6;
  const MemoryLogSource boot = BootstrapState(ids);
  for (NodeId id : ids) StartNode(AddNode(id, boot));

  clients_.resize(4);
  for (size_t i = 0; i < clients_.size(); ++i) {
    Schedule({.at = 1 + rng_.Below(5 * kTick),
              .kind = EventKind::kClient,
              .client = static_cast<int>(i)});
  }
  Schedule({.at = 1 + rng_.Below(10 * kTick), .kind = EventKind::kChaos});
  fault_end_ = static_cast<Time>(options_.fault_ticks) * kTick;
  liveness_end_ = fault_end_ + static_cast<Time>(options_.liveness_ticks) * kTick;
  Schedule({.at = fault_end_, .kind = EventKind::kHeal});

  bool live = false;
  while (!queue_.empty() && !checker_.failed()) {
    Event e = queue_.top();
    queue_.pop();
    now_ = e.at;
    if (now_ > liveness_end_) break;
    Dispatch(e);
    if (++result_.events > kMaxEvents) {
      checker_.Fail(fmt::format("runaway: more than {} events (a message storm?)", kMaxEvents));
      break;
    }
    CheckInvariants();
    if (!faults_on_ && LivenessDone()) {
      live = true;
      break;
    }
  }
  if (!checker_.failed() && !live) {
    SimNode* leader = FindLeader();
    checker_.Fail(leader == nullptr
                      ? fmt::format("liveness: no leader {} ticks after faults stopped",
                                    options_.liveness_ticks)
                      : fmt::format("liveness: leader {} (term {}) but a proposal was not applied "
                                    "on every member within {} ticks",
                                    leader->id, leader->core->term(), options_.liveness_ticks));
  }
  if (checker_.failed()) {
    for (auto& [id, n] : nodes_) {
      if (!n.core) {
        Trace(fmt::format("node {}: down{}", id, n.retired ? " (retired)" : ""));
        continue;
      }
      const Status st = n.core->GetStatus();
      Trace(fmt::format(
          "node {}: {} term {} vote {} leader {} commit {} applied {} last {} "
          "snapshot {} voters [{}] learners [{}]",
          id, RoleName(st.role), st.term, st.vote, st.leader, st.commit, st.applied, st.last_index,
          st.snapshot_index, fmt::join(st.conf.voters, ","), fmt::join(st.conf.learners, ",")));
    }
  }
  result_.ok = !checker_.failed();
  result_.file_storage = file_storage_;
  result_.failure = checker_.failure();
  result_.leaders = checker_.leaders_seen();
  result_.max_commit = checker_.max_committed();
  result_.liveness_ticks_used = static_cast<int>((now_ - std::min(now_, fault_end_)) / kTick);
  result_.trace.assign(trace_.begin(), trace_.end());
  return result_;
}

}  // namespace rl::raft::sim
