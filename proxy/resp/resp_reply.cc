#include "proxy/resp/resp_reply.h"

#include <fmt/format.h>

namespace rl::proxy {

namespace {

void AppendTo(const RespReply& r, std::string* out) {
  using T = RespReply::Type;
  switch (r.type) {
    case T::kStatus:
    case T::kBigNumber:
      out->append(r.str);
      return;
    case T::kError:
      out->append("(error) ").append(r.str);
      return;
    case T::kInteger:
      fmt::format_to(std::back_inserter(*out), "(integer) {}", r.integer);
      return;
    case T::kBulk:
    case T::kVerbatim:
      fmt::format_to(std::back_inserter(*out), "{:?}", r.str);
      return;
    case T::kNil:
      out->append("(nil)");
      return;
    case T::kDouble:
      out->append("(double) ").append(r.str);
      return;
    case T::kBoolean:
      out->append(r.integer != 0 ? "(true)" : "(false)");
      return;
    case T::kMap:
      out->push_back('{');
      for (size_t i = 0; i + 1 < r.elements.size(); i += 2) {
        if (i > 0) out->append(", ");
        AppendTo(r.elements[i], out);
        out->append(": ");
        AppendTo(r.elements[i + 1], out);
      }
      out->push_back('}');
      return;
    case T::kArray:
    case T::kSet:
    case T::kPush:
      out->append(r.type == T::kSet ? "~[" : r.type == T::kPush ? ">[" : "[");
      for (size_t i = 0; i < r.elements.size(); ++i) {
        if (i > 0) out->append(", ");
        AppendTo(r.elements[i], out);
      }
      out->push_back(']');
      return;
  }
}

}  // namespace

std::string RespReply::ToString() const {
  std::string out;
  AppendTo(*this, &out);
  return out;
}

std::string_view TypeName(RespReply::Type type) {
  using T = RespReply::Type;
  switch (type) {
    case T::kStatus:
      return "status";
    case T::kError:
      return "error";
    case T::kInteger:
      return "integer";
    case T::kBulk:
      return "bulk";
    case T::kArray:
      return "array";
    case T::kNil:
      return "nil";
    case T::kDouble:
      return "double";
    case T::kBoolean:
      return "boolean";
    case T::kMap:
      return "map";
    case T::kSet:
      return "set";
    case T::kPush:
      return "push";
    case T::kVerbatim:
      return "verbatim";
    case T::kBigNumber:
      return "bignumber";
  }
  return "?";
}

}  // namespace rl::proxy
