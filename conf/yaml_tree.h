// A minimal YAML document tree with source positions, built from yaml-cpp's event parser.
// Internal to conf/: the validator needs every key (duplicates included, which yaml-cpp's node
// API silently merges), the raw text of every scalar, and nutcracker's restricted YAML subset.
// Thread safety: plain values.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace rl::conf {

struct YamlNode {
  enum class Kind : uint8_t {
    kScalar,    // any scalar, quoted or plain; `value` is its text
    kEmpty,     // a key with no value ("key:"); `value` is ""
    kSequence,  // `items`
    kMapping,   // `entries`, in file order, duplicates kept
  };
  Kind kind = Kind::kEmpty;
  int line = 0;    // 1-based
  int column = 0;  // 1-based
  std::string value;
  std::vector<YamlNode> items;
  std::vector<std::pair<YamlNode, YamlNode>> entries;
};

// The result of reading one file: the root node (kEmpty for a file with no document) and the
// problems found. Problems are nutcracker's YAML restrictions (one document only; no anchors,
// aliases, tags, flow collections, directives or explicit document markers) and the syntax
// error that stops the parse, if any (then it is the only problem reported). When `errors` is
// not empty, `root` may be partial.
struct YamlTree {
  YamlNode root;
  struct Problem {
    int line;    // 1-based
    int column;  // 1-based
    std::string message;
  };
  std::vector<Problem> errors;
};

// Parses `text`. Never throws.
YamlTree ReadYamlTree(const std::string& text);

}  // namespace rl::conf
