// Ring construction and key placement (hash tags, the empty key, the three distributions).
// The ketama continuum itself is built in ketama.cc, Diff lives in diff.cc.
#include "ring/ring.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "ring/hash_functions.h"

namespace rl::ring {
namespace {

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "rl::ring: broken invariant: %s\n", what);
  std::abort();
}

// What Build requires of its input, or "" when it holds.
std::string ShapeError(const std::vector<Member>& members, const RingOptions& options) {
  if (!options.hash_tag.empty() && options.hash_tag.size() != 2) {
    return "hash_tag must be empty or two bytes";
  }
  if (members.size() >= kAnyMember) return "too many members";
  uint64_t total_weight = 0;
  for (const Member& m : members) {
    if (m.weight == 0) return "member '" + m.identity + "' has weight 0";
    total_weight += m.weight;
  }
  if (total_weight > 0xffffffffu) return "total weight must be below 2^32";
  return "";
}

}  // namespace

std::expected<Ring, std::string> Ring::Make(std::vector<Member> members, RingOptions options) {
  if (std::string error = ShapeError(members, options); !error.empty()) {
    return std::unexpected(std::move(error));
  }
  std::vector<std::string_view> identities;
  identities.reserve(members.size());
  for (const Member& m : members) identities.push_back(m.identity);
  std::sort(identities.begin(), identities.end());
  auto dup = std::adjacent_find(identities.begin(), identities.end());
  if (dup != identities.end()) {
    return std::unexpected("two members share the identity '" + std::string(*dup) + "'");
  }
  return Build(std::move(members), std::move(options));
}

Ring Ring::Build(std::vector<Member> members, RingOptions options) {
  if (std::string error = ShapeError(members, options); !error.empty()) Die(error.c_str());

  Ring ring(std::move(members), std::move(options));
  ring.order_.resize(ring.members_.size());
  for (uint32_t i = 0; i < ring.order_.size(); ++i) ring.order_[i] = i;
  // nc_conf.c conf_validate_server qsorts the servers by name; glibc's qsort is stable.
  std::stable_sort(ring.order_.begin(), ring.order_.end(), [&ring](uint32_t a, uint32_t b) {
    return TwemproxyLess(ring.members_[a].identity, ring.members_[b].identity);
  });
  if (ring.members_.empty()) return ring;
  if (ring.options_.distribution == Distribution::kKetama) {
    ring.BuildKetama();
  } else {
    ring.BuildSlots();
  }
  return ring;
}

void Ring::BuildSlots() {
  // twemproxy's modula continuum has one entry per unit of weight, in server order, and
  // dispatches on hash % entries; random has one entry per server. Storing where each server's
  // run of entries ends gives the same answer without materialising the entries.
  uint32_t end = 0;
  slot_ends_.reserve(members_.size());
  for (uint32_t i : order_) {
    end += options_.distribution == Distribution::kModula ? members_[i].weight : 1;
    slot_ends_.push_back(end);
  }
}

bool TwemproxyLess(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return a.size() < b.size();
  for (size_t i = 0; i < a.size(); ++i) {
    const auto ca = static_cast<unsigned char>(a[i]);
    const auto cb = static_cast<unsigned char>(b[i]);
    if (ca != cb) return ca < cb;
    if (ca == 0) return false;  // strncmp stops at the terminator
  }
  return false;
}

std::string_view Ring::HashedPart(std::string_view key) const {
  // nc_server.c server_pool_idx: the first tag[0], then the first tag[1] after it; the tag is
  // used only when something lies between them.
  if (options_.hash_tag.size() != 2) return key;
  const size_t start = key.find(options_.hash_tag[0]);
  if (start == std::string_view::npos) return key;
  const size_t end = key.find(options_.hash_tag[1], start + 1);
  if (end == std::string_view::npos || end - start <= 1) return key;
  return key.substr(start + 1, end - start - 1);
}

uint32_t Ring::KeyHash(std::string_view key) const {
  const std::string_view part = HashedPart(key);
  // twemproxy's server_pool_hash returns 0 for an empty key without calling the hash.
  if (part.empty()) return 0;
  return Hash(options_.hash, part);
}

uint32_t Ring::Lookup(std::string_view key) const {
  if (members_.size() == 1) return 0;  // twemproxy skips hashing for one-server pools
  return LookupHash(KeyHash(key));
}

void Ring::LookupMany(std::span<const std::string_view> keys, std::span<uint32_t> owners) const {
  if (keys.size() != owners.size()) Die("LookupMany: as many owners as keys");
  if (members_.size() == 1) {  // as Lookup: no hashing for one-server pools
    std::fill(owners.begin(), owners.end(), 0u);
    return;
  }
  size_t i = 0;
  auto* hash_four = options_.hash == HashKind::kFnv1a_64   ? internal::HashFnv1a_64Four
                    : options_.hash == HashKind::kFnv1a_32 ? internal::HashFnv1a_32Four
                                                           : nullptr;
  if (hash_four != nullptr) {
    for (; i + 4 <= keys.size(); i += 4) {
      std::string_view parts[4];
      for (int j = 0; j < 4; ++j) parts[j] = HashedPart(keys[i + j]);
      uint32_t hashes[4];
      hash_four(parts, hashes);
      // An empty hashed part has hash 0, as in KeyHash.
      for (int j = 0; j < 4; ++j) owners[i + j] = LookupHash(parts[j].empty() ? 0 : hashes[j]);
    }
  }
  for (; i < keys.size(); ++i) owners[i] = LookupHash(KeyHash(keys[i]));
}

uint32_t Ring::LookupHash(uint32_t hash) const {
  if (members_.empty()) Die("lookup on an empty ring");
  switch (options_.distribution) {
    case Distribution::kKetama: {
      // nc_ketama.c ketama_dispatch: the first point >= hash, wrapping past the last point to
      // the first. Every point before bucket_first_[b] is below the bucket (so below hash) and
      // every point from bucket_first_[b + 1] on is above it, so the answer lies in between,
      // or is bucket_first_[b + 1] itself.
      const uint32_t b = hash >> bucket_shift_;
      uint32_t i = bucket_first_[b];
      const uint32_t end = bucket_first_[b + 1];
      const uint32_t* values = point_values_.data();
      if (end - i > 8) {  // a crowded bucket (many equal or close points): binary search
        i = static_cast<uint32_t>(std::lower_bound(values + i, values + end, hash) - values);
      } else {
        // values[end] >= hash (it is above the bucket, or the UINT32_MAX sentinel), so the scan
        // stops by end without a bound check; mostly zero or one step.
        while (values[i] < hash) ++i;
      }
      if (i == point_members_.size()) i = 0;
      return point_members_[i];
    }
    case Distribution::kModula:
    case Distribution::kRandom: {
      const uint32_t slot = hash % slot_ends_.back();
      return order_[std::upper_bound(slot_ends_.begin(), slot_ends_.end(), slot) -
                    slot_ends_.begin()];
    }
  }
  Die("unknown distribution");
}

uint32_t Ring::PickRandom(uint32_t draw) const {
  if (members_.empty()) Die("lookup on an empty ring");
  return order_[draw % static_cast<uint32_t>(members_.size())];
}

}  // namespace rl::ring
