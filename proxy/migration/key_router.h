// The per-key routing rules of a ring change, as a pure decision: given the phase, the source
// and target rings and a command's class and keys, the plan of backend steps that serves it
// (see README.md for why each rule is safe). Used by the proxy's data path for every keyed
// request of a pool in PREPARE or MIGRATING, and by the migration simulator's clients.
// Thread safety: immutable after construction; share it across a worker's requests.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/migration/backend.h"
#include "proxy/migration/state.h"
#include "ring/ring.h"

namespace rl::migration {

// A ring with the stable id of each of its members (ids[i] names ring.members()[i]).
struct RingView {
  std::shared_ptr<const ring::Ring> ring;
  std::vector<ServerId> ids;

  ServerId Owner(std::string_view key) const { return ids[ring->Lookup(key)]; }
};

// What a command does to its keys, from its command-table row.
enum class CommandClass : uint8_t {
  kRead,    // reads only (GET, HGETALL, PTTL, EXISTS)
  kWrite,   // writes or reads-and-writes (SET, HSET, INCR, EXPIRE, GETDEL)
  kDelete,  // DEL / UNLINK: the reply counts keys removed
};

// One backend step of a plan; the executor runs them in order.
struct Step {
  enum class Op : uint8_t {
    kRun,          // run the command on `server`; its reply is the answer
    kRunIfExists,  // run on `server` if `key` exists there (one script): then that is the
                   // answer; if absent go on with the next step
    kMove,         // move `key` from `server` to `target` (gate, MIGRATE without REPLACE)
    kGatedDelete,  // DEL `key` on `server` unless it is in flight (then wait and retry)
    kDelete,       // DEL `key` on `server`
  };
  Op op = Op::kRun;
  ServerId server = 0;
  ServerId target = 0;
  std::string key;
  friend bool operator==(const Step&, const Step&) = default;
};

struct Plan {
  enum class Kind : uint8_t {
    kSteps,   // run `steps`
    kHold,    // PREPARE: wait until MIGRATING (drained requests must not touch moving keys)
    kRefuse,  // answer `error`
  };
  Kind kind = Kind::kSteps;
  std::vector<Step> steps;
  std::string error;
};

// The error a multi-key command on keys with different owners during a change gets.
inline constexpr std::string_view kCrossOwnerError =
    "CROSSSLOT Keys in request are moving between servers during a ring change; retry after "
    "the migration or use one key per command";

class KeyRouter {
 public:
  // `from` serves in STABLE; during a change `from` is the source ring and `to` the target.
  // `bug` is for the simulator's self-test only.
  KeyRouter(Phase phase, RingView from, RingView to, PlantedBug bug = PlantedBug::kNone);

  // REQUIRES: !keys.empty().
  Plan Route(CommandClass cls, std::span<const std::string_view> keys) const;

  // True when `key` is owned by different servers in the two rings.
  bool Moving(std::string_view key) const;
  Phase phase() const { return phase_; }
  const RingView& from() const { return from_; }
  const RingView& to() const { return to_; }

 private:
  Plan Direct(ServerId server) const;
  Plan RouteMoving(CommandClass cls, std::span<const std::string_view> keys, ServerId a,
                   ServerId b) const;

  Phase phase_;
  RingView from_;
  RingView to_;
  PlantedBug bug_;
};

}  // namespace rl::migration
