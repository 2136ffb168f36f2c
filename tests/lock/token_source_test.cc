// Token sources (lock/token_source.h): strictly increasing blocks, one durable write per block of
// tokens, nothing handed out twice across reopen ("crash": the object is dropped between any two
// reserves), corrupt files refused, write failures fail-stop, AdvancePast durable. The random
// test takes its seed from RL_TEST_SEED and prints it.
#include "lock/token_source.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <random>

#include "tests/support/temp_dir.h"
#include "tests/support/test_seed.h"

namespace rl::lock {
namespace {

using Result = std::expected<TokenBlock, Error>;

// Sources here complete before returning; this collects the result.
Result Take(TokenSource& source, uint64_t n) {
  std::optional<Result> out;
  source.Reserve(n, [&out](Result r) { out.emplace(std::move(r)); });
  if (!out) {
    ADD_FAILURE() << "Reserve did not complete";
    std::abort();
  }
  return *out;
}

std::expected<void, Error> Advance(TokenSource& source, uint64_t token) {
  std::optional<std::expected<void, Error>> out;
  source.AdvancePast(token, [&out](std::expected<void, Error> r) { out.emplace(r); });
  if (!out) std::abort();
  return *out;
}

std::unique_ptr<FileTokenSource> Open(const testing::TempDir& dir, uint64_t block = 1000,
                                      int* fsyncs = nullptr) {
  FileTokenSource::Options o;
  o.data_dir = dir.path();
  o.block = block;
  if (fsyncs) o.fsync = [fsyncs](int) { return ++*fsyncs, 0; };
  auto s = FileTokenSource::Open(std::move(o));
  EXPECT_TRUE(s.has_value()) << (s ? "" : s.error().message);
  return s ? std::move(*s) : nullptr;
}

TEST(MemoryTokenSource, CountsFromOne) {
  MemoryTokenSource s;
  EXPECT_EQ(Take(s, 3)->first, 1u);
  EXPECT_EQ(Take(s, 1)->first, 4u);
  ASSERT_TRUE(Advance(s, 100));
  EXPECT_EQ(Take(s, 1)->first, 101u);
  ASSERT_TRUE(Advance(s, 5)) << "advancing below is a no-op";
  EXPECT_EQ(Take(s, 1)->first, 102u);
  EXPECT_EQ(Take(s, 0).error().code, Error::Code::kInvalid);
}

TEST(FileTokenSource, BlocksAreContiguousAndOneWriteCoversABlock) {
  testing::TempDir dir;
  int fsyncs = 0;
  auto s = Open(dir, 100, &fsyncs);
  uint64_t expect = 1;
  for (int i = 0; i < 250; ++i) {
    Result r = Take(*s, 1);
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_EQ(r->first, expect++);
  }
  EXPECT_EQ(s->writes(), 3u) << "ceilings 100, 200, 300";
  EXPECT_EQ(fsyncs, 6) << "file and directory per write";
  EXPECT_EQ(s->ceiling(), 300u);
  Result big = Take(*s, 1000);  // more than one block at once
  ASSERT_TRUE(big.has_value());
  EXPECT_EQ(big->first, 251u);
  EXPECT_EQ(s->ceiling(), 1250u);
  std::ifstream in(dir.File("lock_tokens"));
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "rl-lock-tokens 1 1250");
}

TEST(FileTokenSource, ReopenStartsPastEveryTokenHandedOut) {
  testing::TempDir dir;
  uint64_t last = 0;
  {
    auto s = Open(dir);
    Result r = Take(*s, 5);
    last = r->first + r->count - 1;
  }
  auto s = Open(dir);
  Result r = Take(*s, 1);
  ASSERT_TRUE(r.has_value());
  EXPECT_GT(r->first, last);
  EXPECT_EQ(r->first, 1001u) << "the whole reserved block is skipped";
}

TEST(FileTokenSource, RandomCrashesNeverRepeatAToken) {
  const uint32_t seed = rl::testing::TestSeed();  // printed; $RL_TEST_SEED replays it
  SCOPED_TRACE(fmt::format("RL_TEST_SEED={}", seed));
  std::mt19937_64 rng(seed);
  testing::TempDir dir;
  uint64_t block = 1 + rng() % 50;
  auto s = Open(dir, block);
  uint64_t highest = 0;
  for (int i = 0; i < 2000; ++i) {
    if (rng() % 10 == 0) s = Open(dir, 1 + rng() % 50);  // crash and restart, new block size
    Result r = Take(*s, 1 + rng() % 70);
    ASSERT_TRUE(r.has_value()) << r.error().message;
    ASSERT_GT(r->first, highest) << "step " << i;
    highest = r->first + r->count - 1;
    ASSERT_LE(highest, s->ceiling()) << "handed out past the durable ceiling";
  }
}

TEST(FileTokenSource, CorruptFileIsRefused) {
  for (std::string text : {"", "rl-lock-tokens 1 \n", "rl-lock-tokens 1 12", "tokens 5\n",
                           "rl-lock-tokens 1 -3\n", "rl-lock-tokens 1 007\n"}) {
    testing::TempDir dir;
    dir.Write("lock_tokens", text);
    FileTokenSource::Options o;
    o.data_dir = dir.path();
    auto s = FileTokenSource::Open(std::move(o));
    ASSERT_FALSE(s.has_value()) << "accepted \"" << text << "\"";
    EXPECT_EQ(s.error().code, Error::Code::kStorage);
  }
}

TEST(FileTokenSource, WriteFailureIsFailStop) {
  testing::TempDir dir;
  bool fail = false;
  FileTokenSource::Options o;
  o.data_dir = dir.path();
  o.block = 10;
  o.fsync = [&fail](int) {
    if (fail) errno = EIO;
    return fail ? -1 : 0;
  };
  auto s = std::move(*FileTokenSource::Open(std::move(o)));
  ASSERT_EQ(Take(*s, 10)->first, 1u);
  fail = true;
  Result r = Take(*s, 1);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Error::Code::kStorage);
  EXPECT_NE(r.error().message.find("fsync"), std::string::npos) << r.error().message;
  fail = false;
  EXPECT_FALSE(Take(*s, 1).has_value()) << "stays failed: the ceiling on disk is unknown";
  // A file that cannot be created fails the same way.
  testing::TempDir other;
  ASSERT_EQ(::mkdir(other.File("lock_tokens.tmp").c_str(), 0755), 0);
  auto t = Open(other);
  EXPECT_EQ(Take(*t, 1).error().code, Error::Code::kStorage);
}

TEST(FileTokenSource, AdvancePastIsDurable) {
  testing::TempDir dir;
  {
    auto s = Open(dir, 10);
    ASSERT_EQ(Take(*s, 1)->first, 1u);
    ASSERT_TRUE(Advance(*s, 5000));
    EXPECT_EQ(Take(*s, 1)->first, 5001u);
    EXPECT_EQ(Advance(*s, kMaxToken).error().code, Error::Code::kInvalid);
  }
  auto s = Open(dir, 10);
  EXPECT_GT(Take(*s, 1)->first, 5001u);
}

TEST(FileTokenSource, TokensStopAtTheLargest) {
  testing::TempDir dir;
  auto s = Open(dir);
  ASSERT_TRUE(Advance(*s, kMaxToken - 2));
  EXPECT_EQ(Take(*s, 2)->first, kMaxToken - 1);
  EXPECT_EQ(Take(*s, 1).error().code, Error::Code::kInvalid);
}

}  // namespace
}  // namespace rl::lock
