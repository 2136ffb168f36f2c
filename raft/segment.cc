#include "raft/segment.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "raft/crc32c.h"
#include "raft/storage_check.h"

namespace rl::raft {
namespace {

constexpr uint32_t kSegmentMagic = 0x47534C52;  // "RLSG" read little-endian

void PutU8(std::string* out, uint8_t v) { out->push_back(static_cast<char>(v)); }
void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}

// Reads little-endian integers off the front of a payload; ok() turns false on a short read.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  uint8_t U8() { return static_cast<uint8_t>(Take(1)); }
  uint32_t U32() { return static_cast<uint32_t>(Take(4)); }
  uint64_t U64() { return Take(8); }
  std::string_view Rest() { return std::exchange(in_, {}); }
  size_t remaining() const { return in_.size(); }
  bool ok() const { return ok_; }

 private:
  uint64_t Take(size_t n) {
    if (in_.size() < n) {
      ok_ = false;
      in_ = {};
      return 0;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= uint64_t{static_cast<unsigned char>(in_[i])} << (8 * i);
    in_.remove_prefix(n);
    return v;
  }
  std::string_view in_;
  bool ok_ = true;
};

uint32_t LoadU32(std::string_view bytes, size_t offset) {
  Reader r(bytes.substr(offset, 4));
  return r.U32();
}

struct Record {
  enum class Status : uint8_t {
    kOk,
    kEnd,         // no bytes left
    kPartial,     // the file ends inside the record (header or payload)
    kBadHeader,   // header CRC mismatch: the length cannot be trusted
    kBadPayload,  // payload CRC mismatch
  };
  Status status = Status::kEnd;
  RecordType type = RecordType::kEntry;
  std::string_view payload;
  uint64_t end = 0;         // offset just past the record (kOk, kBadPayload)
  uint64_t zeros_from = 0;  // kBadHeader, kBadPayload: torn only if every byte from here is 0
  std::string problem;
};

bool AllZero(std::string_view bytes, uint64_t from) {
  return std::all_of(bytes.begin() + static_cast<ptrdiff_t>(std::min<uint64_t>(from, bytes.size())),
                     bytes.end(), [](char c) { return c == 0; });
}

// Header: header_crc u32 | length u32 | type u8 | payload_crc u32, header_crc covering the nine
// bytes after it. With its own CRC the length is trusted or known bad, so a flipped bit in a
// length is never mistaken for a record cut short by a crash.
Record ReadRecord(std::string_view bytes, uint64_t offset) {
  Record r;
  uint64_t remaining = bytes.size() - offset;
  if (remaining == 0) return r;
  if (remaining < kRecordHeaderBytes) {
    r.status = Record::Status::kPartial;
    r.problem =
        fmt::format("partial record header ({} of {} bytes)", remaining, kRecordHeaderBytes);
    return r;
  }
  uint32_t header_crc = LoadU32(bytes, offset);
  if (Crc32c(bytes.substr(offset + 4, kRecordHeaderBytes - 4)) != header_crc) {
    r.status = Record::Status::kBadHeader;
    r.zeros_from = offset + kRecordHeaderBytes;
    r.problem = "bad record header CRC";
    return r;
  }
  uint32_t length = LoadU32(bytes, offset + 4);
  uint32_t payload_crc = LoadU32(bytes, offset + 9);
  if (length > remaining - kRecordHeaderBytes) {
    r.status = Record::Status::kPartial;
    r.problem = fmt::format("record of {} bytes extends past the end of the file ({} bytes left)",
                            length, remaining - kRecordHeaderBytes);
    return r;
  }
  r.end = offset + kRecordHeaderBytes + length;
  r.payload = bytes.substr(offset + kRecordHeaderBytes, length);
  if (Crc32c(r.payload) != payload_crc) {
    r.status = Record::Status::kBadPayload;
    r.zeros_from = r.end;
    r.problem = fmt::format("bad CRC on a record of {} bytes", length);
    return r;
  }
  r.status = Record::Status::kOk;
  r.type = static_cast<RecordType>(bytes[offset + 8]);
  return r;
}

StorageError CorruptAt(const std::string& path, uint64_t offset, std::string_view what) {
  return Corruption(
      fmt::format("raft storage: corruption in {} at offset {}: {}", path, offset, what));
}

// A file that must be exactly one record of `type`; returns its payload.
StorageResult<std::string_view> SingleRecord(std::string_view bytes, RecordType type,
                                             const std::string& path) {
  Record r = ReadRecord(bytes, 0);
  if (r.status == Record::Status::kEnd) return std::unexpected(CorruptAt(path, 0, "empty file"));
  if (r.status != Record::Status::kOk) return std::unexpected(CorruptAt(path, 0, r.problem));
  if (r.type != type) {
    return std::unexpected(
        CorruptAt(path, 0, fmt::format("record type {}, expected {}", int(r.type), int(type))));
  }
  if (r.end != bytes.size()) {
    return std::unexpected(CorruptAt(path, r.end, "unexpected bytes after the record"));
  }
  if (r.payload.empty() || static_cast<uint8_t>(r.payload[0]) != kFormatVersion) {
    return std::unexpected(CorruptAt(path, kRecordHeaderBytes, "unknown format version"));
  }
  return r.payload.substr(1);
}

}  // namespace

