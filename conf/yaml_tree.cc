#include "conf/yaml_tree.h"

#include <exception>
#include <optional>
#include <sstream>
#include <string_view>

#include "yaml-cpp/eventhandler.h"
#include "yaml-cpp/exceptions.h"
#include "yaml-cpp/mark.h"
#include "yaml-cpp/parser.h"

namespace rl::conf {
namespace {

// yaml-cpp reports a plain `~` or `null` as a null event and drops its text. nutcracker (libyaml)
// sees the text itself ("null" is a perfectly good redis_auth), so recover it from the source.
std::string NullText(const std::string& text, int pos) {
  if (pos < 0 || static_cast<size_t>(pos) >= text.size()) return "";
  std::string_view rest = std::string_view(text).substr(static_cast<size_t>(pos));
  for (std::string_view word : {"null", "Null", "NULL", "~"}) {
    if (!rest.starts_with(word)) continue;
    if (rest.size() == word.size()) return std::string(word);
    char next = rest[word.size()];
    if (next == ' ' || next == '\t' || next == '\r' || next == '\n' || next == '#') {
      return std::string(word);
    }
  }
  return "";
}

// yaml-cpp 0.7 accepts a quoted scalar that is never closed (it runs to the end of the file);
// libyaml, and so nutcracker, rejects it. True when the scalar starting at `pos` is quoted and
// its closing quote exists.
bool QuoteUnclosed(const std::string& text, int pos) {
  if (pos < 0 || static_cast<size_t>(pos) >= text.size()) return false;
  char quote = text[static_cast<size_t>(pos)];
  if (quote != '"' && quote != '\'') return false;
  for (size_t i = static_cast<size_t>(pos) + 1; i < text.size(); ++i) {
    if (quote == '"' && text[i] == '\\') {
      ++i;  // an escaped character, possibly a quote
    } else if (text[i] == quote) {
      if (quote == '\'' && i + 1 < text.size() && text[i + 1] == '\'') {
        ++i;  // '' is an escaped single quote
      } else {
        return false;
      }
    }
  }
  return true;
}

class TreeBuilder : public YAML::EventHandler {
 public:
  TreeBuilder(const std::string& text, YamlTree& tree) : text_(text), tree_(tree) {}

  void OnDocumentStart(const YAML::Mark& mark) override {
    ++documents_;
    if (documents_ > 1) {
      Problem(mark, "only one YAML document is allowed per file (nutcracker reads one)");
    }
  }
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    CheckAnchor(mark, anchor);
    YamlNode node = At(mark);
    node.value = NullText(text_, mark.pos);
    node.kind = node.value.empty() ? YamlNode::Kind::kEmpty : YamlNode::Kind::kScalar;
    Add(std::move(node));
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override {
    Problem(mark, "YAML aliases (*name) are not allowed: nutcracker rejects them");
    Add(At(mark));  // a kEmpty placeholder keeps the tree's shape
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    CheckAnchor(mark, anchor);
    CheckTag(mark, tag);
    if (QuoteUnclosed(text_, mark.pos))
      Problem(mark, "YAML syntax error: unterminated quoted scalar");
    YamlNode node = At(mark);
    node.kind = YamlNode::Kind::kScalar;
    node.value = value;
    Add(std::move(node));
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value style) override {
    CheckAnchor(mark, anchor);
    CheckTag(mark, tag);
    if (style == YAML::EmitterStyle::Flow) {
      Problem(mark, "flow sequences ([a, b]) are not allowed: write one '- item' per line");
    }
    YamlNode node = At(mark);
    node.kind = YamlNode::Kind::kSequence;
    stack_.push_back(Frame{std::move(node), std::nullopt});
  }
  void OnSequenceEnd() override { Close(); }

  void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value style) override {
    CheckAnchor(mark, anchor);
    CheckTag(mark, tag);
    if (style == YAML::EmitterStyle::Flow) {
      Problem(mark, "flow mappings ({a: b}) are not allowed: write one 'key: value' per line");
    }
    YamlNode node = At(mark);
    node.kind = YamlNode::Kind::kMapping;
    stack_.push_back(Frame{std::move(node), std::nullopt});
  }
  void OnMapEnd() override { Close(); }

