#include "proxy/host/metrics.h"

#include <fmt/format.h>

#include <map>
#include <optional>

#include "proxy/base/decimal.h"

namespace rl::proxy {

std::string EscapeLabel(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

namespace {

// Appends one family: its HELP and TYPE lines, then the samples added through Add().
class Family {
 public:
  Family(std::string* out, std::string_view name, std::string_view type, std::string_view help)
      : out_(out), name_(name) {
    *out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }
  void Add(std::string_view labels, uint64_t value) { Add(labels, fmt::format("{}", value)); }
  void Add(std::string_view labels, std::string_view value, std::string_view suffix = "") {
    *out_ += name_;
    *out_ += suffix;
    if (!labels.empty()) *out_ += fmt::format("{{{}}}", labels);
    *out_ += ' ';
    *out_ += value;
    *out_ += '\n';
  }
  // A histogram's _bucket (cumulative, `le` in seconds), _sum (seconds) and _count samples.
  void AddHistogram(std::string_view labels, const LatencyHistogram& h) {
    const std::string sep = labels.empty() ? "" : ",";
    uint64_t cumulative = 0;
    for (size_t i = 0; i < LatencyHistogram::kBoundsUs.size(); ++i) {
      cumulative += h.buckets[i];
      Add(fmt::format("{}{}le=\"{}\"", labels, sep,
                      static_cast<double>(LatencyHistogram::kBoundsUs[i]) / 1e6),
          fmt::format("{}", cumulative), "_bucket");
    }
    Add(fmt::format("{}{}le=\"+Inf\"", labels, sep), fmt::format("{}", h.count), "_bucket");
    Add(labels, fmt::format("{}", static_cast<double>(h.sum_ns) / 1e9), "_sum");
    Add(labels, fmt::format("{}", h.count), "_count");
  }

 private:
  std::string* out_;
  std::string name_;
};

std::string PoolLabel(const PoolSample& p) {
  return fmt::format("pool=\"{}\"", EscapeLabel(p.name));
}
std::string ServerLabels(const PoolSample& p, const ServerSample& s) {
  return fmt::format("pool=\"{}\",server=\"{}\"", EscapeLabel(p.name), EscapeLabel(s.name));
}

void RenderProcess(const MetricsInput& in, std::string* out) {
  const ProcessCounters& c = in.process;
  Family(out, "ringleader_build_info", "gauge", "The running version (value 1).")
      .Add(fmt::format("version=\"{}\"", EscapeLabel(in.version)), 1);
  Family(out, "ringleader_uptime_seconds", "gauge", "Seconds since the process started.")
      .Add("", c.uptime_s);
  Family(out, "ringleader_connections_received_total", "counter", "Client connections accepted.")
      .Add("", c.connections_received);
  Family(out, "ringleader_connected_clients", "gauge", "Client connections open now.")
      .Add("", c.connected_clients);
  Family(out, "ringleader_commands_processed_total", "counter", "Client requests read.")
      .Add("", c.commands_processed);
  Family(out, "ringleader_net_input_bytes_total", "counter", "Bytes read from clients.")
      .Add("", c.net_input_bytes);
  Family(out, "ringleader_net_output_bytes_total", "counter", "Bytes written to clients.")
      .Add("", c.net_output_bytes);
  {
    Family f(out, "ringleader_client_closes_total", "counter",
             "Clients closed by ringleader, by reason: protocol_error (bytes that are not RESP), "
             "output_limit (replies left unread), evicted (the clients' memory budget).");
    f.Add("reason=\"protocol_error\"", c.protocol_errors);
    f.Add("reason=\"output_limit\"", c.output_limit_closes);
    f.Add("reason=\"evicted\"", c.evicted_clients);
  }
  Family(out, "ringleader_rejected_connections_total", "counter",
         "Client connections refused at a pool's client_connections.")
      .Add("", c.rejected_connections);
  {
    Family f(out, "ringleader_fenced_writes_total", "counter",
             "FENCED writes (and LOCK.FENCE-bound ones) answered, by result: refused when the "
             "shard had seen a larger token for the lock.");
    f.Add("result=\"accepted\"", c.fenced_writes - c.fenced_refused);
    f.Add("result=\"refused\"", c.fenced_refused);
  }
  Family(out, "ringleader_backend_connections_opened_total", "counter",
         "Connections opened to servers.")
      .Add("", c.backend_connections);
}

void RenderPools(const std::vector<PoolSample>& pools, std::string* out) {
  struct PoolRow {
    const char* name;
    const char* type;
    const char* help;
    uint64_t PoolCounters::*field;
  };
  static constexpr PoolRow kPoolRows[] = {
      {"ringleader_pool_client_connections", "gauge", "Client connections open now, per pool.",
       &PoolCounters::client_connections},
      {"ringleader_pool_client_eof_total", "counter", "Clients that closed their connection.",
       &PoolCounters::client_eof},
      {"ringleader_pool_client_errors_total", "counter", "Clients lost to an error.",
       &PoolCounters::client_err},
      {"ringleader_pool_forward_errors_total", "counter",
       "Requests that failed because of a server.", &PoolCounters::forward_error},
      {"ringleader_pool_server_ejections_total", "counter", "Servers ejected (auto_eject_hosts).",
       &PoolCounters::server_ejects},
      {"ringleader_pool_fragments_total", "counter",
       "Sub-requests of multi-key commands split over servers.", &PoolCounters::fragments},
  };
  for (const PoolRow& row : kPoolRows) {
    Family f(out, row.name, row.type, row.help);
    for (const PoolSample& p : pools) f.Add(PoolLabel(p), p.counters.*row.field);
  }
  {
    Family f(out, "ringleader_request_duration_seconds", "histogram",
             "Proxy time: from a client's request read until its reply is ready.");
    for (const PoolSample& p : pools) f.AddHistogram(PoolLabel(p), p.counters.latency);
  }
  struct ServerRow {
    const char* name;
    const char* type;
    const char* help;
    uint64_t ServerCounters::*field;
  };
  static constexpr ServerRow kServerRows[] = {
      {"ringleader_server_requests_total", "counter", "Requests sent to the server.",
       &ServerCounters::requests},
      {"ringleader_server_request_bytes_total", "counter", "Bytes of requests sent.",
       &ServerCounters::request_bytes},
      {"ringleader_server_responses_total", "counter", "Replies received from the server.",
       &ServerCounters::responses},
      {"ringleader_server_response_bytes_total", "counter", "Bytes of replies received.",
       &ServerCounters::response_bytes},
      {"ringleader_server_connections", "gauge", "Connections open to the server now.",
       &ServerCounters::server_connections},
  };
  for (const ServerRow& row : kServerRows) {
    Family f(out, row.name, row.type, row.help);
    for (const PoolSample& p : pools) {
      for (const ServerSample& s : p.servers) f.Add(ServerLabels(p, s), s.counters.*row.field);
    }
  }
  {
    Family f(out, "ringleader_server_errors_total", "counter",
             "Server failures, by kind: eof (the server closed), error (connect, read, write, bad "
             "reply), timeout (a request past the pool's timeout).");
    for (const PoolSample& p : pools) {
      for (const ServerSample& s : p.servers) {
        const std::string l = ServerLabels(p, s);
        f.Add(l + ",kind=\"eof\"", s.counters.server_eof);
        f.Add(l + ",kind=\"error\"", s.counters.server_err);
        f.Add(l + ",kind=\"timeout\"", s.counters.server_timedout);
      }
    }
  }
  {
    Family f(out, "ringleader_server_queued_requests", "gauge",
             "Requests waiting on the server's connections: in (not yet written) and out "
             "(written, awaiting the reply).");
    for (const PoolSample& p : pools) {
      for (const ServerSample& s : p.servers) {
        const std::string l = ServerLabels(p, s);
        f.Add(l + ",queue=\"in\"", s.in_queue);
        f.Add(l + ",queue=\"out\"", s.out_queue);
      }
    }
  }
  {
    Family f(out, "ringleader_server_last_ejection_timestamp_seconds", "gauge",
             "When the server was last ejected (seconds since the epoch; 0: never).");
    for (const PoolSample& p : pools) {
      for (const ServerSample& s : p.servers) {
        f.Add(ServerLabels(p, s), s.counters.server_ejected_at / 1000000);
      }
    }
  }
  {
    Family f(out, "ringleader_server_duration_seconds", "histogram",
             "Backend time: from a request handed to a server connection until its reply.");
    for (const PoolSample& p : pools) {
      for (const ServerSample& s : p.servers)
        f.AddHistogram(ServerLabels(p, s), s.counters.latency);
    }
  }
}

// INFO ringleader's "key:value" lines.
std::map<std::string, std::string, std::less<>> ParseFields(std::string_view text) {
  std::map<std::string, std::string, std::less<>> fields;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    fields.emplace(std::string(line.substr(0, colon)), std::string(line.substr(colon + 1)));
  }
  return fields;
}

std::optional<uint64_t> Unsigned(std::string_view text) {
  int64_t v = 0;
  if (!ParseStrictInt(text, &v) || v < 0) return std::nullopt;
  return static_cast<uint64_t>(v);
}

std::optional<uint64_t> Number(const std::map<std::string, std::string, std::less<>>& fields,
                               std::string_view key) {
  auto it = fields.find(key);
  if (it == fields.end()) return std::nullopt;
  return Unsigned(it->second);
}

void RenderRaft(std::string_view text, std::string* out) {
  auto fields = ParseFields(text);
  auto role = fields.find("rl_role");
  if (role == fields.end() || role->second == "standalone") return;
  {
    Family f(out, "ringleader_raft_role", "gauge",
             "This node's Raft role (1 for the current one).");
    for (std::string_view r : {"leader", "follower", "candidate", "learner"}) {
      f.Add(fmt::format("role=\"{}\"", r), role->second == r ? 1 : 0);
    }
  }
  struct Gauge {
    const char* field;
    const char* name;
    const char* help;
  };
  static constexpr Gauge kGauges[] = {
      {"rl_node_id", "ringleader_raft_node_id", "This node's id."},
      {"rl_leader_id", "ringleader_raft_leader_id", "The leader this node knows (0: none)."},
      {"rl_term", "ringleader_raft_term", "The current Raft term."},
      {"rl_commit_index", "ringleader_raft_commit_index", "The highest committed log index."},
      {"rl_applied_index", "ringleader_raft_applied_index",
       "The highest log index applied to the state machine."},
  };
  for (const Gauge& g : kGauges) {
    if (std::optional<uint64_t> v = Number(fields, g.field)) {
      Family(out, g.name, "gauge", g.help).Add("", *v);
    }
  }
  std::optional<Family> epochs;
  for (const auto& [key, value] : fields) {
    if (!key.starts_with("rl_pool_") || !key.ends_with("_epoch")) continue;
    std::optional<uint64_t> v = Unsigned(value);
    if (!v) continue;
    if (!epochs) {
      epochs.emplace(out, "ringleader_pool_epoch", "gauge",
                     "The committed topology epoch each pool is served at.");
    }
    std::string_view pool = std::string_view(key).substr(8, key.size() - 8 - 6);
    epochs->Add(fmt::format("pool=\"{}\"", EscapeLabel(pool)), *v);
  }
}

void RenderLocks(const lock::LockStats& s, std::string* out) {
  struct Row {
    const char* name;
    const char* help;
    const std::atomic<uint64_t>* value;
  };
  const Row rows[] = {
      {"ringleader_lock_acquires_total", "LOCK.ACQUIRE calls.", &s.acquires},
      {"ringleader_lock_grants_total", "LOCK.ACQUIRE calls granted.", &s.grants},
      {"ringleader_lock_not_granted_total", "LOCK.ACQUIRE calls answered nil (held).",
       &s.not_granted},
      {"ringleader_lock_acquire_errors_total", "LOCK.ACQUIRE calls failed (no quorum, no token).",
       &s.acquire_errors},
      {"ringleader_lock_stale_retries_total", "Acquire rounds retried after a higher mark.",
       &s.stale_retries},
      {"ringleader_lock_waits_total", "Acquires that queued behind a holder (WAIT).", &s.waits},
      {"ringleader_lock_releases_total", "LOCK.RELEASE calls that released.", &s.releases},
      {"ringleader_lock_releases_not_held_total", "LOCK.RELEASE calls of a lock not held.",
       &s.releases_not_held},
      {"ringleader_lock_extends_total", "LOCK.EXTEND calls that extended.", &s.extends},
      {"ringleader_lock_extend_refusals_total", "LOCK.EXTEND calls refused.", &s.extend_refusals},
      {"ringleader_lock_force_releases_total", "LOCK.FORCERELEASE calls.", &s.force_releases},
      {"ringleader_lock_expiries_total", "Grants whose lease ran out unreleased.", &s.expiries},
  };
  for (const Row& r : rows) {
    Family(out, r.name, "counter", r.help).Add("", r.value->load(std::memory_order_relaxed));
  }
  auto gauge = [](const std::atomic<int64_t>& v) {
    return static_cast<uint64_t>(std::max<int64_t>(0, v.load(std::memory_order_relaxed)));
  };
  Family(out, "ringleader_lock_waiting", "gauge", "Acquires queued now.").Add("", gauge(s.waiting));
  Family(out, "ringleader_lock_held", "gauge", "Grants made here with a lease left.")
      .Add("", gauge(s.held));
}

}  // namespace

std::string RenderMetrics(const MetricsInput& input) {
  std::string out;
  RenderProcess(input, &out);
  RenderPools(input.pools, &out);
  RenderRaft(input.ringleader_fields, &out);
  if (input.locks != nullptr) RenderLocks(*input.locks, &out);
  return out;
}

}  // namespace rl::proxy
