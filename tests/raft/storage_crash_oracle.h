// Workload operations for the storage tests, and CrashOracle: what a Storage may hold after a
// crash, given the calls made before it (the durability contract of raft/storage.h as a check). A
// test mirrors every call into a MemoryStorage model and reports each one here (completed, or in
// flight when the power failed); Check then judges the state Load recovered. Used by
// fault_storage_test.cc and storage_random_test.cc.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <vector>

#include "raft/memory_storage.h"
#include "raft/storage.h"
#include "tests/raft/storage_test_util.h"

namespace rl::raft::testing {

enum class Call { kAppend, kHardState, kSnapshot, kSync };

// One storage call of a test workload.
struct Op {
  Call call = Call::kSync;
  std::vector<Entry> entries;  // kAppend
  HardState hard_state;        // kHardState
  Snapshot snapshot;           // kSnapshot
};

// Runs `op` on `storage` and on `model`, expecting both to accept it. Returns the first index
// the call replaced (an Append into the log), or 0.
inline Index ApplyOp(Storage& storage, MemoryStorage& model, const Op& op) {
  Index truncated_from = 0;
  switch (op.call) {
    case Call::kAppend:
      if (op.entries.front().index <= model.LastIndex()) truncated_from = op.entries.front().index;
      EXPECT_TRUE(storage.Append(op.entries));
      EXPECT_TRUE(model.Append(op.entries));
      break;
    case Call::kHardState:
      EXPECT_TRUE(storage.SaveHardState(op.hard_state));
      EXPECT_TRUE(model.SaveHardState(op.hard_state));
      break;
    case Call::kSnapshot:
      EXPECT_TRUE(storage.SaveSnapshot(op.snapshot));
      EXPECT_TRUE(model.SaveSnapshot(op.snapshot));
      break;
    case Call::kSync:
      EXPECT_TRUE(storage.Sync());
      break;
  }
  return truncated_from;
}

class CrashOracle {
 public:
  // `start`: the state right after a (re)start, all of it durable.
  explicit CrashOracle(const DurableState& start) { Reset(start); }

  void Reset(const DurableState& start) {
    window_ = {start};
    floor_ = start.entries;
    snapshot_done_ = start.snapshot;
    snapshot_in_flight_.reset();
    hard_synced_ = start.hard_state;
    hard_in_flight_.reset();
  }

  // A call returned (in_flight false) or the power failed inside it (true). `model` is the model's
  // state after the call; `truncated_from` the first index an Append replaced (0: none).
  void Record(Call call, const DurableState& model, Index truncated_from, bool in_flight) {
    if (truncated_from != 0) {
      // The removal is durable as soon as it happens: the floor shrinks even if the call did not
      // finish.
      std::erase_if(floor_, [&](const Entry& e) { return e.index >= truncated_from; });
    }
    if (call == Call::kSync && !in_flight) {
      window_ = {model};
      floor_ = model.entries;
      hard_synced_ = model.hard_state;
      return;
    }
    if (truncated_from != 0 && !in_flight) {
      // The removed suffix must never come back: no earlier log is a candidate any more.
      window_.clear();
    }
    window_.push_back(model);
    if (call == Call::kSnapshot) {
      (in_flight ? snapshot_in_flight_ : snapshot_done_) = std::optional(model.snapshot);
    }
    if (call == Call::kSync) hard_in_flight_ = model.hard_state;
  }

  ::testing::AssertionResult Check(const DurableState& got) const {
    auto fail = [&](const char* what) {
      return ::testing::AssertionFailure() << what << "\n  recovered: " << Describe(got);
    };
    if (!(got.snapshot == *snapshot_done_ ||
          (snapshot_in_flight_ && got.snapshot == *snapshot_in_flight_))) {
      return fail("snapshot is neither the last saved one nor the one in flight");
    }
    if (!(got.hard_state == hard_synced_ ||
          (hard_in_flight_ && got.hard_state == *hard_in_flight_))) {
      return fail("hard state is neither the last synced one nor the one in flight");
    }
    const SnapshotMeta& snap = got.snapshot.meta;
    Index last = got.entries.empty() ? snap.index : got.entries.back().index;
    if (got.hard_state.commit > last) return fail("commit index past the recovered log");
    // Everything synced and not removed since must be there.
    if (!IsPrefix(Attach(floor_, snap), got.entries)) {
      return fail("lost entries that were synced");
    }
    // And nothing may appear that the log did not hold at some moment since the last sync.
    for (const DurableState& m : window_) {
      if (IsPrefix(got.entries, Attach(m.entries, snap))) return ::testing::AssertionSuccess();
    }
    return fail("log is not a prefix of any log held since the last sync");
  }

 private:
  // The part of `log` that follows `snap`, as Load would keep it.
  static std::vector<Entry> Attach(const std::vector<Entry>& log, const SnapshotMeta& snap) {
    if (log.empty() || log.back().index <= snap.index) return {};
    const Index first = log.front().index;
    if (first > snap.index + 1) return {};
    if (first <= snap.index && log[snap.index - first].term != snap.term) return {};
    return std::vector<Entry>(log.begin() + static_cast<ptrdiff_t>(snap.index + 1 - first),
                              log.end());
  }
  static bool IsPrefix(const std::vector<Entry>& a, const std::vector<Entry>& b) {
    return a.size() <= b.size() && std::equal(a.begin(), a.end(), b.begin());
  }

  std::vector<DurableState> window_;  // model states since the last completed Sync
  std::vector<Entry> floor_;          // synced and not removed since
  std::optional<Snapshot> snapshot_done_;
  std::optional<Snapshot> snapshot_in_flight_;
  HardState hard_synced_;
  std::optional<HardState> hard_in_flight_;
};

}  // namespace rl::raft::testing
