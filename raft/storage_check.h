// Request checks shared by every Storage implementation (file, memory, fault), so they accept and
// refuse exactly the same calls and compact alike; and constructors for StorageError.
// Internal to raft/ storage. Thread safety: pure functions.
#pragma once

#include <functional>
#include <span>
#include <string>

#include "raft/storage.h"

namespace rl::raft {

// What the checks need to know about the log an implementation holds.
struct LogBounds {
  Index snapshot_index = 0;
  Term snapshot_term = 0;
  Index last_index = 0;  // == snapshot_index when the log is empty
  Index commit = 0;      // from the last SaveHardState
};

// Returns the term of the entry at `index`, snapshot_index < index <= last_index.
using TermAtFn = std::function<Term(Index index)>;

// Checks an Append against Storage::Append's REQUIRES. On success the entries may be applied
// (truncating at entries[0].index when it is <= last_index).
StorageResult<> CheckAppend(const LogBounds& log, std::span<const Entry> entries,
                            const TermAtFn& term_at);

// Checks a SaveSnapshot against Storage::SaveSnapshot's REQUIRES. On success returns whether the
// entries after meta.index are kept (true) or the whole log is dropped (false).
StorageResult<bool> CheckSnapshot(const LogBounds& log, const SnapshotMeta& meta,
                                  const TermAtFn& term_at);

// Aborts the process with `result`'s message if it is an error. For fsync results: after a failed
// fsync the kernel may already have dropped the dirty pages and cleared the error, so a retry can
// "succeed" for data that never reached the disk (PostgreSQL's "fsyncgate"). Nothing the process
// believes about its files is safe any more; stop, and let recovery read the disk.
void MustSync(const StorageResult<>& result);

StorageError InvalidArgument(std::string message);
StorageError Corruption(std::string message);
StorageError IoError(std::string message);

}  // namespace rl::raft
