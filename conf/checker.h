// Checker: the problems found while conf/ walks a YAML tree, each with its place, and the readers
// for one key's value (a scalar, a number in a range, a boolean, unknown and duplicate keys), so
// that pools and the `ringleader:` section word their errors alike. Internal to conf/ (parse.cc,
// ringleader_section.cc). Thread safety: one Checker per Parse() call.
#pragma once

#include <climits>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.h"
#include "conf/yaml_tree.h"

namespace rl::conf {

// Levenshtein distance, for "did you mean" hints.
size_t EditDistance(std::string_view a, std::string_view b);

class Checker {
 public:
  // REQUIRES: `path` outlives the checker.
  explicit Checker(const std::string& path) : path_(path) {}

  void Add(int line, int column, std::string message);
  void Add(const YamlNode& at, std::string message) { Add(at.line, at.column, std::move(message)); }

  // Every problem added so far, sorted by place (stable: one place keeps the order of adding).
  std::vector<Error> TakeErrors();
  bool ok() const { return errors_.empty(); }

  // Each reader below prefixes its message with `owner`, the thing whose key it reads: "pool
  // 'alpha'" or "section 'ringleader'". On a bad value it records the problem and returns
  // nothing (nullptr / nullopt).

  // The text of a single value; an empty value, a list or a mapping is a problem.
  const std::string* Scalar(std::string_view owner, const YamlNode& key, const YamlNode& value);
  // A number (ParseNumber's grammar) from `min` to `max`.
  std::optional<int> Number(std::string_view owner, const YamlNode& key, const YamlNode& value,
                            int min, int max = INT_MAX);
  // Exactly true or false.
  std::optional<bool> Bool(std::string_view owner, const YamlNode& key, const YamlNode& value);

  // Calls visit(key, value) for each entry of `mapping` (REQUIRES: a kMapping) whose key is a
  // plain name seen for the first time; records "a key must be a plain name" and "duplicate key"
  // for the others.
  template <typename Visit>
  void ForEachKey(std::string_view owner, const YamlNode& mapping, Visit visit) {
    std::map<std::string, int, std::less<>> seen;  // key -> line
    for (const auto& [key, value] : mapping.entries) {
      if (FirstTime(owner, key, seen)) visit(key, value);
    }
  }

  // Records "owner: unknown key 'x'", with "(did you mean 'y'?)" for the nearest of `known`
  // within two edits, or a quarter of y's length when that is more (the first listed among
  // equally near ones).
  void UnknownKey(std::string_view owner, const YamlNode& key,
                  std::span<const std::string_view> known);

 private:
  bool FirstTime(std::string_view owner, const YamlNode& key,
                 std::map<std::string, int, std::less<>>& seen);

  const std::string& path_;
  std::vector<Error> errors_;
};

}  // namespace rl::conf
