// Counters behind INFO. Each worker owns one WorkerStats and is its only writer (relaxed
// load+store, no atomic read-modify-write on the data path); INFO sums every worker's counters.
// Thread safety: written by the owning worker, read by any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <type_traits>

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
};

template <typename T>
inline void Add(std::atomic<T>& counter, std::type_identity_t<T> n = 1) {
  counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

inline uint64_t Read(const std::atomic<uint64_t>& counter) {
  return counter.load(std::memory_order_relaxed);
}

}  // namespace rl::proxy
