// Binary encodings of Raft messages, log entries and membership changes, for the transport and
// for storage. Every top-level encoding starts with a version byte; decoders treat their input as
// untrusted and reject anything malformed (truncated, trailing bytes, unknown version or type,
// absurd lengths) with an error instead of crashing.
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

#include "raft/conf_change.h"
#include "raft/message.h"
#include "raft/types.h"

namespace rl::raft {

constexpr uint8_t kCodecVersion = 1;

// Integers are LEB128 varints, strings and lists are length-prefixed; see codec.cc.
std::string EncodeMessage(const Message& message);
std::expected<Message, std::string> DecodeMessage(std::string_view bytes);

std::string EncodeEntry(const Entry& entry);
std::expected<Entry, std::string> DecodeEntry(std::string_view bytes);

std::string EncodeConfChange(const ConfChange& change);
std::expected<ConfChange, std::string> DecodeConfChange(std::string_view bytes);

std::string EncodeSnapshotMeta(const SnapshotMeta& meta);
std::expected<SnapshotMeta, std::string> DecodeSnapshotMeta(std::string_view bytes);

}  // namespace rl::raft
