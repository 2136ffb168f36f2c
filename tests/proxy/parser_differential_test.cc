// The parser/hiredis differential check (the libFuzzer target's oracle) over seeded inputs:
// valid request streams with random mutations (flipped, inserted, dropped bytes, truncation).
#include "tests/proxy/parser_differential.h"

#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/support/test_seed.h"

namespace rl::testing {
namespace {

std::string Encode(const std::vector<std::string>& args) {
  std::string s = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto& a : args) s += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return s;
}

TEST(ParserDifferentialTest, AgreesWithHiredisOnMutatedStreams) {
  SCOPED_TRACE(rl::testing::SeedNote());
  std::mt19937 rng(rl::testing::TestSeed());
  const char kInteresting[] = "*$\r\n-0123456789+: ";
  for (int round = 0; round < 20000; ++round) {
    std::string input;
    int requests = 1 + static_cast<int>(rng() % 4);
    for (int r = 0; r < requests; ++r) {
      std::vector<std::string> args(1 + rng() % 4);
      for (auto& a : args) {
        a.resize(rng() % 12);
        for (char& c : a) c = static_cast<char>(rng());
      }
      input += Encode(args);
    }
    int mutations = static_cast<int>(rng() % 4);
    for (int m = 0; m < mutations && !input.empty(); ++m) {
      size_t at = rng() % input.size();
      char c =
          rng() % 2 ? kInteresting[rng() % (sizeof(kInteresting) - 1)] : static_cast<char>(rng());
      switch (rng() % 4) {
        case 0:
          input[at] = c;
          break;
        case 1:
          input.insert(input.begin() + static_cast<long>(at), c);
          break;
        case 2:
          input.erase(at, 1);
          break;
        default:
          input.resize(at);
          break;
      }
    }
    std::string problem = CompareWithHiredis(input, rng());
    ASSERT_EQ(problem, "") << "round " << round;
  }
}

TEST(ParserDifferentialTest, KnownInputs) {
  for (const std::string input :
       {"*0\r\n", "*-1\r\n", "*1\r\n$0\r\n\r\n", "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
        "*2\r\n$3\r\nGET\r\n$1\r\nk", "PING\r\n*1\r\n$4\r\nPING\r\n", "*1\r\n$4\r\nPING\r"}) {
    EXPECT_EQ(CompareWithHiredis(input, input.size() / 2), "") << input;
  }
}

}  // namespace
}  // namespace rl::testing
