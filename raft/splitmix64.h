// SplitMix64 (Steele, Lea, Flood 2014): the one pseudo-random generator of raft/ and its tests.
// Tiny, and the same sequence on every platform and standard library, so a seed replays
// anywhere. Used by the core (election timeouts), the fault-injecting disk and the simulator.
// Thread safety: none; one owner.
#pragma once

#include <cstdint>

namespace rl::raft {

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed = 0) : state_(seed) {}

  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // [0, n); 0 when n is 0.
  uint64_t Below(uint64_t n) { return n == 0 ? 0 : Next() % n; }

 private:
  uint64_t state_;
};

}  // namespace rl::raft
