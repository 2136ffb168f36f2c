// The reserved top-level `ringleader:` section: ringleader's own, process-wide settings, read into
// RingleaderSettings with the same located errors as pool keys. Internal to conf/ (parse.cc).
// Thread safety: functions of their arguments; problems go to the caller's Checker.
#pragma once

#include <string_view>

#include "conf/checker.h"
#include "conf/config.h"
#include "conf/yaml_tree.h"

namespace rl::conf {

inline constexpr std::string_view kRingleaderSection = "ringleader";

// True when `value` is a mapping that holds a pool's listen: or servers: key: a nutcracker pool,
// not ringleader's section (parse.cc uses it to word the refusal of a pool named "ringleader").
bool LooksLikePool(const YamlNode& value);

// Reads the value of the top-level `ringleader:` key. An empty value ("ringleader:" alone) is an
// empty section: every default. Records every problem in `checker`; a key in error keeps its
// default in the result.
RingleaderSettings ReadRingleaderSection(Checker& checker, const YamlNode& value);

}  // namespace rl::conf