void AppendRecord(std::string* out, RecordType type, std::string_view payload) {
  std::string header;
  PutU32(&header, static_cast<uint32_t>(payload.size()));
  PutU8(&header, static_cast<uint8_t>(type));
  PutU32(&header, Crc32c(payload));
  PutU32(out, Crc32c(header));
  out->append(header);
  out->append(payload);
}

void AppendSegmentHeader(std::string* out, Index first_index) {
  std::string payload;
  PutU32(&payload, kSegmentMagic);
  PutU8(&payload, kFormatVersion);
  PutU64(&payload, first_index);
  AppendRecord(out, RecordType::kSegmentHeader, payload);
}

void AppendEntryRecord(std::string* out, const Entry& entry) {
  std::string payload;
  payload.reserve(17 + entry.data.size());
  PutU64(&payload, entry.index);
  PutU64(&payload, entry.term);
  PutU8(&payload, static_cast<uint8_t>(entry.type));
  payload.append(entry.data);
  AppendRecord(out, RecordType::kEntry, payload);
}

std::string EncodeHardStateFile(const HardState& state) {
  std::string payload;
  PutU8(&payload, kFormatVersion);
  PutU64(&payload, state.term);
  PutU64(&payload, state.vote);
  PutU64(&payload, state.commit);
  std::string out;
  AppendRecord(&out, RecordType::kHardState, payload);
  return out;
}

std::string EncodeSnapshotFile(const Snapshot& snapshot) {
  const SnapshotMeta& meta = snapshot.meta;
  std::string payload;
  PutU8(&payload, kFormatVersion);
  PutU64(&payload, meta.index);
  PutU64(&payload, meta.term);
  PutU32(&payload, static_cast<uint32_t>(meta.conf.voters.size()));
  for (NodeId id : meta.conf.voters) PutU64(&payload, id);
  PutU32(&payload, static_cast<uint32_t>(meta.conf.learners.size()));
  for (NodeId id : meta.conf.learners) PutU64(&payload, id);
  payload.append(snapshot.data);
  std::string out;
  AppendRecord(&out, RecordType::kSnapshot, payload);
  return out;
}

StorageResult<HardState> DecodeHardStateFile(std::string_view bytes, const std::string& path) {
  auto payload = SingleRecord(bytes, RecordType::kHardState, path);
  if (!payload) return std::unexpected(payload.error());
  Reader r(*payload);
  HardState state;
  state.term = r.U64();
  state.vote = r.U64();
  state.commit = r.U64();
  if (!r.ok() || r.remaining() != 0) {
    return std::unexpected(CorruptAt(path, kRecordHeaderBytes, "malformed hard state record"));
  }
  return state;
}

