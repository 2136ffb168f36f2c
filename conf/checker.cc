#include "conf/checker.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "conf/values.h"
#include "fmt/format.h"

namespace rl::conf {

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1] ? 1 : 0)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

void Checker::Add(int line, int column, std::string message) {
  errors_.push_back(Error{path_, line, column, std::move(message)});
}

std::vector<Error> Checker::TakeErrors() {
  std::stable_sort(errors_.begin(), errors_.end(), [](const Error& a, const Error& b) {
    return std::pair(a.line, a.column) < std::pair(b.line, b.column);
  });
  return std::move(errors_);
}

const std::string* Checker::Scalar(std::string_view owner, const YamlNode& key,
                                   const YamlNode& value) {
  switch (value.kind) {
    case YamlNode::Kind::kScalar:
      return &value.value;
    case YamlNode::Kind::kEmpty:
      Add(key, fmt::format("{}: {} needs a value", owner, key.value));
      return nullptr;
    case YamlNode::Kind::kSequence:
    case YamlNode::Kind::kMapping:
      Add(value, fmt::format("{}: {} must be a single value, not a {}", owner, key.value,
                             value.kind == YamlNode::Kind::kSequence ? "list" : "mapping"));
      return nullptr;
  }
  return nullptr;
}

std::optional<int> Checker::Number(std::string_view owner, const YamlNode& key,
                                   const YamlNode& value, int min, int max) {
  const std::string* text = Scalar(owner, key, value);
  if (!text) return std::nullopt;
  auto n = ParseNumber(*text);
  if (!n) {
    Add(value, fmt::format("{}: {} '{}' {}", owner, key.value, *text, n.error()));
    return std::nullopt;
  }
  if (*n < min) {
    Add(value, fmt::format("{}: {} must be at least {}", owner, key.value, min));
    return std::nullopt;
  }
  if (*n > max) {
    Add(value, fmt::format("{}: {} must be at most {}", owner, key.value, max));
    return std::nullopt;
  }
  return *n;
}

std::optional<bool> Checker::Bool(std::string_view owner, const YamlNode& key,
                                  const YamlNode& value) {
  const std::string* text = Scalar(owner, key, value);
  if (!text) return std::nullopt;
  auto b = ParseBool(*text);
  if (!b) {
    Add(value, fmt::format("{}: {} must be true or false, not '{}'", owner, key.value, *text));
  }
  return b;
}

void Checker::UnknownKey(std::string_view owner, const YamlNode& key,
                         std::span<const std::string_view> known) {
  std::string_view nearest;
  size_t best = SIZE_MAX;
  for (std::string_view candidate : known) {
    // Near enough to be a typo: two edits, or a quarter of a long name ("client_max_inflite").
    size_t d = EditDistance(key.value, candidate);
    if (d <= std::max<size_t>(2, candidate.size() / 4) && d < best) {
      best = d;
      nearest = candidate;
    }
  }
  std::string hint = nearest.empty() ? "" : fmt::format(" (did you mean '{}'?)", nearest);
  Add(key, fmt::format("{}: unknown key '{}'{}", owner, key.value, hint));
}

bool Checker::FirstTime(std::string_view owner, const YamlNode& key,
                        std::map<std::string, int, std::less<>>& seen) {
  if (key.kind != YamlNode::Kind::kScalar) {
    Add(key, fmt::format("{}: a key must be a plain name", owner));
    return false;
  }
  auto [it, fresh] = seen.emplace(key.value, key.line);
  if (!fresh) {
    Add(key,
        fmt::format("{}: duplicate key '{}' (first at line {})", owner, key.value, it->second));
  }
  return fresh;
}

}  // namespace rl::conf
