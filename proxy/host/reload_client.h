// `ringleader --reload -c FILE`: sends RINGLEADER RELOAD to the process serving FILE, at the
// listen address of FILE's first pool (AUTH with that pool's client password when it has one),
// prints the reply and says whether it was an error. Used by main.cc.
// Thread safety: blocking; call from main()'s thread.
#pragma once

#include <ostream>
#include <string>

namespace rl::proxy {

// Returns the exit status: 0 when the reply is not an error, 1 otherwise (the file does not
// load, nothing answers, or the reload was refused), after printing the reply to `out` or why
// to `err`.
int SendReload(const std::string& conf_file, std::ostream& out, std::ostream& err);

}  // namespace rl::proxy
