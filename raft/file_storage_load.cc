// FileStorage::Load: reads the directory back and repairs what a crash can leave behind.
#include <fmt/format.h>

#include <algorithm>

#include "raft/file_storage.h"
#include "raft/segment.h"

namespace rl::raft {

StorageResult<DurableState> FileStorage::Load() {
  if (loaded_ || failed_) {
    return std::unexpected(InvalidArgument("raft storage: Load called twice"));
  }
  auto state = Recover();
  if (!state) {
    failed_ = state.error();
    segments_.clear();
    active_.reset();
    return state;
  }
  loaded_ = true;
  return state;
}

StorageResult<DurableState> FileStorage::Recover() {
  if (auto ok = fs_->CreateDir(dir_); !ok) return std::unexpected(ok.error());
  auto names = fs_->List(dir_);
  if (!names) return std::unexpected(names.error());
  std::sort(names->begin(), names->end());

  DurableState state;
  std::vector<Index> firsts;  // segment first indices, ascending (names sort by index)
  bool has_snapshot = false, has_hard_state = false;
  for (const std::string& name : *names) {
    if (name.ends_with(".tmp")) {
      // An atomic replacement a crash interrupted before its rename: the target still holds the
      // previous version, which is the durable one.
      if (auto ok = fs_->Remove(Path(name)); !ok) return std::unexpected(ok.error());
      dir_dirty_ = true;
      state.warnings.push_back(
          fmt::format("removed {} (an atomic write interrupted before its rename)", Path(name)));
    } else if (name == kSnapshotFile) {
      has_snapshot = true;
    } else if (name == kHardStateFile) {
      has_hard_state = true;
    } else if (auto first = ParseSegmentName(name)) {
      if (*first == 0) {
        return std::unexpected(Corruption(
            fmt::format("raft storage: {} names index 0, which no entry has", Path(name))));
      }
      firsts.push_back(*first);
    }
  }

  if (has_snapshot) {
    auto bytes = fs_->ReadAll(Path(kSnapshotFile));
    if (!bytes) return std::unexpected(bytes.error());
    auto snap = DecodeSnapshotFile(*bytes, Path(kSnapshotFile));
    if (!snap) return std::unexpected(snap.error());
    state.snapshot = std::move(*snap);
    snapshot_ = state.snapshot.meta;
  }
  if (has_hard_state) {
    auto bytes = fs_->ReadAll(Path(kHardStateFile));
    if (!bytes) return std::unexpected(bytes.error());
    auto hs = DecodeHardStateFile(*bytes, Path(kHardStateFile));
    if (!hs) return std::unexpected(hs.error());
    state.hard_state = hard_state_ = durable_hard_state_ = *hs;
  }

  const Index snap_index = snapshot_.index;
  // Compaction removes segments without syncing the directory, so a crash can leave any subset
  // of the segments below the snapshot, with holes between them. Those before the last segment
  // starting at or below the snapshot index hold only entries below it: remove them unread.
  // That last one (`begin`) is read: it may hold the snapshot's index, whose term decides below
  // whether the log after it belongs to the snapshot's history.
  size_t begin = 0;
  while (begin + 1 < firsts.size() && firsts[begin + 1] <= snap_index) {
    if (auto ok = fs_->Remove(SegmentPath(firsts[begin])); !ok) return std::unexpected(ok.error());
    dir_dirty_ = true;
    ++begin;
  }

  std::vector<Entry> entries;  // every entry read, including those at or below the snapshot
  for (size_t k = begin; k < firsts.size(); ++k) {
    const bool last = k + 1 == firsts.size();
    const std::string path = SegmentPath(firsts[k]);
    auto bytes = fs_->ReadAll(path);
    if (!bytes) return std::unexpected(bytes.error());
    auto scan = ScanSegment(*bytes, firsts[k], last, path);
    if (!scan) return std::unexpected(scan.error());
    if (!scan->has_header && !last) {
      return std::unexpected(Corruption(
          fmt::format("raft storage: corruption in {} at offset 0: segment has no header", path)));
    }
    if (!scan->torn.empty()) {
      state.warnings.push_back(
          fmt::format("truncated a torn tail of {} at offset {} ({} bytes): {}", path,
                      scan->valid_bytes, bytes->size() - scan->valid_bytes, scan->torn));
    }
    if (!scan->has_header) {
      // A segment created just before a crash, before its header reached the disk.
      if (auto ok = fs_->Remove(path); !ok) return std::unexpected(ok.error());
      dir_dirty_ = true;
      continue;
    }
    if (!scan->torn.empty()) {
      auto file = fs_->OpenAppend(path);
      if (!file) return std::unexpected(file.error());
      if (auto ok = (*file)->Truncate(scan->valid_bytes); !ok) return std::unexpected(ok.error());
      MustSync((*file)->Sync());
    }
    if (k == begin && !last && firsts[k] + scan->entries.size() <= snap_index) {
      // Wholly below the snapshot's index too (its successor was removed): compaction leftover.
      if (auto ok = fs_->Remove(path); !ok) return std::unexpected(ok.error());
      dir_dirty_ = true;
      continue;
    }
    if (!segments_.empty() && firsts[k] != segments_.back().last() + 1) {
      return std::unexpected(Corruption(fmt::format(
          "raft storage: gap in the log: {} ends at index {} but the next segment {} starts at "
          "index {} (a segment is missing)",
          SegmentPath(segments_.back().first), segments_.back().last(), path, firsts[k])));
    }
    Segment seg;
    seg.first = firsts[k];
    seg.bytes = scan->valid_bytes;
    seg.offsets = std::move(scan->offsets);
    for (Entry& e : scan->entries) {
      seg.terms.push_back(e.term);
      entries.push_back(std::move(e));
    }
    segments_.push_back(std::move(seg));
  }

  if (!segments_.empty()) {
    const Index first = segments_.front().first, last = segments_.back().last();
    if (first > snap_index + 1) {
      return std::unexpected(Corruption(fmt::format(
          "raft storage: gap between the snapshot ({}, index {}) and the log: the first segment "
          "{} starts at index {}",
          has_snapshot ? Path(kSnapshotFile) : "none", snap_index, SegmentPath(first), first)));
    }
    bool drop = false;
    if (last < snap_index) {
      drop = true;  // the snapshot covers the whole log: a crash came before its removal
    } else if (first <= snap_index && TermAt(snap_index) != snapshot_.term) {
      // Another history than the snapshot's (SaveSnapshot was dropping it when the crash came).
      state.warnings.push_back(fmt::format(
          "discarded log entries {}..{}: the entry at the snapshot index {} has term {}, the "
          "snapshot term {}",
          first, last, snap_index, TermAt(snap_index), snapshot_.term));
      drop = true;
    }
    if (drop) {
      while (!segments_.empty()) {
        if (auto ok = fs_->Remove(SegmentPath(segments_.back().first)); !ok) {
          return std::unexpected(ok.error());
        }
        MustSync(fs_->SyncDir(dir_));  // newest first, as in FileStorage::SaveSnapshot
        segments_.pop_back();
      }
      entries.clear();
    }
  }

  last_index_ = segments_.empty() ? snap_index : std::max(snap_index, segments_.back().last());
  for (Entry& e : entries) {
    if (e.index > snap_index) state.entries.push_back(std::move(e));
  }
  // The repairs are durable before anything new is written: otherwise a crash could keep a
  // segment created later but lose the removal of, say, a headerless last segment before it.
  if (dir_dirty_) MustSync(fs_->SyncDir(dir_));
  dir_dirty_ = false;
  if (!segments_.empty()) {
    auto file = fs_->OpenAppend(SegmentPath(segments_.back().first));
    if (!file) return std::unexpected(file.error());
    active_ = std::move(*file);
  }
  return state;
}

}  // namespace rl::raft