 private:
  struct Frame {
    YamlNode node;
    std::optional<YamlNode> key;  // a mapping's key waiting for its value
  };

  static YamlNode At(const YAML::Mark& mark) {
    YamlNode node;
    node.line = mark.line + 1;
    node.column = mark.column + 1;
    return node;
  }

  void Problem(const YAML::Mark& mark, std::string message) {
    tree_.errors.push_back({mark.line + 1, mark.column + 1, std::move(message)});
  }

  void CheckAnchor(const YAML::Mark& mark, YAML::anchor_t anchor) {
    if (anchor != YAML::NullAnchor) {
      Problem(mark, "YAML anchors (&name) are not allowed: nutcracker rejects them");
    }
  }

  // "?" is an untagged plain node and "!" an untagged quoted one; anything else was written.
  void CheckTag(const YAML::Mark& mark, const std::string& tag) {
    if (tag != "?" && tag != "!") {
      Problem(mark, "YAML tags (" + tag + ") are not allowed: nutcracker rejects them");
    }
  }

  void Add(YamlNode node) {
    if (stack_.empty()) {
      // Only the first document's root is kept; later ones were reported above.
      if (documents_ == 1) tree_.root = std::move(node);
      return;
    }
    Frame& top = stack_.back();
    if (top.node.kind == YamlNode::Kind::kSequence) {
      top.node.items.push_back(std::move(node));
    } else if (!top.key) {
      top.key = std::move(node);
    } else {
      top.node.entries.emplace_back(std::move(*top.key), std::move(node));
      top.key.reset();
    }
  }

  void Close() {
    Frame frame = std::move(stack_.back());
    stack_.pop_back();
    Add(std::move(frame.node));
  }

  const std::string& text_;
  YamlTree& tree_;
  std::vector<Frame> stack_;
  int documents_ = 0;
};

// yaml-cpp accepts directives and explicit document markers without telling its handler, and
// nutcracker rejects them; find them by line. A line that starts with "---", "..." or "%" at
// column 0 can only be one of these in the block-style YAML nutcracker accepts.
void CheckMarkers(const std::string& text, YamlTree& tree) {
  int line = 1;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string_view row(text.data() + start, end - start);
    auto marker = [&](std::string_view m) {
      if (!row.starts_with(m)) return false;
      return row.size() == m.size() || row[m.size()] == ' ' || row[m.size()] == '\t' ||
             row[m.size()] == '\r';
    };
    if (marker("---")) {
      tree.errors.push_back(
          {line, 1, "explicit document start '---' is not allowed: nutcracker rejects it"});
    } else if (marker("...")) {
      tree.errors.push_back(
          {line, 1, "explicit document end '...' is not allowed: nutcracker rejects it"});
    } else if (row.starts_with("%")) {
      tree.errors.push_back(
          {line, 1, "YAML directives (%) are not allowed: nutcracker rejects them"});
    }
    start = end + 1;
    ++line;
  }
}

}  // namespace

YamlTree ReadYamlTree(const std::string& text) {
  YamlTree tree;
  CheckMarkers(text, tree);
  std::istringstream in(text);
  try {
    YAML::Parser parser(in);
    TreeBuilder builder(text, tree);
    while (parser.HandleNextDocument(builder)) {
    }
  } catch (const YAML::Exception& e) {
    // What the handler saw before the error may be an artefact of the bad syntax (an
    // unterminated "[a" first looks like a flow mapping), so only the syntax error is kept.
    int line = e.mark.is_null() ? 0 : e.mark.line + 1;
    int column = e.mark.is_null() ? 0 : e.mark.column + 1;
    tree.errors.assign(1, {line, column, "YAML syntax error: " + e.msg});
  } catch (const std::exception& e) {
    tree.errors.assign(1, {0, 0, std::string("YAML parser failed: ") + e.what()});
  }
  return tree;
}

}  // namespace rl::conf
