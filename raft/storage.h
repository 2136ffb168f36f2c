// The durable half of a Raft node: the hard state (term, vote, commit), the latest snapshot and
// the log after it, kept across restarts. The node (raft/node) and the cluster simulator drive a
// Storage with what a core's Ready asks to persist; FileStorage, MemoryStorage and FaultStorage
// implement it. Thread safety: none; one owner calls it (the node's disk thread, or a test).
#pragma once

#include <cstdint>
#include <expected>
#include <span>
#include <string>
#include <vector>

#include "raft/types.h"

namespace rl::raft {

struct StorageError {
  enum class Code : uint8_t {
    kInvalidArgument,  // the caller broke a REQUIRES below; nothing was changed
    kCorruption,       // the files are damaged; the message names the file and the offset
    kIo,               // an I/O call failed (not fsync: that aborts); the storage is now unusable
  };
  Code code = Code::kIo;
  std::string message;
};

template <typename T = void>
using StorageResult = std::expected<T, StorageError>;

// Everything a node restarts from.
struct DurableState {
  HardState hard_state;
  Snapshot snapshot;           // meta.index == 0 (and empty data) when none was saved
  std::vector<Entry> entries;  // indices snapshot.meta.index+1, +2, ... (contiguous, maybe none)
  // Repairs Load made, in words (e.g. "truncated a torn tail of DIR/…log at offset N"). Only
  // damage a crash can cause is repaired; anything else is an error.
  std::vector<std::string> warnings;
};

// Durability contract (what survives a crash of the machine, not just of the process):
//   - SaveSnapshot: durable when it returns.
//   - Append: the entries reach the OS when it returns (a restarted process sees them) but are
//     durable only after the next Sync returns. The removal of a conflicting suffix is durable
//     when Append returns, so an old suffix never reappears after a crash.
//   - SaveHardState: kept in memory until the next Sync, which writes it atomically after the
//     log is durable: a durable commit index never points past the durable log.
//   - Sync: when it returns, everything done before it is durable. A failed fsync aborts the
//     process (after a failed fsync the kernel may have dropped the dirty pages; retrying can
//     report success for data that is gone).
// After a crash, Load returns: the snapshot of the last SaveSnapshot that returned (or of the one
// in progress), the hard state of the last Sync that returned (or of the one in progress), and the
// log of the last Sync that returned, less suffixes removed since, plus possibly a prefix of the
// entries appended since. hard_state.commit may be below snapshot.meta.index (the snapshot's index
// is committed by definition).
class Storage {
 public:
  virtual ~Storage() = default;

  // Reads the durable state and repairs what a crash can leave behind (torn tail of the last
  // segment, leftover temporary files). REQUIRES: the first call on this object, called once
  // (MemoryStorage and FaultStorage allow more; see their headers). On failure (kCorruption,
  // kIo) the storage is unusable; repairs that are always safe (a leftover temporary file
  // removed, a torn tail cut) may have been made before the damage was found.
  virtual StorageResult<DurableState> Load() = 0;

  // Appends `entries` to the log. If entries[0].index is already in the log, that entry and every
  // later one are dropped first (a follower resolving a conflict).
  // REQUIRES (else kInvalidArgument, nothing changed): Load succeeded; entries are contiguous
  // (index +1 each) with non-decreasing terms, the first term >= the term of the entry before it;
  // snapshot index < entries[0].index <= last index + 1; a truncation never drops an entry at or
  // below the commit index of the last SaveHardState. An empty span is a no-op.
  virtual StorageResult<> Append(std::span<const Entry> entries) = 0;

  // Records the hard state; durable after the next Sync (see above).
  virtual StorageResult<> SaveHardState(const HardState& state) = 0;

  // Saves `snapshot` and compacts the log: if the log holds an entry at the snapshot's index with
  // the snapshot's term, entries after it are kept; otherwise the whole log is dropped and the
  // next Append must start at snapshot.meta.index + 1.
  // REQUIRES (else kInvalidArgument): index > current snapshot index, or equal with equal term
  // (replaces the snapshot data and conf, keeps the log).
  virtual StorageResult<> SaveSnapshot(const Snapshot& snapshot) = 0;

  // Makes everything done so far durable. Aborts the process if an fsync fails.
  virtual StorageResult<> Sync() = 0;
};

}  // namespace rl::raft
