// Fault injection for the peer transport's tests: per message, drop, delay (reordering) or
// duplicate at random from a seed, or block every message to some peers. Parsed from
// "drop=0.1,delay=5-50,dup=0.01,seed=42,block=2+3". The parser is always built (so a binary
// without the option can say why it refuses); PeerLinks applies faults only when built with
// -DRINGLEADER_FAULT_INJECTION=ON (RL_FAULT_INJECTION). Thread safety: pure values/functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <set>
#include <string>
#include <string_view>

#include "raft/types.h"

namespace rl::raft {

struct FaultSettings {
  double drop = 0;  // probability that a message is dropped
  std::chrono::milliseconds delay_min{0};
  std::chrono::milliseconds delay_max{0};  // 0: no delay
  double duplicate = 0;                    // probability that a message is sent twice
  uint64_t seed = 0;                       // 0: drawn at SetFaults (and logged)
  std::set<NodeId> blocked_to;
  bool operator==(const FaultSettings&) const = default;
};

// Keys drop=P, dup=P (0 <= P <= 1), delay=MS or delay=MIN-MAX, seed=N, block=ID+ID+...,
// separated by commas; an empty string is no faults. Errors name the offending item.
std::expected<FaultSettings, std::string> ParseFaults(std::string_view text);

// Whether this binary applies faults (RINGLEADER_FAULT_INJECTION was ON).
bool FaultInjectionBuilt();

}  // namespace rl::raft
