#include "raft/codec.h"

#include <fmt/format.h>

namespace rl::raft {
namespace {

// Layouts (after the version byte):
//   Message:    type u8, flags u8 (1 reject, 2 snapshot present, 4 leader_transfer), from, to,
//               term, log_term, index, commit, reject_hint, context, entry count, entries...,
//               [snapshot]
//   Entry:      term, index, type u8, data
//   Snapshot:   meta, data;  meta: index, term, voter count, voters..., learner count, learners...
//   ConfChange: type u8, node
// Integers are unsigned LEB128 (at most 10 bytes); data is a varint length and the bytes.
constexpr uint8_t kFlagReject = 1;
constexpr uint8_t kFlagSnapshot = 2;
constexpr uint8_t kFlagTransfer = 4;

class Writer {
 public:
  void U8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void Varint(uint64_t v) {
    while (v >= 0x80) {
      U8(static_cast<uint8_t>(v | 0x80));
      v >>= 7;
    }
    U8(static_cast<uint8_t>(v));
  }
  void Bytes(std::string_view s) {
    Varint(s.size());
    out_.append(s);
  }
  void EntryBody(const Entry& e) {
    Varint(e.term);
    Varint(e.index);
    U8(static_cast<uint8_t>(e.type));
    Bytes(e.data);
  }
  void Ids(const std::vector<NodeId>& ids) {
    Varint(ids.size());
    for (NodeId id : ids) Varint(id);
  }
  void Meta(const SnapshotMeta& m) {
    Varint(m.index);
    Varint(m.term);
    Ids(m.conf.voters);
    Ids(m.conf.learners);
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

// Every read checks the remaining length first; the first failure sticks and later reads
// return zeros, so callers check ok() once at the end (or before trusting a count).
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  size_t remaining() const { return in_.size() - pos_; }
  void Fail(std::string why) {
    if (error_.empty()) error_ = fmt::format("{} at byte {}", why, pos_);
  }
  uint8_t U8() {
    if (!ok()) return 0;
    if (remaining() < 1) {
      Fail("truncated");
      return 0;
    }
    return static_cast<uint8_t>(in_[pos_++]);
  }
  uint64_t Varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      uint8_t b = U8();
      if (!ok()) return 0;
      if (shift == 63 && b > 1) {
        Fail("varint overflows 64 bits");
        return 0;
      }
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
    Fail("varint longer than 10 bytes");
    return 0;
  }
  std::string Bytes() {
    uint64_t n = Varint();
    if (!ok()) return {};
    if (n > remaining()) {
      Fail("length exceeds input");
      return {};
    }
    std::string s(in_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  // A count of items each at least `min_item_bytes` long; refuses counts the input cannot hold
  // so a hostile count cannot make us reserve gigabytes.
  uint64_t Count(size_t min_item_bytes) {
    uint64_t n = Varint();
    if (ok() && n > remaining() / min_item_bytes) {
      Fail("count exceeds input");
      return 0;
    }
    return n;
  }
  Entry EntryBody() {
    Entry e;
    e.term = Varint();
    e.index = Varint();
    uint8_t type = U8();
    if (ok() && type > static_cast<uint8_t>(EntryType::kConfChange)) Fail("unknown entry type");
    e.type = static_cast<EntryType>(type);
    e.data = Bytes();
    return e;
  }
  std::vector<NodeId> Ids() {
    std::vector<NodeId> ids(Count(1));
    for (NodeId& id : ids) id = Varint();
    return ids;
  }
  SnapshotMeta Meta() {
    SnapshotMeta m;
    m.index = Varint();
    m.term = Varint();
    m.conf.voters = Ids();
    m.conf.learners = Ids();
    return m;
  }
  void Version() {
    uint8_t v = U8();
    if (ok() && v != kCodecVersion) Fail(fmt::format("unsupported version {}", v));
  }
  void End() {
    if (ok() && remaining() != 0) Fail("trailing bytes");
  }

 private:
  std::string_view in_;
  size_t pos_ = 0;
  std::string error_;
};

template <typename T>
std::expected<T, std::string> Finish(Reader& r, T value) {
  r.End();
  if (!r.ok()) return std::unexpected(r.error());
  return value;
}

}  // namespace

std::string EncodeMessage(const Message& m) {
  Writer w;
  w.U8(kCodecVersion);
  w.U8(static_cast<uint8_t>(m.type));
  w.U8((m.reject ? kFlagReject : 0) | (m.snapshot ? kFlagSnapshot : 0) |
       (m.leader_transfer ? kFlagTransfer : 0));
  for (uint64_t v :
       {m.from, m.to, m.term, m.log_term, m.index, m.commit, m.reject_hint, m.context}) {
    w.Varint(v);
  }
  w.Varint(m.entries.size());
  for (const Entry& e : m.entries) w.EntryBody(e);
  if (m.snapshot) {
    w.Meta(m.snapshot->meta);
    w.Bytes(m.snapshot->data);
  }
  return w.Take();
}

std::expected<Message, std::string> DecodeMessage(std::string_view bytes) {
  Reader r(bytes);
  Message m;
  r.Version();
  uint8_t type = r.U8();
  if (r.ok() && (type == 0 || type > kMaxMessageType)) r.Fail("unknown message type");
  m.type = static_cast<MessageType>(type);
  uint8_t flags = r.U8();
  if (r.ok() && (flags & ~(kFlagReject | kFlagSnapshot | kFlagTransfer)) != 0) {
    r.Fail("unknown flags");
  }
  m.reject = flags & kFlagReject;
  m.leader_transfer = flags & kFlagTransfer;
  for (uint64_t* v :
       {&m.from, &m.to, &m.term, &m.log_term, &m.index, &m.commit, &m.reject_hint, &m.context}) {
    *v = r.Varint();
  }
  uint64_t n = r.Count(4);  // term, index, type, length: one byte each at least
  m.entries.reserve(n);
  for (uint64_t i = 0; i < n && r.ok(); ++i) m.entries.push_back(r.EntryBody());
  if (flags & kFlagSnapshot) {
    Snapshot s;
    s.meta = r.Meta();
    s.data = r.Bytes();
    m.snapshot = std::move(s);
  }
  return Finish(r, std::move(m));
}

std::string EncodeEntry(const Entry& entry) {
  Writer w;
  w.U8(kCodecVersion);
  w.EntryBody(entry);
  return w.Take();
}

std::expected<Entry, std::string> DecodeEntry(std::string_view bytes) {
  Reader r(bytes);
  r.Version();
  Entry e = r.EntryBody();
  return Finish(r, std::move(e));
}

std::string EncodeConfChange(const ConfChange& change) {
  Writer w;
  w.U8(kCodecVersion);
  w.U8(static_cast<uint8_t>(change.type));
  w.Varint(change.node);
  return w.Take();
}

std::expected<ConfChange, std::string> DecodeConfChange(std::string_view bytes) {
  Reader r(bytes);
  r.Version();
  uint8_t type = r.U8();
  if (r.ok() && (type == 0 || type > kMaxConfChangeType)) r.Fail("unknown change type");
  ConfChange c{static_cast<ConfChangeType>(type), r.Varint()};
  return Finish(r, c);
}

std::string EncodeSnapshotMeta(const SnapshotMeta& meta) {
  Writer w;
  w.U8(kCodecVersion);
  w.Meta(meta);
  return w.Take();
}

std::expected<SnapshotMeta, std::string> DecodeSnapshotMeta(std::string_view bytes) {
  Reader r(bytes);
  r.Version();
  SnapshotMeta m = r.Meta();
  return Finish(r, std::move(m));
}

}  // namespace rl::raft
