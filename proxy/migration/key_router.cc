// The routing rules of a ring change (see key_router.h and README.md).
#include "proxy/migration/key_router.h"

#include <utility>

namespace rl::migration {

KeyRouter::KeyRouter(Phase phase, RingView from, RingView to, PlantedBug bug)
    : phase_(phase), from_(std::move(from)), to_(std::move(to)), bug_(bug) {}

bool KeyRouter::Moving(std::string_view key) const { return from_.Owner(key) != to_.Owner(key); }

Plan KeyRouter::Direct(ServerId server) const {
  Plan plan;
  plan.steps.push_back(Step{Step::Op::kRun, server, 0, {}});
  return plan;
}

Plan KeyRouter::Route(CommandClass cls, std::span<const std::string_view> keys) const {
  // STABLE serves the source ring; CLEANUP the target only (every key is there).
  const RingView& only = phase_ == Phase::kCleanup ? to_ : from_;
  if (phase_ == Phase::kStable || phase_ == Phase::kCleanup) {
    ServerId owner = only.Owner(keys[0]);
    for (std::string_view k : keys.subspan(1)) {
      if (only.Owner(k) != owner)
        return Plan{Plan::Kind::kRefuse, {}, std::string(kCrossOwnerError)};
    }
    return Direct(owner);
  }
  ServerId a = from_.Owner(keys[0]);
  ServerId b = to_.Owner(keys[0]);
  for (std::string_view k : keys.subspan(1)) {
    // Keys that share both owners move together; any other mix would need two servers to act
    // as one, which plain Redis cannot do atomically.
    if (from_.Owner(k) != a || to_.Owner(k) != b) {
      return Plan{Plan::Kind::kRefuse, {}, std::string(kCrossOwnerError)};
    }
  }
  if (a == b) return Direct(a);
  if (phase_ == Phase::kPrepare) return Plan{Plan::Kind::kHold, {}, {}};
  return RouteMoving(cls, keys, a, b);
}

// MIGRATING, keys moving from a to b:
//   read of one key: on a if it is there (a never gets it back once it left), else on b;
//   write, or read of several keys: move every key to b first, then run on b;
//   delete: remove from a (unless in flight), then from b, then answer.
Plan KeyRouter::RouteMoving(CommandClass cls, std::span<const std::string_view> keys, ServerId a,
                            ServerId b) const {
  Plan plan;
  if (cls == CommandClass::kRead && keys.size() == 1) {
    if (bug_ == PlantedBug::kReadSourceOnly) return Direct(a);
    if (bug_ == PlantedBug::kReadTargetFirst) std::swap(a, b);
    plan.steps.push_back(Step{Step::Op::kRunIfExists, a, 0, std::string(keys[0])});
    plan.steps.push_back(Step{Step::Op::kRun, b, 0, {}});
    return plan;
  }
  if (cls == CommandClass::kDelete) {
    for (std::string_view k : keys) {
      plan.steps.push_back(Step{Step::Op::kGatedDelete, a, 0, std::string(k)});
      if (bug_ == PlantedBug::kDeleteSourceOnly) continue;
      plan.steps.push_back(Step{Step::Op::kDelete, b, 0, std::string(k)});
    }
    return plan;
  }
  for (std::string_view k : keys) plan.steps.push_back(Step{Step::Op::kMove, a, b, std::string(k)});
  plan.steps.push_back(Step{Step::Op::kRun, b, 0, {}});
  return plan;
}

}  // namespace rl::migration
