// The `locks:` key of the reserved `ringleader:` section: the lock service's masters, its data
// directory and its timing, read into LockSettings with located errors. Internal to conf/
// (ringleader_section.cc reads the key, parse.cc resolves the default masters once every pool
// is read). Thread safety: functions of their arguments; problems go to the caller's Checker.
#pragma once

#include <optional>

#include "conf/checker.h"
#include "conf/config.h"
#include "conf/yaml_tree.h"

namespace rl::conf {

// Reads the value of `ringleader: locks:` (`key` is the `locks` key, for messages about missing
// keys). Records every problem in `checker` and returns nothing when there is one.
std::optional<LockSettings> ReadLocksSection(Checker& checker, const YamlNode& key,
                                             const YamlNode& value);

// Once the pools are read: a `locks:` without `masters:` locks on the servers of the pool named
// by `pool:` (an unknown name is a problem, at its value), else on the first pool's servers.
void ResolveLockMasters(Checker& checker, Config& config);

}  // namespace rl::conf
