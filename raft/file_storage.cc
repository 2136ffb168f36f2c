#include "raft/file_storage.h"

#include <fmt/format.h>

#include <algorithm>

#include "raft/segment.h"

namespace rl::raft {
FileStorage::FileStorage(std::string dir, FileStorageOptions options, Fs* fs)
    : dir_(std::move(dir)), options_(options), fs_(fs) {}

FileStorage::~FileStorage() = default;

StorageResult<> FileStorage::Usable() const {
  if (failed_) return std::unexpected(*failed_);
  if (!loaded_) return std::unexpected(InvalidArgument("raft storage: Load has not succeeded"));
  return {};
}

StorageResult<> FileStorage::Fail(StorageError error) {
  failed_ = error;
  return std::unexpected(std::move(error));
}

LogBounds FileStorage::Bounds() const {
  return {snapshot_.index, snapshot_.term, last_index_, hard_state_.commit};
}

Term FileStorage::TermAt(Index index) const {
  auto it = std::upper_bound(segments_.begin(), segments_.end(), index,
                             [](Index i, const Segment& s) { return i < s.first; });
  const Segment& seg = *std::prev(it);  // REQUIRES: index is in the log
  return seg.terms[index - seg.first];
}

std::string FileStorage::SegmentPath(Index first) const { return Path(SegmentName(first)); }

std::vector<std::string> FileStorage::SegmentPaths() const {
  std::vector<std::string> paths;
  for (const Segment& s : segments_) paths.push_back(SegmentPath(s.first));
  return paths;
}

StorageResult<> FileStorage::Append(std::span<const Entry> entries) {
  if (auto ok = Usable(); !ok) return ok;
  if (entries.empty()) return {};
  for (const Entry& e : entries) {
    if (e.data.size() > kMaxEntryDataBytes) {
      return std::unexpected(InvalidArgument(fmt::format(
          "raft storage: entry {} holds {} bytes, over the limit", e.index, e.data.size())));
    }
  }
  auto term_at = [this](Index i) { return TermAt(i); };
  if (auto ok = CheckAppend(Bounds(), entries, term_at); !ok) return ok;
  if (entries.front().index <= last_index_) {
    if (auto ok = TruncateFrom(entries.front().index); !ok) return Fail(ok.error());
  }
  // One write per segment touched: the whole batch reaches the OS in as few calls as possible.
  std::string buf;
  for (const Entry& e : entries) {
    if (!active_ || segments_.back().bytes + buf.size() >= options_.segment_bytes) {
      if (auto ok = Flush(&buf); !ok) return Fail(ok.error());
      if (auto ok = Rotate(e.index, &buf); !ok) return Fail(ok.error());
    }
    Segment& seg = segments_.back();
    seg.offsets.push_back(seg.bytes + buf.size());
    seg.terms.push_back(e.term);
    AppendEntryRecord(&buf, e);
  }
  if (auto ok = Flush(&buf); !ok) return Fail(ok.error());
  last_index_ = entries.back().index;
  return {};
}

StorageResult<> FileStorage::Flush(std::string* buf) {
  if (buf->empty()) return {};
  if (auto ok = active_->Append(*buf); !ok) return ok;
  segments_.back().bytes += buf->size();
  active_dirty_ = true;
  buf->clear();
  return {};
}

StorageResult<> FileStorage::Rotate(Index first, std::string* buf) {
  // Seal the full segment before the next one exists: then every segment but the last is
  // durable in full, and damage anywhere but the last one's tail is never a crash's doing.
  if (active_ && active_dirty_) MustSync(active_->Sync());
  active_.reset();
  auto file = fs_->Create(SegmentPath(first));
  if (!file) return std::unexpected(file.error());
  // Make the new name durable now, so no later crash can keep a segment after it but lose it.
  MustSync(fs_->SyncDir(dir_));
  active_ = std::move(*file);
  active_dirty_ = false;
  segments_.emplace_back();
  segments_.back().first = first;
  AppendSegmentHeader(buf, first);
  return {};
}

StorageResult<> FileStorage::RemoveNewestSegment() {
  active_.reset();
  if (auto ok = fs_->Remove(SegmentPath(segments_.back().first)); !ok) return ok;
  // One at a time, durably, newest first: a crash in between leaves a shorter log, never a hole.
  MustSync(fs_->SyncDir(dir_));
  segments_.pop_back();
  active_dirty_ = false;  // the segment before was sealed when the removed one was created
  if (segments_.empty()) return {};
  auto file = fs_->OpenAppend(SegmentPath(segments_.back().first));
  if (!file) return std::unexpected(file.error());
  active_ = std::move(*file);
  return {};
}

StorageResult<> FileStorage::TruncateFrom(Index index) {
  while (!segments_.empty() && segments_.back().first >= index) {
    if (auto ok = RemoveNewestSegment(); !ok) return ok;
  }
  if (!segments_.empty() && segments_.back().last() >= index) {
    Segment& seg = segments_.back();
    size_t keep = index - seg.first;
    if (auto ok = active_->Truncate(seg.offsets[keep]); !ok) return ok;
    // Durable before anything new is written after it: otherwise a crash could keep new records
    // and lose the truncation, resurrecting old entries behind them.
    MustSync(active_->Sync());
    active_dirty_ = false;
    seg.bytes = seg.offsets[keep];
    seg.offsets.resize(keep);
    seg.terms.resize(keep);
  }
  last_index_ = index - 1;
  return {};
}

StorageResult<> FileStorage::SaveHardState(const HardState& state) {
  if (auto ok = Usable(); !ok) return ok;
  hard_state_ = state;
  return {};
}

StorageResult<> FileStorage::SaveSnapshot(const Snapshot& snapshot) {
  if (auto ok = Usable(); !ok) return ok;
  if (snapshot.data.size() > kMaxSnapshotDataBytes) {
    return std::unexpected(InvalidArgument(
        fmt::format("raft storage: snapshot of {} bytes is over the limit", snapshot.data.size())));
  }
  auto term_at = [this](Index i) { return TermAt(i); };
  auto keep = CheckSnapshot(Bounds(), snapshot.meta, term_at);
  if (!keep) return std::unexpected(keep.error());
  if (auto ok = WriteAtomically(kSnapshotFile, EncodeSnapshotFile(snapshot)); !ok) {
    return Fail(ok.error());
  }
  const Index index = snapshot.meta.index;
  snapshot_ = snapshot.meta;
  if (!*keep) {
    // The log belongs to another history: drop all of it, newest first (see
    // RemoveNewestSegment), so a crash midway leaves a log that Load still sees as not matching.
    while (!segments_.empty()) {
      if (auto ok = RemoveNewestSegment(); !ok) return Fail(ok.error());
    }
    last_index_ = index;
    return {};
  }
  // Compaction: remove the segments wholly at or below the snapshot. A crash midway may leave any
  // subset of them (Load skips them, holes and all). They are durably gone before this returns,
  // so no segment created later can follow one of them: one removed here may have been the last,
  // with a torn tail, and only the last segment may be torn.
  bool removed = false;
  while (!segments_.empty() && segments_.front().last() <= index) {
    if (segments_.size() == 1) active_.reset();
    if (auto ok = fs_->Remove(SegmentPath(segments_.front().first)); !ok) return Fail(ok.error());
    segments_.erase(segments_.begin());
    removed = true;
  }
  if (removed) MustSync(fs_->SyncDir(dir_));
  if (segments_.empty()) active_dirty_ = false;
  last_index_ = std::max(last_index_, index);
  return {};
}

StorageResult<> FileStorage::WriteAtomically(const std::string& name, const std::string& bytes) {
  const std::string tmp = Path(name + ".tmp");
  auto file = fs_->Create(tmp);
  if (!file) return std::unexpected(file.error());
  if (auto ok = (*file)->Append(bytes); !ok) return ok;
  MustSync((*file)->Sync());
  file->reset();
  if (auto ok = fs_->Rename(tmp, Path(name)); !ok) return ok;
  MustSync(fs_->SyncDir(dir_));
  return {};
}

StorageResult<> FileStorage::Sync() {
  if (auto ok = Usable(); !ok) return ok;
  if (active_ && active_dirty_) {
    MustSync(active_->Sync());
    active_dirty_ = false;
  }
  // After the log: a durable commit index must never point past the durable log.
  if (hard_state_ != durable_hard_state_) {
    if (auto ok = WriteAtomically(kHardStateFile, EncodeHardStateFile(hard_state_)); !ok) {
      return Fail(ok.error());
    }
    durable_hard_state_ = hard_state_;
  }
  return {};
}

}  // namespace rl::raft