StorageResult<Snapshot> DecodeSnapshotFile(std::string_view bytes, const std::string& path) {
  auto payload = SingleRecord(bytes, RecordType::kSnapshot, path);
  if (!payload) return std::unexpected(payload.error());
  Reader r(*payload);
  Snapshot snap;
  snap.meta.index = r.U64();
  snap.meta.term = r.U64();
  // Each id takes 8 bytes, so a count larger than what is left is damage, not a huge vector.
  auto read_ids = [&r](std::vector<NodeId>* ids) {
    uint32_t n = r.U32();
    if (!r.ok() || n > r.remaining() / 8) return false;
    for (uint32_t i = 0; i < n; ++i) ids->push_back(r.U64());
    return true;
  };
  if (!read_ids(&snap.meta.conf.voters) || !read_ids(&snap.meta.conf.learners) || !r.ok()) {
    return std::unexpected(CorruptAt(path, kRecordHeaderBytes, "malformed snapshot record"));
  }
  snap.data = std::string(r.Rest());
  return snap;
}

std::string SegmentName(Index first_index) { return fmt::format("{:020}.log", first_index); }

std::optional<Index> ParseSegmentName(std::string_view name) {
  if (name.size() != 24 || !name.ends_with(".log")) return std::nullopt;
  Index v = 0;
  for (char c : name.substr(0, 20)) {
    if (c < '0' || c > '9') return std::nullopt;
    Index next = v * 10 + static_cast<Index>(c - '0');
    if (next / 10 != v) return std::nullopt;  // overflow
    v = next;
  }
  return v;
}

StorageResult<SegmentScan> ScanSegment(std::string_view bytes, Index first_index, bool last,
                                       const std::string& path) {
  SegmentScan scan;
  uint64_t offset = 0;
  while (true) {
    Record r = ReadRecord(bytes, offset);
    if (r.status == Record::Status::kEnd) break;
    if (r.status != Record::Status::kOk) {
      // What a crash can leave at the end of the file being appended to: a prefix of a record,
      // possibly followed by zeros the file system extended the file with. So the damage is a
      // torn tail if the file ends inside the record, or if nothing but zeros follows the
      // damaged part. Damage followed by more data is not a crash's doing.
      bool torn = r.status == Record::Status::kPartial || AllZero(bytes, r.zeros_from);
      if (last && torn) {
        scan.torn = r.problem;
        break;
      }
      return std::unexpected(CorruptAt(path, offset, r.problem));
    }
    Reader p(r.payload);
    if (!scan.has_header) {
      uint32_t magic = p.U32();
      uint8_t version = p.U8();
      Index index = p.U64();
      if (r.type != RecordType::kSegmentHeader || !p.ok() || magic != kSegmentMagic ||
          version != kFormatVersion) {
        return std::unexpected(CorruptAt(path, offset, "not a raft log segment header"));
      }
      if (index != first_index) {
        return std::unexpected(CorruptAt(
            path, offset,
            fmt::format("header says first index {}, file name says {}", index, first_index)));
      }
      scan.has_header = true;
    } else {
      if (r.type != RecordType::kEntry) {
        return std::unexpected(
            CorruptAt(path, offset, fmt::format("unexpected record type {}", int(r.type))));
      }
      Entry e;
      e.index = p.U64();
      e.term = p.U64();
      uint8_t type = p.U8();
      if (!p.ok() || type > static_cast<uint8_t>(EntryType::kConfChange)) {
        return std::unexpected(CorruptAt(path, offset, "malformed entry record"));
      }
      e.type = static_cast<EntryType>(type);
      e.data = std::string(p.Rest());
      Index expected = first_index + scan.entries.size();
      if (e.index != expected) {
        return std::unexpected(
            CorruptAt(path, offset, fmt::format("entry index {}, expected {}", e.index, expected)));
      }
      scan.offsets.push_back(offset);
      scan.entries.push_back(std::move(e));
    }
    offset = r.end;
    scan.valid_bytes = offset;
  }
  return scan;
}

}  // namespace rl::raft
