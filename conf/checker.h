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
#include "fmt/format.h"

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

  // A non-empty list of scalars, such as `members: [1@h:7101, ...]`. Each item's text goes to
  // parse (string_view -> std::expected<T, std::string>), then the value to keep(T, item), which
  // stores it or returns the problem (a duplicate, say). Problems are worded from `field` (the
  // list's key), `item` (what one entry is called) and `form` (how one is written): "owner:
  // members must be a list of id@host:port", "owner: member 'x' <why>". False on any problem.
  template <typename Parse, typename Keep>
  bool ScalarList(std::string_view owner, const YamlNode& key, const YamlNode& value,
                  std::string_view field, std::string_view item, std::string_view form, Parse parse,
                  Keep keep) {
    if (value.kind != YamlNode::Kind::kSequence || value.items.empty()) {
      Add(value.kind == YamlNode::Kind::kEmpty ? key : value,
          fmt::format("{}: {} must be a list of {}", owner, field, form));
      return false;
    }
    bool ok = true;
    for (const YamlNode& entry : value.items) {
      if (entry.kind != YamlNode::Kind::kScalar) {
        Add(entry, fmt::format("{}: each of {} must be {}", owner, field, form));
        ok = false;
        continue;
      }
      auto parsed = parse(std::string_view(entry.value));
      if (!parsed) {
        Add(entry, fmt::format("{}: {} '{}' {}", owner, item, entry.value, parsed.error()));
        ok = false;
        continue;
      }
      if (std::optional<std::string> problem = keep(std::move(*parsed), entry)) {
        Add(entry, fmt::format("{}: {}", owner, *problem));
        ok = false;
      }
    }
    return ok;
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
