// Google Benchmark targets for the client request parser (proxy/resp/resp_parser.h): bytes/s over
// pipelined GET, SET and 100-key MGET streams, and over large SET values, whole or arriving in
// 64 KiB reads (the parser must resume, not rescan). Run by `scripts/bench --micro`.
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "proxy/resp/reply_writer.h"
#include "proxy/resp/resp_parser.h"

namespace rl::proxy {
namespace {

void AppendCommand(std::string* out, const std::vector<std::string>& args) {
  std::vector<std::string_view> argv(args.begin(), args.end());
  rl::proxy::AppendCommand(out, argv);
}

std::string Key(int i) {
  return std::string("key:").append(std::to_string(100000 + i * 7919 % 100000));
}

// Parses every request of `stream` once per iteration; fails the benchmark on a parse error.
void ParseStream(benchmark::State& state, const std::string& stream, int expected_requests) {
  RequestParser parser;
  for (auto _ : state) {
    size_t pos = 0;
    int requests = 0;
    while (pos < stream.size()) {
      if (parser.Parse(stream.data() + pos, stream.size() - pos) !=
          RequestParser::Result::kComplete) {
        state.SkipWithError("parse failed");
        return;
      }
      benchmark::DoNotOptimize(parser.args().data());
      pos += parser.length();
      parser.Reset();
      ++requests;
    }
    if (requests != expected_requests) state.SkipWithError("wrong request count");
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * stream.size()));
  state.SetItemsProcessed(state.iterations() * expected_requests);
}

void BM_ParsePipelinedGet(benchmark::State& state) {
  std::string stream;
  for (int i = 0; i < 1000; ++i) AppendCommand(&stream, {"GET", Key(i)});
  ParseStream(state, stream, 1000);
}
BENCHMARK(BM_ParsePipelinedGet);

void BM_ParsePipelinedSet(benchmark::State& state) {
  std::string stream;
  for (int i = 0; i < 1000; ++i) AppendCommand(&stream, {"SET", Key(i), "xxx"});
  ParseStream(state, stream, 1000);
}
BENCHMARK(BM_ParsePipelinedSet);

void BM_ParseMget100(benchmark::State& state) {
  std::vector<std::string> args{"MGET"};
  for (int i = 0; i < 100; ++i) args.push_back(Key(i));
  std::string stream;
  for (int i = 0; i < 16; ++i) AppendCommand(&stream, args);
  ParseStream(state, stream, 16);
}
BENCHMARK(BM_ParseMget100);

// One SET with a value of state.range(0) bytes, all of it already read.
void BM_ParseLargeValue(benchmark::State& state) {
  std::string stream;
  AppendCommand(&stream, {"SET", "big", std::string(static_cast<size_t>(state.range(0)), 'v')});
  ParseStream(state, stream, 1);
  // The parser reads the value's length and checks its CRLF; the value's bytes are forwarded
  // untouched, so the time does not grow with the value and bytes/s is only nominal.
  state.SetLabel("value bytes not read (zero-copy)");
}
BENCHMARK(BM_ParseLargeValue)->Arg(16 << 10)->Arg(1 << 20)->Arg(16 << 20);

// The same value arriving in 64 KiB reads: Parse is called after each read with everything so
// far, as ClientConn does with a private buffer.
void BM_ParseLargeValueIncremental(benchmark::State& state) {
  std::string stream;
  AppendCommand(&stream, {"SET", "big", std::string(static_cast<size_t>(state.range(0)), 'v')});
  constexpr size_t kRead = 64 << 10;
  RequestParser parser;
  for (auto _ : state) {
    RequestParser::Result result = RequestParser::Result::kIncomplete;
    for (size_t have = std::min(kRead, stream.size()); result == RequestParser::Result::kIncomplete;
         have = std::min(have + kRead, stream.size())) {
      result = parser.Parse(stream.data(), have);
    }
    if (result != RequestParser::Result::kComplete) state.SkipWithError("parse failed");
    parser.Reset();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * stream.size()));
  state.SetLabel("value bytes not read (zero-copy)");
}
BENCHMARK(BM_ParseLargeValueIncremental)->Arg(1 << 20)->Arg(16 << 20);

}  // namespace
}  // namespace rl::proxy

BENCHMARK_MAIN();
