// Runs a KeyRouter plan over a Backend: the data path's half of the migration rules (moving a
// key before writing it, waiting out a key in flight, never taking an unknown outcome for
// "absent"). Used by the proxy's data path and the migration simulator.
// Thread safety: call on the loop that drives `backend` and `clock`; the callback runs there.
#pragma once

#include <cstdint>

#include "proxy/migration/backend.h"
#include "proxy/migration/key_router.h"

namespace rl::migration {

struct ExecutorOptions {
  // A key in flight (a big value moving in chunks) is retried every retry_delay_ms, at most
  // max_in_flight_waits times, then the command fails with kTryAgain.
  uint64_t retry_delay_ms = 5;
  uint32_t max_in_flight_waits = 2000;
  // MIGRATE answering IOERR is retried this many times (the key is then on the source, the
  // target, or both as an identical copy; each retry is safe) before the command fails.
  uint32_t max_ioerr_retries = 3;
  PlantedBug bug = PlantedBug::kNone;
};

// Runs `plan` (kind kSteps) for `command`; `done` gets the answer: the reply of
// the last kRun/kRunIfExists step that ran, or for kDelete the number of keys removed. On a
// backend failure `done` gets an Error: the command may have taken effect or not, and the client
// must be told so (never a reply that claims absence).
void ExecutePlan(Backend& backend, Clock& clock, Plan plan, Command command,
                 const ExecutorOptions& options, Callback<Reply> done);

}  // namespace rl::migration
