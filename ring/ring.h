// A consistent-hash ring: an immutable value built from an ordered member list, placing keys
// exactly as twemproxy's ketama / modula / random distributions do. Shared between worker
// threads as std::shared_ptr<const Ring>. Thread safety: const methods are safe concurrently.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ring/hash.h"

namespace rl::ring {

enum class Distribution : uint8_t { kKetama, kModula, kRandom };

std::optional<Distribution> ParseDistribution(std::string_view name);
std::string_view DistributionName(Distribution d);

// One server as it takes part in placement. `identity` is the string hashed onto the ketama
// continuum: the server's name when the YAML gives one, else twemproxy's host:port rule.
struct Member {
  std::string identity;
  uint32_t weight = 1;
};

struct RingOptions {
  HashKind hash = HashKind::kFnv1a_64;
  Distribution distribution = Distribution::kKetama;
  std::string hash_tag;  // empty, or exactly two characters such as "{}"
};

// A half-open arc (from, to] of 32-bit hash values, wrapping at 2^32, whose owner changed.
struct MovedRange {
  uint32_t from_exclusive;
  uint32_t to_inclusive;
  uint32_t old_member;  // index into the old ring's members
  uint32_t new_member;  // index into the new ring's members
};

class Ring {
 public:
  // Builds a ring over `members` in configuration order. REQUIRES: weights > 0.
  static Ring Build(std::vector<Member> members, RingOptions options);

  const std::vector<Member>& members() const { return members_; }
  const RingOptions& options() const { return options_; }

  // The part of `key` that is hashed: the text inside the hash tag when the tag is configured
  // and present (twemproxy's rules), else the whole key.
  std::string_view HashedPart(std::string_view key) const;
  // Index into members() of the server that owns `key`. REQUIRES: !members().empty().
  uint32_t Lookup(std::string_view key) const;
  // Index of the owner of a hash value (what Lookup does after hashing).
  uint32_t LookupHash(uint32_t hash) const;

 private:
  // Implementation-defined state (continuum points etc.) is added by ring/ring.cc.
  std::vector<Member> members_;
  RingOptions options_;
};

// The arcs whose owner (by identity) differs between two rings over the same hash function.
std::vector<MovedRange> Diff(const Ring& old_ring, const Ring& new_ring);

}  // namespace rl::ring
