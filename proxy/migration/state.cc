// Phase transitions and the versioned encodings of the migration state and checkpoint.
#include "proxy/migration/state.h"

#include <string>

namespace rl::migration {
namespace {

constexpr uint8_t kStateVersion = 1;
constexpr uint8_t kCheckpointVersion = 1;

std::unexpected<StateError> Fail(std::string message) {
  return std::unexpected(StateError{std::move(message)});
}

class Writer {
 public:
  void U64(uint64_t v) {
    for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  void U8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void Str(std::string_view s) {
    U64(s.size());
    out_.append(s);
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

// Reads what Writer wrote; every read past the end sets failed() instead of reading garbage.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  uint64_t U64() {
    if (in_.size() < 8) return Fail0();
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= uint64_t{static_cast<uint8_t>(in_[i])} << (8 * i);
    in_.remove_prefix(8);
    return v;
  }
  uint8_t U8() {
    if (in_.empty()) return static_cast<uint8_t>(Fail0());
    uint8_t v = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return v;
  }
  std::string Str() {
    uint64_t n = U64();
    if (failed_ || n > in_.size()) {
      failed_ = true;
      return {};
    }
    std::string s(in_.substr(0, n));
    in_.remove_prefix(n);
    return s;
  }
  bool failed() const { return failed_; }
  bool at_end() const { return in_.empty(); }

 private:
  uint64_t Fail0() {
    failed_ = true;
    return 0;
  }
  std::string_view in_;
  bool failed_ = false;
};

}  // namespace

std::string_view PhaseName(Phase phase) {
  switch (phase) {
    case Phase::kStable:
      return "stable";
    case Phase::kPrepare:
      return "prepare";
    case Phase::kMigrating:
      return "migrating";
    case Phase::kCleanup:
      return "cleanup";
  }
  return "unknown";
}

std::expected<MigrationState, StateError> BeginChange(const MigrationState& s, uint64_t from_epoch,
                                                      uint64_t new_topology) {
  if (s.phase != Phase::kStable) {
    return Fail("a change of epoch " + std::to_string(s.target_epoch) + " is in phase " +
                std::string(PhaseName(s.phase)));
  }
  if (s.epoch != from_epoch) {
    return Fail("computed from epoch " + std::to_string(from_epoch) + " but the current epoch is " +
                std::to_string(s.epoch));
  }
  MigrationState next = s;
  next.phase = Phase::kPrepare;
  next.target_epoch = s.epoch + 1;
  next.target_topology = new_topology;
  next.fenced = false;
  next.abort = false;
  return next;
}

std::expected<MigrationState, StateError> MarkFenced(const MigrationState& s) {
  if (s.phase != Phase::kPrepare) return Fail("fencing outside PREPARE");
  MigrationState next = s;
  next.fenced = true;
  return next;
}

std::expected<MigrationState, StateError> Advance(const MigrationState& s, bool verified) {
  MigrationState next = s;
  switch (s.phase) {
    case Phase::kStable:
      return Fail("no change in progress");
    case Phase::kPrepare:
      if (!s.fenced) return Fail("epoch " + std::to_string(s.epoch) + " is not fenced yet");
      next.phase = Phase::kMigrating;
      return next;
    case Phase::kMigrating:
      if (!verified) return Fail("the verify pass has not found the sources empty");
      next.phase = Phase::kCleanup;
      return next;
    case Phase::kCleanup:
      next = MigrationState{};
      next.epoch = s.target_epoch;
      next.topology = s.target_topology;
      return next;
  }
  return Fail("unknown phase");
}

std::expected<MigrationState, StateError> Abort(const MigrationState& s) {
  if (s.phase != Phase::kPrepare && s.phase != Phase::kMigrating) {
    return Fail("cannot abort in phase " + std::string(PhaseName(s.phase)));
  }
  MigrationState next;
  next.phase = Phase::kPrepare;
  next.epoch = s.target_epoch;
  next.topology = s.target_topology;
  next.target_epoch = s.target_epoch + 1;
  next.target_topology = s.topology;
  next.abort = true;
  return next;
}

std::string EncodeState(const MigrationState& s) {
  Writer w;
  w.U8(kStateVersion);
  w.U8(static_cast<uint8_t>(s.phase));
  w.U64(s.epoch);
  w.U64(s.topology);
  w.U64(s.target_epoch);
  w.U64(s.target_topology);
  w.U8(static_cast<uint8_t>((s.fenced ? 1 : 0) | (s.abort ? 2 : 0)));
  return w.Take();
}

std::expected<MigrationState, StateError> DecodeState(std::string_view bytes) {
  Reader r(bytes);
  if (r.U8() != kStateVersion) return Fail("unknown migration state version");
  MigrationState s;
  uint8_t phase = r.U8();
  if (phase > static_cast<uint8_t>(Phase::kCleanup)) return Fail("bad phase");
  s.phase = static_cast<Phase>(phase);
  s.epoch = r.U64();
  s.topology = r.U64();
  s.target_epoch = r.U64();
  s.target_topology = r.U64();
  uint8_t flags = r.U8();
  if (flags > 3) return Fail("bad flags");
  s.fenced = (flags & 1) != 0;
  s.abort = (flags & 2) != 0;
  if (r.failed() || !r.at_end()) return Fail("truncated or oversized migration state");
  return s;
}

std::string EncodeCheckpoint(const Checkpoint& c) {
  Writer w;
  w.U8(kCheckpointVersion);
  w.U64(c.epoch);
  w.U64(c.verify_round);
  w.U64(c.found_in_round);
  w.U8(c.verified ? 1 : 0);
  w.U64(c.next_token);
  w.U64(c.keys_scanned);
  w.U64(c.keys_moved);
  w.U64(c.bytes_moved);
  w.U64(c.sources.size());
  for (const SourceProgress& p : c.sources) {
    w.U64(p.server);
    w.U64(p.cursor);
    w.U8(static_cast<uint8_t>((p.done ? 1 : 0) | (p.in_flight ? 2 : 0)));
    if (p.in_flight) {
      w.Str(p.in_flight->key);
      w.U64(p.in_flight->target);
      w.Str(p.in_flight->token);
    }
  }
  return w.Take();
}

std::expected<Checkpoint, StateError> DecodeCheckpoint(std::string_view bytes) {
  Reader r(bytes);
  if (r.U8() != kCheckpointVersion) return Fail("unknown checkpoint version");
  Checkpoint c;
  c.epoch = r.U64();
  c.verify_round = static_cast<uint32_t>(r.U64());
  c.found_in_round = r.U64();
  c.verified = r.U8() != 0;
  c.next_token = r.U64();
  c.keys_scanned = r.U64();
  c.keys_moved = r.U64();
  c.bytes_moved = r.U64();
  uint64_t n = r.U64();
  if (r.failed() || n > bytes.size()) return Fail("bad source count");
  for (uint64_t i = 0; i < n && !r.failed(); ++i) {
    SourceProgress p;
    p.server = static_cast<ServerId>(r.U64());
    p.cursor = r.U64();
    uint8_t flags = r.U8();
    if (flags > 3) return Fail("bad source flags");
    p.done = (flags & 1) != 0;
    if ((flags & 2) != 0) {
      InFlight f;
      f.key = r.Str();
      f.target = static_cast<ServerId>(r.U64());
      f.token = r.Str();
      p.in_flight = std::move(f);
    }
    c.sources.push_back(std::move(p));
  }
  if (r.failed() || !r.at_end()) return Fail("truncated or oversized checkpoint");
  return c;
}

}  // namespace rl::migration
