#include "tests/raft/fault_storage_disk.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "raft/storage_check.h"

namespace rl::raft {
namespace {

std::string Parent(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

StorageError NoSuchFile(std::string_view what, const std::string& path) {
  return IoError(fmt::format("simulated disk: {} {}: no such file", what, path));
}

}  // namespace

// A handle on one inode, valid for the power cycle it was opened in.
class SimDisk::File final : public FsFile {
 public:
  File(SimDisk* disk, uint64_t inode, uint64_t epoch) : disk_(disk), inode_(inode), epoch_(epoch) {}
  StorageResult<> Append(std::string_view data) override {
    disk_->FileAppend(inode_, epoch_, data);
    return {};
  }
  StorageResult<> Truncate(uint64_t size) override {
    disk_->FileTruncate(inode_, epoch_, size);
    return {};
  }
  StorageResult<> Sync() override {
    disk_->FileSync(inode_, epoch_);
    return {};
  }

 private:
  SimDisk* disk_;
  uint64_t inode_;
  uint64_t epoch_;
};

SimDisk::SimDisk(uint64_t seed) : rng_(seed) {}
SimDisk::~SimDisk() = default;

uint64_t SimDisk::Random(uint64_t n) { return rng_.Next() % n; }

SimDisk::DataOp SimDisk::TruncateOp(uint64_t size) {
  DataOp op;
  op.seq = next_seq_++;
  op.truncate = true;
  op.size = size;
  return op;
}

SimDisk::DirOp SimDisk::MakeDirOp(DirOp::Kind kind, const std::string& path, const std::string& to,
                                  uint64_t inode) {
  DirOp op;
  op.seq = next_seq_++;
  op.kind = kind;
  op.path = path;
  op.to = to;
  op.inode = inode;
  return op;
}

void SimDisk::AfterMutation() {
  ++mutations_;
  if (crash_at_ && mutations_ >= *crash_at_) CrashWith(crash_mode_, std::nullopt);
}

StorageResult<> SimDisk::CreateDir(const std::string&) { return {}; }

StorageResult<std::vector<std::string>> SimDisk::List(const std::string& dir) {
  if (!powered_) return std::unexpected(IoError("simulated disk: powered off"));
  std::vector<std::string> out;
  for (const auto& [path, inode] : names_) {
    if (Parent(path) == dir) out.push_back(path.substr(dir.size() + 1));
  }
  return out;
}

StorageResult<std::string> SimDisk::ReadAll(const std::string& path) {
  if (!powered_) return std::unexpected(IoError("simulated disk: powered off"));
  auto it = names_.find(path);
  if (it == names_.end()) return std::unexpected(NoSuchFile("read", path));
  return inodes_[it->second].current;
}

StorageResult<std::unique_ptr<FsFile>> SimDisk::Create(const std::string& path) {
  if (!powered_) {  // a handle no power cycle will ever accept: its writes go nowhere
    return std::make_unique<File>(this, 0, std::numeric_limits<uint64_t>::max());
  }
  auto it = names_.find(path);
  uint64_t inode;
  if (it != names_.end()) {
    inode = it->second;  // O_TRUNC on an existing file: same inode, cut to empty
    Inode& node = inodes_[inode];
    node.current.clear();
    node.pending.push_back(TruncateOp(0));
  } else {
    inode = next_inode_++;
    inodes_[inode];
    names_[path] = inode;
    pending_dir_.push_back(MakeDirOp(DirOp::Kind::kLink, path, "", inode));
  }
  auto file = std::make_unique<File>(this, inode, epoch_);
  AfterMutation();
  return file;
}

StorageResult<std::unique_ptr<FsFile>> SimDisk::OpenAppend(const std::string& path) {
  if (!powered_) return std::make_unique<File>(this, 0, std::numeric_limits<uint64_t>::max());
  auto it = names_.find(path);
  if (it == names_.end()) return std::unexpected(NoSuchFile("open", path));
  return std::make_unique<File>(this, it->second, epoch_);
}

StorageResult<> SimDisk::Rename(const std::string& from, const std::string& to) {
  if (!powered_) return {};
  auto it = names_.find(from);
  if (it == names_.end()) return std::unexpected(NoSuchFile("rename", from));
  uint64_t inode = it->second;
  names_.erase(it);
  names_[to] = inode;
  pending_dir_.push_back(MakeDirOp(DirOp::Kind::kRename, from, to, inode));
  AfterMutation();
  return {};
}

StorageResult<> SimDisk::Remove(const std::string& path) {
  if (!powered_) return {};
  auto it = names_.find(path);
  if (it == names_.end()) return std::unexpected(NoSuchFile("remove", path));
  pending_dir_.push_back(MakeDirOp(DirOp::Kind::kUnlink, path, "", it->second));
  names_.erase(it);
  AfterMutation();
  return {};
}

StorageResult<> SimDisk::SyncDir(const std::string& dir) {
  if (!powered_) return {};
  std::vector<DirOp> rest;
  for (DirOp& op : pending_dir_) {
    if (Parent(op.path) == dir || (op.kind == DirOp::Kind::kRename && Parent(op.to) == dir)) {
      ApplyDir(&durable_names_, op);
    } else {
      rest.push_back(std::move(op));
    }
  }
  pending_dir_ = std::move(rest);
  AfterMutation();
  return {};
}

void SimDisk::FileAppend(uint64_t inode, uint64_t epoch, std::string_view data) {
  if (!Alive(epoch) || data.empty()) return;
  Inode& node = inodes_[inode];
  node.current.append(data);
  DataOp op;
  op.seq = next_seq_++;
  op.bytes = std::string(data);
  node.pending.push_back(std::move(op));
  AfterMutation();
}

void SimDisk::FileTruncate(uint64_t inode, uint64_t epoch, uint64_t size) {
  if (!Alive(epoch)) return;
  Inode& node = inodes_[inode];
  node.current.resize(size);
  node.pending.push_back(TruncateOp(size));
  AfterMutation();
}

void SimDisk::FileSync(uint64_t inode, uint64_t epoch) {
  if (!Alive(epoch)) return;
  Inode& node = inodes_[inode];
  node.durable = node.current;
  node.pending.clear();
  AfterMutation();
}

uint64_t SimDisk::UnsyncedBytes() const {
  uint64_t n = 0;
  for (const auto& [id, node] : inodes_) {
    for (const DataOp& op : node.pending) n += op.bytes.size();
  }
  return n;
}

void SimDisk::ApplyData(std::string* to, const DataOp& op, std::optional<uint64_t> keep) {
  if (op.truncate) {
    to->resize(op.size);
  } else {
    to->append(op.bytes, 0, keep ? std::min<uint64_t>(*keep, op.bytes.size()) : op.bytes.size());
  }
}

void SimDisk::ApplyDir(std::map<std::string, uint64_t>* names, const DirOp& op) {
  switch (op.kind) {
    case DirOp::Kind::kLink:
      (*names)[op.path] = op.inode;
      break;
    case DirOp::Kind::kUnlink:
      names->erase(op.path);
      break;
    case DirOp::Kind::kRename:
      names->erase(op.path);
      (*names)[op.to] = op.inode;
      break;
  }
}

void SimDisk::Crash(CrashMode mode) { CrashWith(mode, std::nullopt); }

void SimDisk::CrashTearing(uint64_t keep) { CrashWith(CrashMode::kTearLastWrite, keep); }

void SimDisk::CrashAfter(uint64_t n, CrashMode mode) {
  crash_at_ = mutations_ + std::max<uint64_t>(n, 1);
  crash_mode_ = mode;
}

void SimDisk::CrashWith(CrashMode mode, std::optional<uint64_t> keep) {
  if (!powered_) return;
  switch (mode) {
    case CrashMode::kLoseUnsynced:
      break;
    case CrashMode::kTearLastWrite: {
      // Everything before the last write lands, the last write lands in part, nothing after.
      uint64_t last_write = 0;
      for (const auto& [id, node] : inodes_) {
        for (const DataOp& op : node.pending) {
          if (!op.truncate) last_write = std::max(last_write, op.seq);
        }
      }
      const uint64_t limit = last_write == 0 ? std::numeric_limits<uint64_t>::max() : last_write;
      for (auto& [id, node] : inodes_) {
        for (const DataOp& op : node.pending) {
          if (op.seq < limit) ApplyData(&node.durable, op, std::nullopt);
          if (op.seq == limit) {
            uint64_t size = op.bytes.size();
            ApplyData(&node.durable, op, keep ? std::min(*keep, size - 1) : Random(size));
          }
        }
      }
      for (const DirOp& op : pending_dir_) {
        if (op.seq < limit) ApplyDir(&durable_names_, op);
      }
      break;
    }
    case CrashMode::kScramble:
      for (auto& [id, node] : inodes_) {
        size_t n = node.pending.size();
        size_t k = Random(n + 1);
        for (size_t i = 0; i < k; ++i) ApplyData(&node.durable, node.pending[i], std::nullopt);
        if (k < n && !node.pending[k].truncate) {
          ApplyData(&node.durable, node.pending[k], Random(node.pending[k].bytes.size()));
        }
      }
      for (const DirOp& op : pending_dir_) {
        if (Random(2) == 0) ApplyDir(&durable_names_, op);
      }
      break;
  }
  pending_dir_.clear();
  names_ = durable_names_;
  std::map<uint64_t, Inode> live;
  for (const auto& [path, id] : names_) {
    if (live.contains(id)) continue;
    Inode& node = inodes_[id];
    node.current = node.durable;
    node.pending.clear();
    live[id] = std::move(node);
  }
  inodes_ = std::move(live);
  powered_ = false;
  ++epoch_;
  crash_at_.reset();
}

}  // namespace rl::raft
