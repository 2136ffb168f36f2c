// PeerLinks' fault injection (tests only): with RL_FAULT_INJECTION, each message of a Send is
// blocked, dropped, duplicated or delayed (a uv timer sends it later, alone, so delayed messages
// may overtake each other and later ones). Without it SetFaults refuses and nothing is applied.
#include <fmt/format.h>

#include <random>

#include "proxy/base/log.h"
#include "raft/node/peer_links.h"
#include "raft/node/peer_links_internal.h"

namespace rl::raft {

#ifdef RL_FAULT_INJECTION

std::expected<void, std::string> PeerLinks::SetFaults(const FaultSettings& faults) {
  if (faults == FaultSettings{}) {
    faults_.reset();
    proxy::Log(proxy::kLogNotice, "raft: peer fault injection off");
    return {};
  }
  auto state = std::make_unique<Faults>();
  state->settings = faults;
  if (state->settings.seed == 0) state->settings.seed = std::random_device{}() | 1;
  state->rng.seed(state->settings.seed);
  state->timer.Init([&](uv_timer_t* t) { return uv_timer_init(loop_, t); }, this);
  // Messages still delayed under the old settings are kept: they were already "in the network".
  if (faults_) state->delayed = std::move(faults_->delayed);
  std::string blocked;
  for (NodeId id : faults.blocked_to)
    blocked += fmt::format("{}{}", blocked.empty() ? "" : "+", id);
  proxy::Log(proxy::kLogNotice,
             "raft: peer fault injection drop={} delay={}-{} dup={} block={} seed={}", faults.drop,
             faults.delay_min.count(), faults.delay_max.count(), faults.duplicate, blocked,
             state->settings.seed);
  faults_ = std::move(state);
  OnFaultTimer();
  return {};
}

std::vector<Message> PeerLinks::ApplyFaults(std::vector<Message> messages) {
  Faults& f = *faults_;
  std::uniform_real_distribution<double> coin(0.0, 1.0);
  std::uniform_int_distribution<int64_t> delay(f.settings.delay_min.count(),
                                               f.settings.delay_max.count());
  std::vector<Message> now;
  uint64_t clock = uv_now(loop_);
  for (Message& m : messages) {
    if (f.settings.blocked_to.contains(m.to) ||
        (f.settings.drop > 0 && coin(f.rng) < f.settings.drop)) {
      ++stats_.fault_dropped;
      continue;
    }
    int copies = f.settings.duplicate > 0 && coin(f.rng) < f.settings.duplicate ? 2 : 1;
    if (copies == 2) ++stats_.fault_duplicated;
    for (int i = 0; i < copies; ++i) {
      int64_t d = f.settings.delay_max.count() > 0 ? delay(f.rng) : 0;
      if (d <= 0) {
        now.push_back(i + 1 < copies ? m : std::move(m));
        continue;
      }
      ++stats_.fault_delayed;
      f.delayed.emplace(clock + static_cast<uint64_t>(d), i + 1 < copies ? m : std::move(m));
    }
  }
  if (!f.delayed.empty()) OnFaultTimer();
  return now;
}

// Sends what is due and re-arms the timer for the next delayed message.
void PeerLinks::OnFaultTimer() {
  if (!faults_) return;
  Faults& f = *faults_;
  uint64_t clock = uv_now(loop_);
  std::vector<Message> due;
  while (!f.delayed.empty() && f.delayed.begin()->first <= clock) {
    due.push_back(std::move(f.delayed.begin()->second));
    f.delayed.erase(f.delayed.begin());
  }
  if (!f.delayed.empty()) {
    uv_timer_start(
        f.timer.get(), [](uv_timer_t* t) { static_cast<PeerLinks*>(t->data)->OnFaultTimer(); },
        f.delayed.begin()->first - clock, 0);
  }
  if (!due.empty()) SendNow(std::move(due));
}

#else

std::expected<void, std::string> PeerLinks::SetFaults(const FaultSettings&) {
  return std::unexpected(
      "this binary was built without fault injection (cmake -DRINGLEADER_FAULT_INJECTION=ON)");
}

std::vector<Message> PeerLinks::ApplyFaults(std::vector<Message> messages) { return messages; }

void PeerLinks::OnFaultTimer() {}

#endif

}  // namespace rl::raft
