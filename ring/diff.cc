// Diff: the arcs of the hash circle whose owner changed between two rings. For two ketama rings
// the owner is constant between consecutive points of either continuum, so one merge pass over
// both sorted continua visits every arc once.
#include <algorithm>

#include "ring/ring.h"

namespace rl::ring {
namespace {

bool SamePlacement(const Ring& a, const Ring& b) {
  const RingOptions& oa = a.options();
  const RingOptions& ob = b.options();
  if (oa.distribution != ob.distribution || oa.hash != ob.hash || oa.hash_tag != ob.hash_tag) {
    return false;
  }
  if (a.members().size() != b.members().size()) return false;
  for (size_t i = 0; i < a.members().size(); ++i) {
    const Member& ma = a.members()[a.twemproxy_order()[i]];
    const Member& mb = b.members()[b.twemproxy_order()[i]];
    if (ma.identity != mb.identity) return false;
    if (oa.distribution != Distribution::kRandom && ma.weight != mb.weight) return false;
  }
  return true;
}

std::vector<MovedRange> DiffKetama(const Ring& old_ring, const Ring& new_ring) {
  const auto ov = old_ring.point_values();
  const auto om = old_ring.point_members();
  const auto nv = new_ring.point_values();
  const auto nm = new_ring.point_members();

  // Walk the union of point values in increasing order. For a boundary b, the owner of the arc
  // (previous boundary, b] in a ring is the member of that ring's first point >= b (or of its
  // first point when there is none); i and j track those positions.
  struct Arc {
    uint32_t to;
    uint32_t old_member;
    uint32_t new_member;
  };
  std::vector<Arc> arcs;
  size_t i = 0, j = 0;
  while (i < ov.size() || j < nv.size()) {
    uint32_t b;
    if (j == nv.size() || (i < ov.size() && ov[i] <= nv[j])) {
      b = ov[i];
    } else {
      b = nv[j];
    }
    const uint32_t o = om[i == ov.size() ? 0 : i];
    const uint32_t n = nm[j == nv.size() ? 0 : j];
    if (!arcs.empty() && arcs.back().old_member == o && arcs.back().new_member == n) {
      arcs.back().to = b;  // same owners: extend the previous arc
    } else {
      arcs.push_back({b, o, n});
    }
    while (i < ov.size() && ov[i] == b) ++i;
    while (j < nv.size() && nv[j] == b) ++j;
  }
  // Arc k > 0 is (arcs[k-1].to, arcs[k].to]; arc 0 wraps through 0: (arcs.back().to,
  // arcs[0].to]. When the last arc has arc 0's owners the two are one arc across the wrap.
  // A single arc is (b, b]: the whole circle.
  auto changed = [&](const Arc& a) {
    return old_ring.members()[a.old_member].identity != new_ring.members()[a.new_member].identity;
  };
  size_t stop = arcs.size();
  if (arcs.size() > 2 && arcs.front().old_member == arcs.back().old_member &&
      arcs.front().new_member == arcs.back().new_member) {
    --stop;  // arcs.back() is folded into the wrapping arc
  }
  std::vector<MovedRange> out;
  for (size_t k = 1; k < stop; ++k) {
    if (changed(arcs[k])) {
      out.push_back({arcs[k - 1].to, arcs[k].to, arcs[k].old_member, arcs[k].new_member});
    }
  }
  const Arc& first = arcs.front();
  if (changed(first)) {
    out.push_back({arcs[stop - 1].to, first.to, first.old_member, first.new_member});
  }
  return out;
}

}  // namespace

std::vector<MovedRange> Diff(const Ring& old_ring, const Ring& new_ring) {
  if (old_ring.members().empty() || new_ring.members().empty()) return {};
  const bool both_ketama = old_ring.options().distribution == Distribution::kKetama &&
                           new_ring.options().distribution == Distribution::kKetama &&
                           old_ring.options().hash == new_ring.options().hash &&
                           old_ring.options().hash_tag == new_ring.options().hash_tag;
  if (both_ketama) return DiffKetama(old_ring, new_ring);
  if (SamePlacement(old_ring, new_ring)) return {};
  return {{0, 0, kAnyMember, kAnyMember}};
}

}  // namespace rl::ring
