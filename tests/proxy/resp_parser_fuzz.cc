// libFuzzer target: the request parser must agree with hiredis's redisReader on where each
// multibulk request ends, and must give the same requests however the input is split.
// Build with clang (see proxy/README.md): cmake -DCMAKE_CXX_COMPILER=clang++-14 ...
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "tests/proxy/parser_differential.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t split = size > 0 ? data[0] : 0;
  std::string problem = rl::testing::CompareWithHiredis(input, split);
  if (!problem.empty()) {
    std::fprintf(stderr, "disagreement: %s\n", problem.c_str());
    std::abort();
  }
  return 0;
}
