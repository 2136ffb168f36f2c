// Names of the lock module's error codes, for logs and test messages.
// Thread safety: pure.
#include "lock/error.h"

namespace rl::lock {

std::string_view CodeName(Error::Code code) {
  switch (code) {
    case Error::Code::kMaster:
      return "master";
    case Error::Code::kBadReply:
      return "bad-reply";
    case Error::Code::kStorage:
      return "storage";
    case Error::Code::kInvalid:
      return "invalid";
    case Error::Code::kNoQuorum:
      return "no-quorum";
    case Error::Code::kNotOwner:
      return "not-owner";
    case Error::Code::kUnfenced:
      return "unfenced";
  }
  return "unknown";
}

}  // namespace rl::lock
