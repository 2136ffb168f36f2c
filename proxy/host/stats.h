// Counters behind INFO. Each worker owns one WorkerStats and is its only writer (relaxed
// load+store, no atomic read-modify-write on the data path); INFO sums every worker's counters.
// Thread safety: written by the owning worker, read by any thread.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <type_traits>
#include <vector>

namespace rl::proxy {

struct alignas(64) WorkerStats {
  std::atomic<uint64_t> connections_received{0};
  std::atomic<int64_t> connected_clients{0};
  std::atomic<uint64_t> commands_processed{0};
  std::atomic<uint64_t> net_input_bytes{0};
  std::atomic<uint64_t> net_output_bytes{0};
  std::atomic<uint64_t> protocol_errors{0};       // clients closed for bytes that are not RESP
  std::atomic<uint64_t> output_limit_closes{0};   // clients closed for an overfull reply queue
  std::atomic<uint64_t> rejected_connections{0};  // refused: the pool's client_connections reached
  std::atomic<uint64_t> backend_errors{0};        // requests failed because of a backend
  std::atomic<uint64_t> backend_connections{0};   // backend connections opened
  std::atomic<uint64_t> ejections{0};             // servers ejected (auto_eject_hosts)
  std::atomic<uint64_t> evicted_clients{0};       // closed for the memory budget or no memory
  std::atomic<uint64_t> backend_timeouts{0};      // requests that timed out (the pool's timeout)
  std::atomic<uint64_t> fenced_writes{0};         // FENCED writes answered (LOCK.FENCE's too)
  std::atomic<uint64_t> fenced_refused{0};        // of those, refused: -FENCED stale token
  std::atomic<uint64_t> backend_connect_failures{0};  // connects that failed (refused, timed out)
  std::atomic<int64_t> blocked_clients{0};            // clients waiting in a blocking command now
  // INFO commandstats: calls and microseconds (parse to reply) by command-table row
  // (Request::command; 0: none).
  static constexpr size_t kCommandRows = 1024;
  std::array<std::atomic<uint64_t>, kCommandRows> command_calls{};
  std::array<std::atomic<uint64_t>, kCommandRows> command_usec{};
  std::array<std::atomic<uint64_t>, kCommandRows> command_failed{};  // answered with an error
};

// INFO's instantaneous_* rates: totals sampled when INFO is asked (at most one sample per
// 100 ms kept, over about Redis's 1.6 s window), the rate taken against the oldest kept.
// Thread safety: any thread, under the mutex.
class InfoRates {
 public:
  struct Totals {
    uint64_t commands = 0, input_bytes = 0, output_bytes = 0;
  };
  struct Rates {
    double ops_per_sec = 0, input_kbps = 0, output_kbps = 0;
  };
  Rates Sample(std::chrono::steady_clock::time_point now, Totals totals,
               std::chrono::steady_clock::time_point started) {
    std::lock_guard lock(mu_);
    using std::chrono::milliseconds;
    // Keep the newest sample older than the window (the base) and those within it.
    while (samples_.size() > 1 && now - samples_[1].at > milliseconds(1600)) {
      samples_.erase(samples_.begin());
    }
    Sampled base = samples_.empty() ? Sampled{started, {}} : samples_.front();
    if (samples_.empty() || now - samples_.back().at >= milliseconds(100)) {
      samples_.push_back({now, totals});
    }
    double seconds = std::chrono::duration<double>(now - base.at).count();
    if (seconds <= 0) return {};
    return {static_cast<double>(totals.commands - base.totals.commands) / seconds,
            static_cast<double>(totals.input_bytes - base.totals.input_bytes) / 1024 / seconds,
            static_cast<double>(totals.output_bytes - base.totals.output_bytes) / 1024 / seconds};
  }

 private:
  struct Sampled {
    std::chrono::steady_clock::time_point at;
    Totals totals;
  };
  std::mutex mu_;
  std::vector<Sampled> samples_;
};

template <typename T>
inline void Add(std::atomic<T>& counter, std::type_identity_t<T> n = 1) {
  counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

inline uint64_t Read(const std::atomic<uint64_t>& counter) {
  return counter.load(std::memory_order_relaxed);
}

}  // namespace rl::proxy
