// RespClient's private pieces shared by client.cc and client_connect.cc: the connection (a
// stream handle that frees itself in its close callback, so a new attempt never waits for the
// old one to close), a write in flight, and a pending name resolution.
// Thread safety: the loop's thread, like RespClient.
#pragma once

#include <uv.h>

#include <string>

#include "proxy/resp/client.h"

namespace rl::proxy {

struct RespClient::Conn {
  union {
    uv_handle_t handle;
    uv_stream_t stream;
    uv_tcp_t tcp;
    uv_pipe_t pipe;
  };
  uv_connect_t connect_req;
  RespClient* client = nullptr;  // nullptr once detached: then only its own memory is touched
  bool tcp_socket = true;
  bool connected = false;  // the TCP (or unix) connect completed
  bool writing = false;    // a Write is in flight

  // Starts closing; the Conn deletes itself in the close callback. Callbacks still pending
  // (connect, write) run first, with UV_ECANCELED, and see client == nullptr.
  void Close() {
    client = nullptr;
    uv_close(&handle, [](uv_handle_t* h) { delete static_cast<Conn*>(h->data); });
  }

  static void OnAlloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void OnRead(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
  static void OnConnect(uv_connect_t* req, int status);
};

struct RespClient::Write {
  uv_write_t req;
  std::string bytes;
  Conn* conn;
};

struct RespClient::Resolve {
  uv_getaddrinfo_t req;
  RespClient* client;  // nullptr once the client gave up on it
};

namespace resp_client_internal {

// "host:port", "[v6]:port" or "unix:path".
std::string AddressLabel(const RespClientOptions& options);

}  // namespace resp_client_internal

}  // namespace rl::proxy
