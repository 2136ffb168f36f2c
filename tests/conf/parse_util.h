// Helpers for tests that parse configuration text: every error as text, or the config.
// Thread safety: plain functions.
#pragma once

#include <string>
#include <vector>

#include "conf/config.h"
#include "gtest/gtest.h"

namespace rl::conf {

// Every error of `text` as "t.yml:LINE:COL: message"; empty when it parses.
inline std::vector<std::string> Errors(const std::string& text) {
  auto config = Parse(text, "t.yml");
  std::vector<std::string> out;
  if (config) return out;
  for (const Error& e : config.error()) out.push_back(e.ToString());
  return out;
}

// The parsed config; a test failure listing the errors when it does not parse.
inline Config MustParse(const std::string& text) {
  auto config = Parse(text, "t.yml");
  if (!config) {
    std::string all;
    for (const Error& e : config.error()) all += e.ToString() + "\n";
    ADD_FAILURE() << all;
    return Config{};
  }
  return *config;
}

}  // namespace rl::conf
