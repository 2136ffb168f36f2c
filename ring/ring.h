// A consistent-hash ring: an immutable value built from an ordered member list, placing keys
// exactly as twemproxy's ketama / modula / random distributions do. Shared between worker
// threads as std::shared_ptr<const Ring>. Thread safety: const methods are safe concurrently.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ring/hash.h"

namespace rl::ring {

enum class Distribution : uint8_t { kKetama, kModula, kRandom };

// "ketama", "modula" or "random" (exact, as in nutcracker's YAML); nullopt if unknown.
std::optional<Distribution> ParseDistribution(std::string_view name);
std::string_view DistributionName(Distribution d);

// The string twemproxy hashes onto the ketama continuum for one `servers:` entry
// (nc_conf.c conf_add_server), for conf/ to store in Member::identity:
//   - the entry's name, when it has one ("host:port:weight name" -> "name");
//   - else, for a unix socket "/path:weight", the path followed by ':' ("/path:"), because
//     twemproxy takes the address plus one more byte even though there is no port;
//   - else "host:port" exactly as written, except that port 11211 is left out ("host"), for
//     compatibility with libmemcached's ketama.
// `host` is the address text as written (no resolution: "localhost" and "127.0.0.1" differ).
std::string ServerIdentity(std::string_view name, std::string_view host, uint16_t port);
// The same with the port as written in the YAML: twemproxy hashes the text, so "06379" and
// "6379" give different identities (both are port 6379; "011211" still counts as 11211).
std::string ServerIdentityFromText(std::string_view name, std::string_view host,
                                   std::string_view port_text);

// One server as it takes part in placement. `identity` is the string hashed onto the ketama
// continuum: the server's name when the YAML gives one, else twemproxy's host:port rule
// (see ServerIdentity).
struct Member {
  std::string identity;
  uint32_t weight = 1;
};

struct RingOptions {
  HashKind hash = HashKind::kFnv1a_64;
  Distribution distribution = Distribution::kKetama;
  std::string hash_tag;  // empty, or exactly two characters such as "{}"
};

// Stands for "some member, depending on the key" in a MovedRange (see Diff).
inline constexpr uint32_t kAnyMember = 0xffffffff;

// A half-open arc (from, to] of 32-bit hash values, wrapping at 2^32, whose owner changed.
// from_exclusive == to_inclusive denotes the whole circle.
struct MovedRange {
  uint32_t from_exclusive;
  uint32_t to_inclusive;
  uint32_t old_member;  // index into the old ring's members, or kAnyMember
  uint32_t new_member;  // index into the new ring's members, or kAnyMember

  bool full_circle() const { return from_exclusive == to_inclusive; }
  // True when `hash` lies on the arc.
  bool Contains(uint32_t hash) const {
    if (full_circle()) return true;
    // Distance travelled clockwise from `from_exclusive`, modulo 2^32.
    return hash - from_exclusive - 1u < to_inclusive - from_exclusive;
  }
  friend bool operator==(const MovedRange&, const MovedRange&) = default;
};

// twemproxy's server order (nc_string.c string_compare): shorter identities first, equal
// lengths compared like strncmp (unsigned bytes, stopping at a NUL byte).
bool TwemproxyLess(std::string_view a, std::string_view b);

// twemproxy's number of ketama points for a server of `weight` out of `total_weight` among
// `server_count` servers, computed in single precision exactly as nc_ketama.c does:
// floorf(weight/total * 160/4 * server_count + 1e-10) * 4. A multiple of 4; may be 0.
uint32_t KetamaPointsPerServer(uint32_t weight, uint32_t total_weight, uint32_t server_count);

class Ring {
 public:
  // Builds a ring over `members`, given in configuration order; Lookup returns indices into
  // that order. Like twemproxy, placement itself uses the members sorted by TwemproxyLess on
  // their identities (nutcracker sorts each pool's servers that way to find duplicates and
  // keeps the sorted order), so reordering the YAML moves no key; that order decides modula
  // slots and ties between equal ketama points.
  // REQUIRES: every weight > 0, the weights sum below 2^32, options.hash_tag is empty or two
  // bytes. Identities should be distinct (nutcracker rejects duplicates; conf/ must too).
  // A ring may be empty (then Lookup must not be called).
  // Emulating auto_eject_hosts: build over the live members only and map the indices back;
  // twemproxy's continuum depends on the live servers only.
  static Ring Build(std::vector<Member> members, RingOptions options);
  // Build for input that was not validated (it may arrive over the network): on success the
  // same ring; on failure a message saying what is wrong (a zero weight, weights summing to
  // 2^32 or more, a hash tag that is not two bytes, two members with one identity), and no
  // abort.
  static std::expected<Ring, std::string> Make(std::vector<Member> members, RingOptions options);

