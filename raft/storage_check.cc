#include "raft/storage_check.h"

#include <fmt/format.h>

#include "raft/invariant.h"

namespace rl::raft {

StorageError InvalidArgument(std::string message) {
  return {StorageError::Code::kInvalidArgument, std::move(message)};
}
StorageError Corruption(std::string message) {
  return {StorageError::Code::kCorruption, std::move(message)};
}
StorageError IoError(std::string message) { return {StorageError::Code::kIo, std::move(message)}; }

void MustSync(const StorageResult<>& result) {
  if (result) return;
  InvariantFailed(__FILE__, __LINE__,
                  result.error().message +
                      "; the durable state of the file is unknown after a failed fsync, refusing "
                      "to continue");
}

StorageResult<> CheckAppend(const LogBounds& log, std::span<const Entry> entries,
                            const TermAtFn& term_at) {
  if (entries.empty()) return {};
  const Index first = entries.front().index;
  if (first <= log.snapshot_index || first > log.last_index + 1) {
    return std::unexpected(InvalidArgument(
        fmt::format("append at index {} outside the log: snapshot index {}, last index {}", first,
                    log.snapshot_index, log.last_index)));
  }
  // Raft never removes a committed entry; a storage asked to is being driven by a bug.
  if (first <= log.last_index && first <= log.commit) {
    return std::unexpected(InvalidArgument(
        fmt::format("append at index {} would truncate committed entries (commit index {})", first,
                    log.commit)));
  }
  Term prev_term = first - 1 == log.snapshot_index ? log.snapshot_term : term_at(first - 1);
  for (size_t k = 0; k < entries.size(); ++k) {
    const Entry& e = entries[k];
    if (e.index != first + k) {
      return std::unexpected(InvalidArgument(
          fmt::format("append: entry {} has index {}, expected {}", k, e.index, first + k)));
    }
    if (e.term < prev_term) {
      return std::unexpected(
          InvalidArgument(fmt::format("append: entry {} has term {}, below the term {} before it",
                                      e.index, e.term, prev_term)));
    }
    prev_term = e.term;
  }
  return {};
}

StorageResult<bool> CheckSnapshot(const LogBounds& log, const SnapshotMeta& meta,
                                  const TermAtFn& term_at) {
  if (meta.index < log.snapshot_index ||
      (meta.index == log.snapshot_index && meta.term != log.snapshot_term)) {
    return std::unexpected(InvalidArgument(
        fmt::format("snapshot at index {} term {} does not follow the current one (index {} term "
                    "{})",
                    meta.index, meta.term, log.snapshot_index, log.snapshot_term)));
  }
  if (meta.index == log.snapshot_index) return true;
  // The log is kept only if it holds the snapshot's last entry: then the entries after it extend
  // the snapshot. Otherwise they belong to another history (a follower installing a leader's
  // snapshot) and are dropped.
  return meta.index <= log.last_index && term_at(meta.index) == meta.term;
}

}  // namespace rl::raft
