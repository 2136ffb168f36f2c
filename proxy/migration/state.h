// The migration's replicated state: the phase of a pool's ring change and the migrator's
// checkpoint, as small values with a versioned binary encoding for the host to commit through
// Raft. Pure. Used by the cluster state machine (host) and the migrator.
// Thread safety: plain values.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/migration/backend.h"

namespace rl::migration {

// STABLE(E) -> PREPARE -> MIGRATING -> CLEANUP -> STABLE(E+1); see README.md.
enum class Phase : uint8_t { kStable, kPrepare, kMigrating, kCleanup };
std::string_view PhaseName(Phase phase);

// Which topology serves, and during a change which one keys move to. An epoch names a
// committed change; a topology epoch names the server list and ring that change installed (an
// abort installs an earlier topology under a new epoch, so epochs only grow and an epoch fenced
// once is never used again).
struct MigrationState {
  Phase phase = Phase::kStable;
  uint64_t epoch = 0;            // the serving (STABLE) or source epoch
  uint64_t topology = 0;         // the topology epoch `epoch` uses
  uint64_t target_epoch = 0;     // during a change: epoch + 1
  uint64_t target_topology = 0;  // the topology keys move to
  bool fenced = false;           // PREPARE: the source epoch's backend users are deleted
  bool abort = false;            // this change returns to an earlier topology
  friend bool operator==(const MigrationState&, const MigrationState&) = default;
};

// Why a transition is refused.
struct StateError {
  std::string message;
};

// Starts a change computed from `from_epoch` (compare-and-set): REQUIRES-like checks return an
// error naming the current epoch when the state is not STABLE(from_epoch).
std::expected<MigrationState, StateError> BeginChange(const MigrationState& s, uint64_t from_epoch,
                                                      uint64_t new_topology);
// PREPARE: every proxy acknowledged the migration rules and the host fenced the source epoch.
std::expected<MigrationState, StateError> MarkFenced(const MigrationState& s);
// PREPARE(fenced) -> MIGRATING -> CLEANUP (REQUIRES verified: the migrator's verify pass found
// nothing left) -> STABLE(target_epoch).
std::expected<MigrationState, StateError> Advance(const MigrationState& s, bool verified);
// PREPARE or MIGRATING -> the reverse change, from the target back to the source topology, as a
// new epoch starting again at PREPARE. CLEANUP cannot abort (every key is already at the target;
// a new change moves them back).
std::expected<MigrationState, StateError> Abort(const MigrationState& s);

// A big value being moved in chunks (see migrator.h).
struct InFlight {
  std::string key;
  ServerId target = 0;
  std::string token;
  friend bool operator==(const InFlight&, const InFlight&) = default;
};

struct SourceProgress {
  ServerId server = 0;
  uint64_t cursor = 0;  // SCAN cursor to resume from
  bool done = false;    // this pass over the server is complete
  std::optional<InFlight> in_flight;
  friend bool operator==(const SourceProgress&, const SourceProgress&) = default;
};

// What a new leader needs to resume: committed after every SCAN page.
struct Checkpoint {
  uint64_t epoch = 0;           // the target epoch this migration serves
  uint32_t verify_round = 0;    // 0: moving; n >= 1: the n-th verify pass
  uint64_t found_in_round = 0;  // keys a verify pass found still to move (0 at its end: done)
  bool verified = false;
  uint64_t next_token = 1;
  uint64_t keys_scanned = 0;
  uint64_t keys_moved = 0;
  uint64_t bytes_moved = 0;
  std::vector<SourceProgress> sources;
  friend bool operator==(const Checkpoint&, const Checkpoint&) = default;
};

std::string EncodeState(const MigrationState& s);
std::expected<MigrationState, StateError> DecodeState(std::string_view bytes);
std::string EncodeCheckpoint(const Checkpoint& c);
std::expected<Checkpoint, StateError> DecodeCheckpoint(std::string_view bytes);

}  // namespace rl::migration
