// Google Benchmark targets for the ring: key lookup (hash + placement) with 3, 16 and 128
// servers under ketama and modula, LookupMany (a 100-key MGET's keys), LookupHash alone, and
// ring construction.
#include <random>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "ring/ring.h"

namespace rl::ring {
namespace {

std::vector<Member> Servers(int n) {
  std::vector<Member> members;
  for (int i = 0; i < n; ++i) {
    members.push_back({"10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ":6379",
                       static_cast<uint32_t>(1 + i % 3)});
  }
  return members;
}

std::vector<std::string> Keys() {
  std::mt19937 rng(42);
  std::vector<std::string> keys;
  for (int i = 0; i < 4096; ++i) keys.push_back("user:" + std::to_string(rng()) + ":profile");
  return keys;
}

void BM_LookupKetama(benchmark::State& state) {
  const Ring ring = Ring::Build(Servers(static_cast<int>(state.range(0))),
                                {HashKind::kFnv1a_64, Distribution::kKetama, ""});
  const auto keys = Keys();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(ring.Lookup(keys[i++ & 4095]));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LookupKetama)->Arg(3)->Arg(16)->Arg(128);

// The keys of a 100-key MGET at once (as the proxy's split does), per key.
void BM_LookupManyKetama(benchmark::State& state) {
  const Ring ring = Ring::Build(Servers(static_cast<int>(state.range(0))),
                                {HashKind::kFnv1a_64, Distribution::kKetama, ""});
  const auto keys = Keys();
  std::vector<std::string_view> views(keys.begin(), keys.end());
  std::vector<uint32_t> owners(100);
  size_t i = 0;
  for (auto _ : state) {
    ring.LookupMany(std::span(views).subspan((i += 100) & 2047, 100), owners);
    benchmark::DoNotOptimize(owners.data());
  }
  state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_LookupManyKetama)->Arg(3)->Arg(16)->Arg(128);

void BM_LookupKetamaMd5Tagged(benchmark::State& state) {
  const Ring ring = Ring::Build(Servers(static_cast<int>(state.range(0))),
                                {HashKind::kMd5, Distribution::kKetama, "{}"});
  const auto keys = Keys();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(ring.Lookup(keys[i++ & 4095]));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LookupKetamaMd5Tagged)->Arg(3)->Arg(16)->Arg(128);

void BM_LookupModula(benchmark::State& state) {
  const Ring ring = Ring::Build(Servers(static_cast<int>(state.range(0))),
                                {HashKind::kFnv1a_64, Distribution::kModula, ""});
  const auto keys = Keys();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(ring.Lookup(keys[i++ & 4095]));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LookupModula)->Arg(3)->Arg(16)->Arg(128);

void BM_LookupHashKetama(benchmark::State& state) {
  const Ring ring = Ring::Build(Servers(static_cast<int>(state.range(0))),
                                {HashKind::kFnv1a_64, Distribution::kKetama, ""});
  std::mt19937 rng(7);
  std::vector<uint32_t> hashes(4096);
  for (auto& h : hashes) h = static_cast<uint32_t>(rng());
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(ring.LookupHash(hashes[i++ & 4095]));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LookupHashKetama)->Arg(3)->Arg(16)->Arg(128);

void BM_BuildKetama(benchmark::State& state) {
  const auto members = Servers(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        Ring::Build(members, {HashKind::kFnv1a_64, Distribution::kKetama, ""}));
  }
}
BENCHMARK(BM_BuildKetama)->Arg(3)->Arg(16)->Arg(128)->Unit(benchmark::kMicrosecond);

void BM_Diff(benchmark::State& state) {
  auto members = Servers(static_cast<int>(state.range(0)));
  const Ring old_ring = Ring::Build(members, {HashKind::kFnv1a_64, Distribution::kKetama, ""});
  members.push_back({"new-server:6379", 1});
  const Ring new_ring = Ring::Build(members, {HashKind::kFnv1a_64, Distribution::kKetama, ""});
  for (auto _ : state) benchmark::DoNotOptimize(Diff(old_ring, new_ring));
}
BENCHMARK(BM_Diff)->Arg(3)->Arg(16)->Arg(128)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace rl::ring

BENCHMARK_MAIN();
