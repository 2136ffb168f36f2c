// ParseFaults (see peer_faults.h).
#include "raft/node/peer_faults.h"

#include <fmt/format.h>

#include <charconv>
#include <cstdlib>

namespace rl::raft {

namespace {

bool ParseU64(std::string_view text, uint64_t* value) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *value);
  return ec == std::errc() && end == text.data() + text.size();
}

bool ParseProbability(std::string_view text, double* value) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *value);
  return ec == std::errc() && end == text.data() + text.size() && *value >= 0 && *value <= 1;
}

std::expected<void, std::string> ParseDelay(std::string_view value, FaultSettings* out) {
  size_t dash = value.find('-');
  uint64_t lo = 0;
  uint64_t hi = 0;
  bool ok = dash == std::string_view::npos
                ? ParseU64(value, &lo) && (hi = lo, true)
                : ParseU64(value.substr(0, dash), &lo) && ParseU64(value.substr(dash + 1), &hi);
  if (!ok || lo > hi || hi > 3'600'000) {
    return std::unexpected(fmt::format("delay={}: want MS or MIN-MAX milliseconds", value));
  }
  out->delay_min = std::chrono::milliseconds(lo);
  out->delay_max = std::chrono::milliseconds(hi);
  return {};
}

std::expected<void, std::string> ParseBlock(std::string_view value, FaultSettings* out) {
  while (true) {
    size_t plus = value.find('+');
    uint64_t id = 0;
    if (!ParseU64(value.substr(0, plus), &id) || id == kNoNode) {
      return std::unexpected(fmt::format("block: '{}' is not a node id", value.substr(0, plus)));
    }
    out->blocked_to.insert(id);
    if (plus == std::string_view::npos) return {};
    value.remove_prefix(plus + 1);
  }
}

std::expected<void, std::string> ParseItem(std::string_view item, FaultSettings* out) {
  size_t eq = item.find('=');
  if (eq == std::string_view::npos) {
    return std::unexpected(fmt::format("'{}': want key=value", item));
  }
  std::string_view key = item.substr(0, eq);
  std::string_view value = item.substr(eq + 1);
  if (key == "drop" || key == "dup") {
    double* target = key == "drop" ? &out->drop : &out->duplicate;
    if (!ParseProbability(value, target)) {
      return std::unexpected(fmt::format("{}={}: want a probability from 0 to 1", key, value));
    }
    return {};
  }
  if (key == "delay") return ParseDelay(value, out);
  if (key == "seed") {
    if (!ParseU64(value, &out->seed))
      return std::unexpected(fmt::format("seed={}: not a number", value));
    return {};
  }
  if (key == "block") return ParseBlock(value, out);
  return std::unexpected(fmt::format("unknown fault '{}' (drop, delay, dup, seed, block)", key));
}

}  // namespace

std::expected<FaultSettings, std::string> ParseFaults(std::string_view text) {
  FaultSettings out;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    if (auto ok = ParseItem(item, &out); !ok) return std::unexpected(ok.error());
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
    if (text.empty()) return std::unexpected("trailing ','");
  }
  return out;
}

bool FaultInjectionBuilt() {
#ifdef RL_FAULT_INJECTION
  return true;
#else
  return false;
#endif
}

}  // namespace rl::raft
