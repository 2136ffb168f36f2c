// The one seed of every randomized test in tests/ (the raft simulator keeps its own documented
// RL_RAFT_SEED): $RL_TEST_SEED when set, to replay a failure, else one drawn per process.
// Used by GoogleTest tests; call from the test thread.
#pragma once

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <string_view>

#include "gtest/gtest.h"

namespace rl::testing {

// Returns this process's seed: $RL_TEST_SEED (decimal, 0..2^32-1) when set and not empty,
// else a value drawn once from std::random_device. The first call prints "RL_TEST_SEED=<n>" on
// stdout, so the seed is in the output `ctest --output-on-failure` shows. Every call returns
// the same seed. An RL_TEST_SEED that is not such a number aborts the run with a message.
inline uint32_t TestSeed() {
  static const uint32_t seed = [] {
    uint32_t s = 0;
    const char* env = std::getenv("RL_TEST_SEED");
    if (env != nullptr && *env != '\0') {
      std::string_view text(env);
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), s);
      if (ec != std::errc() || end != text.data() + text.size()) {
        std::fprintf(stderr, "RL_TEST_SEED=%s is not a number from 0 to 4294967295\n", env);
        std::abort();
      }
    } else {
      s = std::random_device{}();
    }
    std::printf("RL_TEST_SEED=%u\n", s);
    std::fflush(stdout);
    return s;
  }();
  return seed;
}

// True when $RL_TEST_SEED is set: the run replays that seed. A test that runs a fixed range of
// seeds then runs TestSeed() alone, and names each seed it fails with as "RL_TEST_SEED=<seed>".
inline bool TestSeedIsReplay() {
  const char* env = std::getenv("RL_TEST_SEED");
  return env != nullptr && *env != '\0';
}

// "RL_TEST_SEED=<n>" for SCOPED_TRACE, so that every failure message of a randomized test
// names the seed that replays it:
//   SCOPED_TRACE(rl::testing::SeedNote());
//   std::mt19937 rng(rl::testing::TestSeed());
inline std::string SeedNote() { return "RL_TEST_SEED=" + std::to_string(TestSeed()); }

}  // namespace rl::testing
