// Helpers shared by the raft/ storage tests: entry and snapshot builders, state comparison, and
// raw file access for tests that damage files on purpose.
#pragma once

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "raft/storage.h"
#include "raft/storage_fs.h"

namespace rl::raft::testing {

// The real file system with fsync turned into a no-op. Tests of formats, damage and restarts of
// the process use it: they are about what the code writes and reads back, not about the kernel's
// durability (power loss is the simulated disk's business, see fault_storage_test.cc), and real
// fsyncs on a shared CI disk would make them slow. The round trip and fsync-failure tests use the
// real fsync.
inline Fs* NoSyncFs() {
  static PosixFs* fs = new PosixFs([](int) { return 0; });
  return fs;
}

// `n` entries from `first`, all of `term`; data differs per index and `salt`, with varied sizes.
inline std::vector<Entry> MakeEntries(Index first, size_t n, Term term, uint64_t salt = 0) {
  std::vector<Entry> out;
  for (size_t k = 0; k < n; ++k) {
    Entry e;
    e.index = first + k;
    e.term = term;
    e.type = (e.index + salt) % 7 == 3 ? EntryType::kConfChange : EntryType::kNormal;
    e.data = fmt::format("entry-{}-term-{}-salt-{}-", e.index, term, salt);
    e.data.append((e.index * 13 + salt) % 40, static_cast<char>('a' + (e.index + salt) % 26));
    out.push_back(std::move(e));
  }
  return out;
}

inline Snapshot MakeSnapshot(Index index, Term term, std::string data = "state") {
  Snapshot s;
  s.meta.index = index;
  s.meta.term = term;
  s.meta.conf.voters = {1, 2, 3};
  s.meta.conf.learners = {7};
  s.data = std::move(data);
  return s;
}

inline std::string Describe(const DurableState& s) {
  std::string out =
      fmt::format("hard(term={} vote={} commit={}) snapshot(index={} term={} {}B) log[",
                  s.hard_state.term, s.hard_state.vote, s.hard_state.commit, s.snapshot.meta.index,
                  s.snapshot.meta.term, s.snapshot.data.size());
  for (const Entry& e : s.entries) out += fmt::format(" {}@{}", e.index, e.term);
  return out + " ]";
}

// Equal hard state, snapshot and entries (warnings are not compared).
inline ::testing::AssertionResult SameState(const DurableState& got, const DurableState& want) {
  if (got.hard_state == want.hard_state && got.snapshot == want.snapshot &&
      got.entries == want.entries) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "\n  got:  " << Describe(got) << "\n  want: " << Describe(want);
}

inline std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  if (!out) {
    ADD_FAILURE() << "cannot write " << path;
  }
}

}  // namespace rl::raft::testing
