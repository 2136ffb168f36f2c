// Seeds for randomized ring tests: $RL_TEST_SEED when set (to re-run a failure), else a fresh
// random one. The seed is printed so that every failure can be reproduced.
// Used only by tests/ring; single-threaded.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

namespace rl::ring::testing {

inline uint32_t TestSeed(const char* test_name) {
  uint32_t seed;
  if (const char* env = std::getenv("RL_TEST_SEED"); env != nullptr && *env != '\0') {
    seed = static_cast<uint32_t>(std::strtoul(env, nullptr, 10));
  } else {
    seed = std::random_device{}();
  }
  std::printf("%s: seed %u (re-run with RL_TEST_SEED=%u)\n", test_name, seed, seed);
  std::fflush(stdout);
  return seed;
}

}  // namespace rl::ring::testing
