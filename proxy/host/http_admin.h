// The admin HTTP listener (`ringleader: http_listen:`), on the control loop: GET /metrics
// (metrics.h, from a fresh sample of every worker's counters), /healthz (200 while the process
// serves) and /readyz (200 once every pool's topology is known — committed, in a cluster — and
// every server of every pool answers PING; else 503 saying what is missing). One request per
// connection (HTTP/1.0 or 1.1, answered with Connection: close); anything else is 404 or 405.
// Thread safety: everything on the control loop's thread; workers are reached by Post only.
#pragma once

#include <uv.h>

#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.h"
#include "proxy/base/uv_handle.h"
#include "proxy/resp/client.h"

namespace rl::proxy {

class ControlLoop;
class Worker;
struct SharedState;

// An HTTP response: status line's code and reason, content type, body.
struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

// The request line's method and path ("GET", "/metrics") once the head is complete (an empty
// line seen); nullopt while more bytes are needed; an error for a head that is not HTTP.
struct HttpRequestLine {
  std::string method;
  std::string path;  // without the query string
};
std::expected<std::optional<HttpRequestLine>, std::string> ParseHttpHead(std::string_view bytes);
std::string FormatHttpResponse(const HttpResponse& response, bool head_only);

class HttpAdmin {
 public:
  // Where readiness PINGs go: every server of every served pool, as of now.
  using DataServers = std::function<std::vector<RespClientOptions>()>;
  // Binds `listen` on control's loop (before it runs, or on its thread). On failure a message.
  static std::expected<std::unique_ptr<HttpAdmin>, std::string> Start(ControlLoop* control,
                                                                      std::vector<Worker*> workers,
                                                                      const SharedState* shared,
                                                                      const conf::Address& listen,
                                                                      DataServers data_servers);
  ~HttpAdmin();
  // Closes the listener and the connections to the servers (on the loop's thread).
  void Close();

 private:
  struct Conn;
  HttpAdmin() = default;
  static void OnConnection(uv_stream_t* server, int status);
  void Serve(Conn* conn, const HttpRequestLine& request);
  void Metrics(std::function<void(HttpResponse)> reply);
  void Ready(std::function<void(HttpResponse)> reply);
  // The pools whose topology is not known yet ("" when all are).
  std::string UnknownTopologies() const;

  ControlLoop* control_ = nullptr;
  std::vector<Worker*> workers_;
  const SharedState* shared_ = nullptr;
  DataServers data_servers_;
  UvHandle<uv_tcp_t> listener_;
  std::map<std::string, RespClientPtr> ping_clients_;  // by address
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace rl::proxy
