// The coordinator's waiter record (LOCK.ACQUIRE ... WAIT), shared by coordinator.cc (whose
// constructor and destructor need the complete type) and coordinator_wait.cc (which uses it).
// Thread safety: the coordinator's loop thread only.
#pragma once

#include <uv.h>

#include "lock/coordinator.h"
#include "proxy/base/uv_handle.h"

namespace rl::lock {

struct Coordinator::Waiter {
  Coordinator* coordinator = nullptr;
  std::string name;
  std::string owner;
  uint64_t ttl_ms = 0;
  bool reentrant = false;
  uint64_t deadline_ms = 0;
  AcquireDone done;
  bool in_flight = false;  // a round is under way; a wake-up meanwhile retries after it
  bool woken = false;
  bool queued = false;  // a round found it held: counted in LockStats::waits and ::waiting
  proxy::UvHandle<uv_timer_t> timer;
};

}  // namespace rl::lock
