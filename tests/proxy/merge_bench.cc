// Google Benchmark targets for merging split replies (proxy/route/merge.h): a 100-key MGET split over
// three servers put back in key order, MSET's +OK from each server, DEL's integers summed.
// Run by `scripts/bench --micro`.
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "proxy/commands/command_table.h"
#include "proxy/route/merge.h"

namespace rl::proxy {
namespace {

// A parent with `fragments` fragments whose replies are `replies`; key i lives on fragment
// key_fragment[i].
struct Split {
  Request parent;
  std::vector<Request> fragments;
  std::vector<std::string> replies;

  Split(Merge merge, std::vector<std::string> fragment_replies, std::vector<uint32_t> keys)
      : fragments(fragment_replies.size()), replies(std::move(fragment_replies)) {
    parent.merge = static_cast<uint8_t>(merge);
    parent.key_fragment = std::move(keys);
    for (size_t f = 0; f < fragments.size(); ++f) {
      fragments[f].kind = Request::Kind::kFragment;
      fragments[f].parent = &parent;
      fragments[f].reply = replies[f];
      fragments[f].done = true;
      parent.fragments.push_back(&fragments[f]);
    }
  }
  ~Split() {
    parent.fragments.clear();  // the fragments are not pooled
    parent.reply_chunk.Reset();
  }
};

// Appends only (no `"x" + std::string`): g++ 12 -O3 warns falsely (-Wrestrict) on that.
std::string Bulk(const std::string& s) {
  return std::string("$").append(std::to_string(s.size())).append("\r\n").append(s).append("\r\n");
}

void BM_MergeMget100(benchmark::State& state) {
  // 100 keys spread over 3 servers the way a hash spreads them (round robin is close enough).
  std::vector<uint32_t> key_fragment;
  std::vector<int> per_fragment(3);
  for (int i = 0; i < 100; ++i) {
    key_fragment.push_back(static_cast<uint32_t>((i * 7) % 3));
    ++per_fragment[key_fragment.back()];
  }
  std::vector<std::string> replies;
  for (int n : per_fragment) {
    std::string r = std::string("*").append(std::to_string(n)).append("\r\n");
    for (int i = 0; i < n; ++i) r += i % 5 == 0 ? "$-1\r\n" : Bulk("xxx");
    replies.push_back(r);
  }
  ChunkPool pool;  // as a worker merges: into pooled chunks (outlives `split`'s reply chunk)
  Split split(Merge::kKeyOrder, replies, key_fragment);
  for (auto _ : state) {
    MergeFragments(&split.parent, &pool);
    benchmark::DoNotOptimize(split.parent.reply.data());
  }
  if (!split.parent.reply.starts_with("*100\r\n")) state.SkipWithError("bad merge");
  state.SetItemsProcessed(state.iterations() * 100);  // keys
}
BENCHMARK(BM_MergeMget100);

void BM_MergeMsetOk(benchmark::State& state) {
  Split split(Merge::kAllOk, {"+OK\r\n", "+OK\r\n", "+OK\r\n"}, {0, 1, 2, 0, 1, 2, 0, 1, 2, 0});
  for (auto _ : state) {
    MergeFragments(&split.parent);
    benchmark::DoNotOptimize(split.parent.reply.data());
  }
  if (split.parent.reply != "+OK\r\n") state.SkipWithError("bad merge");
}
BENCHMARK(BM_MergeMsetOk);

void BM_MergeDelSum(benchmark::State& state) {
  Split split(Merge::kSumIntegers, {":3\r\n", ":4\r\n", ":3\r\n"}, {0, 1, 2, 0, 1, 2, 0, 1, 2, 0});
  for (auto _ : state) {
    MergeFragments(&split.parent);
    benchmark::DoNotOptimize(split.parent.reply.data());
  }
  if (split.parent.reply != ":10\r\n") state.SkipWithError("bad merge");
}
BENCHMARK(BM_MergeDelSum);

}  // namespace
}  // namespace rl::proxy

BENCHMARK_MAIN();