  const std::vector<Member>& members() const { return members_; }
  const RingOptions& options() const { return options_; }

  // The part of `key` that is hashed: with a hash tag "ab" configured, the bytes between the
  // first 'a' and the first 'b' after it, when both exist and that part is not empty; in every
  // other case (no tag configured, no 'a', no 'b' after it, "ab" adjacent) the whole key.
  std::string_view HashedPart(std::string_view key) const;
  // The hash value the distribution sees: 0 for an empty key (twemproxy never hashes it), else
  // Hash(options().hash, HashedPart(key)).
  uint32_t KeyHash(std::string_view key) const;
  // Index into members() of the server that owns `key`. REQUIRES: !members().empty().
  // For kRandom, twemproxy picks a random server on every request; this overload instead
  // returns KeyHash(key) % members().size(), a deterministic choice that is just as valid for
  // a random pool (callers that want per-request randomness use PickRandom).
  uint32_t Lookup(std::string_view key) const;
  // owners[i] = Lookup(keys[i]) for every key (the same answers), faster than one call per key:
  // with fnv1a_64 or fnv1a_32 the keys are hashed four at a time. For multi-key commands.
  // REQUIRES: owners.size() == keys.size(), !members().empty().
  void LookupMany(std::span<const std::string_view> keys, std::span<uint32_t> owners) const;
  // Index of the owner of a hash value (what Lookup does after hashing).
  // ketama: the first continuum point >= hash, wrapping to the first point; modula: slot
  // hash % total_weight, each member owning `weight` consecutive slots in member order;
  // random: hash % members().size(); slots and continuum follow twemproxy_order(). REQUIRES:
  // !members().empty().
  uint32_t LookupHash(uint32_t hash) const;
  // twemproxy's random distribution: position `draw % members().size()` in twemproxy_order(),
  // weights ignored; `draw` comes from the caller's (seeded) generator. REQUIRES:
  // !members().empty().
  uint32_t PickRandom(uint32_t draw) const;

  // Member indices in twemproxy's server order (see Build).
  std::span<const uint32_t> twemproxy_order() const { return order_; }

  // The sorted ketama continuum: point i has value point_values()[i] and belongs to member
  // point_members()[i]. Empty for modula and random rings.
  std::span<const uint32_t> point_values() const {
    return {point_values_.data(), point_members_.size()};
  }
  std::span<const uint32_t> point_members() const { return point_members_; }

 private:
  Ring(std::vector<Member> members, RingOptions options)
      : members_(std::move(members)), options_(std::move(options)) {}
  void BuildKetama();
  void BuildBuckets();
  void BuildSlots();

  std::vector<Member> members_;
  RingOptions options_;
  // Followed by one sentinel, UINT32_MAX (not part of point_values()), so that LookupHash's scan
  // needs no bound check.
  std::vector<uint32_t> point_values_;
  std::vector<uint32_t> point_members_;
  // ketama lookup index: bucket b covers hashes [b << bucket_shift_, (b + 1) << bucket_shift_)
  // and bucket_first_[b] is the first point >= the bucket's start (bucket_first_ has one more
  // entry, the point count). With about two buckets per point, the first point >= a hash is
  // found by scanning zero or one points instead of a binary search (same answer, ties included).
  std::vector<uint32_t> bucket_first_;
  uint32_t bucket_shift_ = 32;
  // Member indices sorted into twemproxy's server order.
  std::vector<uint32_t> order_;
  // modula: slot_ends_[k] is the first slot after the weight-many slots of member order_[k];
  // random: k + 1.
  std::vector<uint32_t> slot_ends_;
};

// The arcs of the hash circle whose owner (compared by identity) differs between two rings.
// ketama -> ketama with the same hash and hash tag: exact, computed by merging the continua;
// adjacent arcs with the same (old, new) owners are merged; sorted by to_inclusive, except that
// an arc wrapping past 2^32 comes last.
// Anything else (modula, random, a change of distribution, hash or hash tag): no ranges when
// the two rings place every hash identically (same distribution, hash and tag, and in
// twemproxy_order() the same identities and, for modula, weights); otherwise one full-circle range
// with kAnyMember on both sides — modula ownership is periodic in the hash, not a few arcs, so the
// migrator must check every key with Lookup on both rings. A member whose identity is unchanged but
// whose address changed is not reported (the caller compares addresses). If either ring is empty
// there is nothing to move: no ranges.
std::vector<MovedRange> Diff(const Ring& old_ring, const Ring& new_ring);

}  // namespace rl::ring
