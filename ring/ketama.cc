// The ketama continuum, built as twemproxy's nc_ketama.c builds it: points per server from the
// weights in single precision, four points per MD5 digest of "identity-i", sorted by value.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "ring/md5.h"
#include "ring/ring.h"

namespace rl::ring {
namespace {

constexpr uint32_t kPointsPerServer = 160;  // 40 digests of 4 points each
constexpr uint32_t kPointsPerHash = 4;
// twemproxy (0.5.0) formats "identity-i" into a 273-byte buffer and hashes the bytes actually
// written, so "identity-i" is cut to its first 272 bytes. Measured against Debian's nutcracker
// 0.5.0 by nutcracker_diff_test (names of 83, 270 and 300 bytes); some other twemproxy
// revisions use an 86-byte buffer instead.
constexpr size_t kMaxHostLen = 273;

// The bytes twemproxy hashes for point group `index` of `identity`.
std::string PointName(std::string_view identity, uint32_t index) {
  std::string name(identity);
  name += '-';
  name += std::to_string(index);
  if (name.size() >= kMaxHostLen) name.resize(kMaxHostLen - 1);
  return name;
}

}  // namespace

uint32_t KetamaPointsPerServer(uint32_t weight, uint32_t total_weight, uint32_t server_count) {
  // Mirrors nc_ketama.c operation by operation: float division, float products, the 1e-10
  // nudge added in double and rounded back to float, floorf, then times 4.
  const float pct = static_cast<float>(weight) / static_cast<float>(total_weight);
  const float scaled =
      pct * static_cast<float>(kPointsPerServer) / 4.0f * static_cast<float>(server_count);
  const auto nudged = static_cast<float>(static_cast<double>(scaled) + 0.0000000001);
  return static_cast<uint32_t>(std::floor(nudged) * static_cast<float>(kPointsPerHash));
}

void Ring::BuildKetama() {
  uint32_t total_weight = 0;
  for (const Member& m : members_) total_weight += m.weight;  // no overflow: checked by Build
  const auto count = static_cast<uint32_t>(members_.size());

  struct Point {
    uint32_t value;
    uint32_t member;
  };
  std::vector<Point> points;
  points.reserve(size_t{count} * kPointsPerServer);
  for (uint32_t i : order_) {  // twemproxy's server order: it decides ties below
    const uint32_t n = KetamaPointsPerServer(members_[i].weight, total_weight, count);
    for (uint32_t group = 0; group < n / kPointsPerHash; ++group) {
      const Md5Digest d = Md5(PointName(members_[i].identity, group));
      for (uint32_t x = 0; x < kPointsPerHash; ++x) {
        const uint8_t* b = d.data() + 4 * x;
        const uint32_t value =
            uint32_t{b[0]} | uint32_t{b[1]} << 8 | uint32_t{b[2]} << 16 | uint32_t{b[3]} << 24;
        points.push_back({value, i});
      }
    }
  }
  // twemproxy sorts with qsort; glibc's qsort (a merge sort, as in Debian 12's glibc 2.36) is
  // stable, so among equal values the point of the earlier server in twemproxy's order comes
  // first and wins the lower-bound search. stable_sort reproduces that.
  std::stable_sort(points.begin(), points.end(),
                   [](const Point& a, const Point& b) { return a.value < b.value; });
  point_values_.reserve(points.size());
  point_members_.reserve(points.size());
  for (const Point& p : points) {
    point_values_.push_back(p.value);
    point_members_.push_back(p.member);
  }
  BuildBuckets();
  point_values_.push_back(UINT32_MAX);  // the sentinel (see ring.h)
}

void Ring::BuildBuckets() {
  // 2 to 4 buckets per point, at most 2^16 buckets (256 KiB) for the largest pools.
  const size_t n = point_values_.size();
  const int bits = std::clamp(static_cast<int>(std::bit_width(n)) + 1, 1, 16);
  bucket_shift_ = static_cast<uint32_t>(32 - bits);
  const size_t buckets = size_t{1} << bits;
  bucket_first_.resize(buckets + 1);
  size_t i = 0;
  for (size_t b = 0; b < buckets; ++b) {
    const uint64_t start = uint64_t{b} << bucket_shift_;
    while (i < n && point_values_[i] < start) ++i;
    bucket_first_[b] = static_cast<uint32_t>(i);
  }
  bucket_first_[buckets] = static_cast<uint32_t>(n);
}

}  // namespace rl::ring
