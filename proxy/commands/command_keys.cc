// ExtractKeys: where the keys of one request are, for each KeyRule. Mirrors how redis-server
// 7.0 finds keys (its key specs, or its getkeys procedures for SORT and MIGRATE), and reports
// the requests Redis would reject, so the proxy never routes by arguments it misread.

#include <cstdint>
#include <limits>

#include "proxy/base/ascii.h"
#include "proxy/base/decimal.h"
#include "proxy/commands/command_table.h"

namespace rl::proxy {
namespace {

// Collects key indexes into the caller's span, remembering overflow and the first error.
class KeyWriter {
 public:
  explicit KeyWriter(std::span<uint32_t> out) : out_(out) {}

  void Add(size_t index) {
    if (count_ == out_.size()) {
      Fail(KeyError::kOutputTooSmall);
      return;
    }
    out_[count_++] = static_cast<uint32_t>(index);
  }
  void Fail(KeyError error) {
    if (error_ == KeyError::kNone) error_ = error;
  }
  int Finish(KeyError* error) const {
    if (error != nullptr) *error = error_;
    return error_ == KeyError::kNone ? static_cast<int>(count_) : -1;
  }
  bool failed() const { return error_ != KeyError::kNone; }

 private:
  std::span<uint32_t> out_;
  size_t count_ = 0;
  KeyError error_ = KeyError::kNone;
};

// The legacy range first..last by step, clipped to argc (Redis skips positions past the end
// for commands of variable arity, and leaves the error to the command).
void AddLegacyRange(const CommandInfo& info, size_t argc, KeyWriter& keys) {
  if (info.first_key <= 0) return;
  const int64_t last =
      info.last_key >= 0 ? info.last_key : static_cast<int64_t>(argc) + info.last_key;
  if (info.key_step > 1 && info.last_key < 0 && (last + 1 - info.first_key) % info.key_step != 0) {
    keys.Fail(KeyError::kWrongArgCount);  // MSET k1 v1 k2: a key without its value
    return;
  }
  for (int64_t i = info.first_key; i <= last && i < static_cast<int64_t>(argc);
       i += info.key_step) {
    keys.Add(static_cast<size_t>(i));
  }
}

void AddNumkeys(const CommandInfo& info, std::span<const std::string_view> argv, KeyWriter& keys) {
  AddLegacyRange(info, argv.size(), keys);
  const size_t at = static_cast<size_t>(info.rule_index);
  if (at >= argv.size()) return keys.Fail(KeyError::kWrongArgCount);
  int64_t numkeys = 0;
  if (!ParseStrictInt(argv[at], &numkeys)) return keys.Fail(KeyError::kNotAnInteger);
  if (numkeys < 0) return keys.Fail(KeyError::kNegativeNumkeys);
  if (static_cast<uint64_t>(numkeys) > argv.size() - at - 1) {
    return keys.Fail(KeyError::kNumkeysTooLarge);
  }
  for (size_t i = at + 1; i <= at + static_cast<size_t>(numkeys); ++i) keys.Add(i);
}

// XREAD [COUNT n] [BLOCK ms] STREAMS k1 .. kN id1 .. idN; XREADGROUP GROUP g c ... STREAMS ...
// Option values are integers and the group/consumer names come before rule_index, so the
// first STREAMS from there on is the keyword (as Redis's key spec finds it).
void AddStreams(const CommandInfo& info, std::span<const std::string_view> argv, KeyWriter& keys) {
  for (size_t i = static_cast<size_t>(info.rule_index); i < argv.size(); ++i) {
    if (!EqualsIgnoreCase(argv[i], "streams")) continue;
    const size_t rest = argv.size() - i - 1;
    if (rest == 0 || rest % 2 != 0) return keys.Fail(KeyError::kUnbalancedStreams);
    for (size_t k = i + 1; k <= i + rest / 2; ++k) keys.Add(k);
    return;
  }
  keys.Fail(KeyError::kSyntax);
}

// MIGRATE host port key|"" db timeout [COPY] [REPLACE] [AUTH pw | AUTH2 user pw] [KEYS k...]
void AddMigrate(const CommandInfo& info, std::span<const std::string_view> argv, KeyWriter& keys) {
  for (size_t i = static_cast<size_t>(info.rule_index); i < argv.size(); ++i) {
    if (EqualsIgnoreCase(argv[i], "keys")) {
      if (!argv[3].empty()) return keys.Fail(KeyError::kSyntax);
      for (size_t k = i + 1; k < argv.size(); ++k) keys.Add(k);
      return;
    }
    if (EqualsIgnoreCase(argv[i], "auth")) {
      i += 1;
    } else if (EqualsIgnoreCase(argv[i], "auth2")) {
      i += 2;
    }
  }
  keys.Add(3);
}

// SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA] [STORE dst],
// parsed as SORT parses it: the last STORE wins.
void AddSort(const CommandInfo& info, std::span<const std::string_view> argv, KeyWriter& keys) {
  AddLegacyRange(info, argv.size(), keys);
  size_t store = 0;
  for (size_t i = static_cast<size_t>(info.rule_index); i < argv.size(); ++i) {
    const size_t left = argv.size() - i - 1;
    if (EqualsIgnoreCase(argv[i], "limit") && left >= 2) {
      i += 2;
    } else if ((EqualsIgnoreCase(argv[i], "by") || EqualsIgnoreCase(argv[i], "get")) && left >= 1) {
      i += 1;
    } else if (EqualsIgnoreCase(argv[i], "store") && left >= 1) {
      store = ++i;
    }
  }
  if (store != 0) keys.Add(store);
}

// GEORADIUS key lon lat radius unit [...] [STORE k] [STOREDIST k]: every destination named.
void AddGeoradius(const CommandInfo& info, std::span<const std::string_view> argv,
                  KeyWriter& keys) {
  AddLegacyRange(info, argv.size(), keys);
  for (size_t i = static_cast<size_t>(info.rule_index); i + 1 < argv.size(); ++i) {
    if (EqualsIgnoreCase(argv[i], "store") || EqualsIgnoreCase(argv[i], "storedist")) keys.Add(++i);
  }
}

}  // namespace

std::string_view KeyErrorMessage(KeyError error) {
  switch (error) {
    case KeyError::kNone:
      return "";
    case KeyError::kWrongArgCount:
      return "ERR wrong number of arguments";
    case KeyError::kNotAnInteger:
      return "ERR value is not an integer or out of range";
    case KeyError::kNegativeNumkeys:
      return "ERR Number of keys can't be negative";
    case KeyError::kNumkeysTooLarge:
      return "ERR Number of keys can't be greater than number of args";
    case KeyError::kUnbalancedStreams:
      return "ERR Unbalanced list of streams: for each stream key an ID or '$' must be "
             "specified.";
    case KeyError::kSyntax:
      return "ERR syntax error";
    case KeyError::kOutputTooSmall:
      return "ERR too many keys";
  }
  return "ERR syntax error";
}

int ExtractKeys(const CommandInfo& info, std::span<const std::string_view> argv,
                std::span<uint32_t> out, KeyError* error) {
  KeyWriter keys(out);
  if (!ArityOk(info, argv.size())) {
    keys.Fail(KeyError::kWrongArgCount);
    return keys.Finish(error);
  }
  switch (info.key_rule) {
    case KeyRule::kNone:
      break;
    case KeyRule::kRange:
      AddLegacyRange(info, argv.size(), keys);
      break;
    case KeyRule::kNumkeys:
      AddNumkeys(info, argv, keys);
      break;
    case KeyRule::kKeywordThenRest:
      AddStreams(info, argv, keys);
      break;
    case KeyRule::kMigrate:
      AddMigrate(info, argv, keys);
      break;
    case KeyRule::kSort:
      AddSort(info, argv, keys);
      break;
    case KeyRule::kGeoradius:
      AddGeoradius(info, argv, keys);
      break;
  }
  return keys.Finish(error);
}

}  // namespace rl::proxy
