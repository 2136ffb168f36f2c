// What a lock coordinator did, for INFO (and metrics): counters written on the coordinator's
// loop thread and read from any thread (relaxed; each is exact, a set of them is not one
// snapshot). Owned by whoever outlives the coordinator (proxy/host/lock_service.h), so that INFO
// can still read them after the coordinator closed.
#pragma once

#include <atomic>
#include <cstdint>

namespace rl::lock {

struct LockStats {
  std::atomic<uint64_t> acquires{0};        // LOCK.ACQUIRE calls (one with WAIT counts once)
  std::atomic<uint64_t> grants{0};          // of those, granted
  std::atomic<uint64_t> not_granted{0};     // held by others: nil (WAIT that timed out too)
  std::atomic<uint64_t> acquire_errors{0};  // no quorum of masters, no token
  std::atomic<uint64_t> stale_retries{0};   // rounds retried after a master's mark was higher
  std::atomic<uint64_t> waits{0};           // acquires that queued behind a holder (WAIT)
  std::atomic<int64_t> waiting{0};          // queued now
  std::atomic<uint64_t> releases{0};        // LOCK.RELEASE that released
  std::atomic<uint64_t> releases_not_held{0};
  std::atomic<uint64_t> extends{0};          // LOCK.EXTEND that extended
  std::atomic<uint64_t> extend_refusals{0};  // NOTOWNER, or too few masters
  std::atomic<uint64_t> force_releases{0};
  // Grants made here whose lease ended with no release or force-release through this process
  // (seen by a sweep at most a second late).
  std::atomic<uint64_t> expiries{0};
  std::atomic<int64_t> held{0};  // grants made here with a lease left
};

template <typename T>
inline void Bump(std::atomic<T>& counter, T n = 1) {
  counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

}  // namespace rl::lock
