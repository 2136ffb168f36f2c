// The error replies ringleader gives when a request cannot be routed or a server fails it, each
// worded in this one place. Every function returns a complete RESP error ("-...\r\n"), with CR
// and LF in the texts it is given replaced by spaces (proxy/resp/reply_writer.h's AppendError).
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace rl::proxy {

// The keys of one request (or of a transaction, or of WATCH) live on more than one server.
// `detail`, when not empty, follows the fixed text: " as the transaction's other keys (on r1)".
std::string CrossSlotError(std::string_view detail = {});

// The pool has no server to send to (every one ejected).
std::string NoServerError(std::string_view pool);

// A server failed a request, or answered one unexpectedly: "-ERR backend LABEL: text", where
// LABEL names the server (Backend::label) and `text` says what happened.
std::string BackendError(std::string_view label, std::string_view text);

// A server's own error reply ("-ERR ...\r\n") passed on in its name: BackendError with the
// reply's text (without its '-' and CRLF).
std::string ForwardedBackendError(std::string_view label, std::string_view error_reply);

}  // namespace rl::proxy
