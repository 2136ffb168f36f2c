// The `cluster:` key of the reserved `ringleader:` section: this node's id, its peer address, the
// initial members, the data directory, Raft timing and the peers' shared secret, read into
// ClusterSettings with located errors. Internal to conf/ (ringleader_section.cc).
// Thread safety: functions of their arguments; problems go to the caller's Checker.
#pragma once

#include <optional>

#include "conf/checker.h"
#include "conf/config.h"
#include "conf/yaml_tree.h"

namespace rl::conf {

// Reads the value of `ringleader: cluster:` (`key` is the `cluster` key, for messages about
// missing keys). Records every problem in `checker` and returns nothing when there is one.
// `secret_file` is read here (the one file conf/ reads besides the configuration).
std::optional<ClusterSettings> ReadClusterSection(Checker& checker, const YamlNode& key,
                                                  const YamlNode& value);

}  // namespace rl::conf
