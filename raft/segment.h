// The bytes raft/ storage puts on disk: CRC-framed records, the log segment files made of them
// (named by their first index), and the one-record hard state and snapshot files. Used by
// raft/file_storage*.cc and by tests that damage files on purpose. Thread safety: pure functions.
//
// Record: header_crc u32 | length u32 | type u8 | payload_crc u32 | payload (length bytes),
// integers little-endian, CRC-32C; header_crc covers length, type and payload_crc, so a damaged
// length is told apart from a record a crash cut short.
// Segment: a kSegmentHeader record (magic, version, first index), then kEntry records whose
// indices run first, first+1, ... Hard state / snapshot files: exactly one record.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "raft/storage.h"

namespace rl::raft {

enum class RecordType : uint8_t {
  kSegmentHeader = 1,
  kEntry = 2,
  kHardState = 3,
  kSnapshot = 4,
};

inline constexpr size_t kRecordHeaderBytes = 13;
inline constexpr uint8_t kFormatVersion = 1;
// Bounds that keep every record's length within its u32 field with room to spare.
inline constexpr size_t kMaxEntryDataBytes = size_t{1} << 30;
inline constexpr size_t kMaxSnapshotDataBytes = (size_t{1} << 32) - (size_t{1} << 20);

// Appends one framed record to `out`.
void AppendRecord(std::string* out, RecordType type, std::string_view payload);
void AppendSegmentHeader(std::string* out, Index first_index);
void AppendEntryRecord(std::string* out, const Entry& entry);

std::string EncodeHardStateFile(const HardState& state);
std::string EncodeSnapshotFile(const Snapshot& snapshot);
// Decode a whole hard state / snapshot file. On failure returns kCorruption naming `path`.
StorageResult<HardState> DecodeHardStateFile(std::string_view bytes, const std::string& path);
StorageResult<Snapshot> DecodeSnapshotFile(std::string_view bytes, const std::string& path);

// "00000000000000000042.log" for first index 42; ParseSegmentName inverts it (nullopt for any
// other name).
std::string SegmentName(Index first_index);
std::optional<Index> ParseSegmentName(std::string_view name);

struct SegmentScan {
  bool has_header = false;        // false: no complete header record (a torn new segment)
  std::vector<Entry> entries;     // in index order, starting at the segment's first index
  std::vector<uint64_t> offsets;  // offsets[k]: file offset of entries[k]'s record
  uint64_t valid_bytes = 0;       // end of the last good record
  std::string torn;               // non-empty: why the bytes after valid_bytes were cut off
};

// Parses the segment file `path` holding `bytes`, whose name says it starts at `first_index`.
// A damaged tail (the file ends inside a record, or nothing but zero bytes follows the damaged
// header or payload: a bad CRC on the record that ends the file) is reported in `torn` when `last`
// is true (the last segment, where a crash can leave one); any other damage, or damage in a segment
// that is not the last, is kCorruption naming the file and the offset.
StorageResult<SegmentScan> ScanSegment(std::string_view bytes, Index first_index, bool last,
                                       const std::string& path);

}  // namespace rl::raft
