// Google Benchmark targets for reply forwarding (proxy/resp/reply_scanner.h): how fast a server
// connection finds where each backend reply ends in a read — pipelined +OK and small bulk
// replies, a 100-element MGET reply, LRANGE_100's array, a 1 MiB bulk arriving in 64 KiB reads
// — and walking an array reply's elements as merging does. Run by `scripts/bench --micro`.
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "proxy/resp/reply_scanner.h"

namespace rl::proxy {
namespace {

// Appends only (no `"x" + std::string`): g++ 12 -O3 warns falsely (-Wrestrict) on that.
std::string Bulk(const std::string& s) {
  return std::string("$").append(std::to_string(s.size())).append("\r\n").append(s).append("\r\n");
}

std::string ArrayOfBulks(int n, const std::string& value) {
  std::string out = std::string("*").append(std::to_string(n)).append("\r\n");
  for (int i = 0; i < n; ++i) out += Bulk(value);
  return out;
}

// Scans every reply of `stream` once per iteration, as ServerConn::Process does.
void ScanStream(benchmark::State& state, const std::string& stream, int expected_replies) {
  ReplyScanner scanner;
  for (auto _ : state) {
    size_t pos = 0;
    int replies = 0;
    while (pos < stream.size()) {
      if (scanner.Scan(stream.data() + pos, stream.size() - pos) !=
          ReplyScanner::Result::kComplete) {
        state.SkipWithError("scan failed");
        return;
      }
      pos += scanner.length();
      scanner.Reset();
      ++replies;
    }
    if (replies != expected_replies) state.SkipWithError("wrong reply count");
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * stream.size()));
  state.SetItemsProcessed(state.iterations() * expected_replies);
}

void BM_ScanPipelinedOk(benchmark::State& state) {
  std::string stream;
  for (int i = 0; i < 1000; ++i) stream += "+OK\r\n";
  ScanStream(state, stream, 1000);
}
BENCHMARK(BM_ScanPipelinedOk);

void BM_ScanPipelinedGet(benchmark::State& state) {
  std::string stream;
  for (int i = 0; i < 1000; ++i) stream += i % 4 == 0 ? "$-1\r\n" : Bulk("xxx");
  ScanStream(state, stream, 1000);
}
BENCHMARK(BM_ScanPipelinedGet);

void BM_ScanMget100Reply(benchmark::State& state) {
  std::string stream;
  for (int i = 0; i < 16; ++i) stream += ArrayOfBulks(100, "xxx");
  ScanStream(state, stream, 16);
}
BENCHMARK(BM_ScanMget100Reply);

void BM_ScanLrange100Reply(benchmark::State& state) {
  std::string stream;
  for (int i = 0; i < 16; ++i) stream += ArrayOfBulks(100, "xxx");  // redis-benchmark's value
  ScanStream(state, stream, 16);
}
BENCHMARK(BM_ScanLrange100Reply);

// A large bulk reply arriving in 64 KiB reads; Scan is called after each with all bytes so far.
void BM_ScanLargeBulkIncremental(benchmark::State& state) {
  const std::string stream = Bulk(std::string(static_cast<size_t>(state.range(0)), 'v'));
  constexpr size_t kRead = 64 << 10;
  ReplyScanner scanner;
  for (auto _ : state) {
    ReplyScanner::Result result = ReplyScanner::Result::kIncomplete;
    for (size_t have = std::min(kRead, stream.size()); result == ReplyScanner::Result::kIncomplete;
         have = std::min(have + kRead, stream.size())) {
      result = scanner.Scan(stream.data(), have);
    }
    if (result != ReplyScanner::Result::kComplete) state.SkipWithError("scan failed");
    scanner.Reset();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * stream.size()));
  state.SetLabel("payload bytes not read (zero-copy)");
}
BENCHMARK(BM_ScanLargeBulkIncremental)->Arg(1 << 20)->Arg(16 << 20);

// Walking a 100-element array reply's elements (what key-order merging does per fragment).
void BM_ArrayElements100(benchmark::State& state) {
  const std::string reply = ArrayOfBulks(100, "xxx");
  for (auto _ : state) {
    ArrayElements elements(reply);
    for (int64_t i = 0; i < elements.count(); ++i) benchmark::DoNotOptimize(elements.Next());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * reply.size()));
}
BENCHMARK(BM_ArrayElements100);

}  // namespace
}  // namespace rl::proxy

BENCHMARK_MAIN();
