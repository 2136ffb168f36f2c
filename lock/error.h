// The lock module's one error type, returned by every fallible call in rl::lock (the scripts run
// on lock masters, token sources, the coordinator). Messages are for logs and error replies.
// Thread safety: a plain value.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace rl::lock {

struct Error {
  enum class Code : uint8_t {
    kMaster,    // a lock master could not be reached or did not answer (RespError text)
    kBadReply,  // a master answered something the script never returns (or a script error)
    kStorage,   // the token store could not be read or made durable
    kInvalid,   // an argument the caller should have checked (e.g. more tokens than fit)
    kNoQuorum,  // too few lock masters answered or granted (message starts "TRYAGAIN ...")
    kNotOwner,  // extend by an owner and token that do not hold the lock ("NOTOWNER ...")
    kUnfenced,  // force-released, but a data shard's mark could not be raised ("TRYAGAIN ...")
  };
  Code code = Code::kMaster;
  std::string message;
};

std::string_view CodeName(Error::Code code);

}  // namespace rl::lock
