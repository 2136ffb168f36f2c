// INFO: the proxy's fields and the fan-out of INFO to the pool's servers.

#include "proxy/session/info.h"

#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <vector>

#include "fmt/format.h"
#include "proxy/commands/command_table.h"
#include "proxy/host/shared_state.h"
#include "proxy/io/client_conn.h"
#include "proxy/resp/reply_writer.h"
#include "proxy/route/backend.h"
#include "proxy/route/info_merge.h"
#include "proxy/route/pool_router.h"
#include "proxy/session/admin_commands.h"

namespace rl::proxy {

namespace {

struct Totals {
  uint64_t received = 0, commands = 0, in = 0, out = 0, protocol = 0, limit = 0;
  uint64_t backend_errors = 0, backend_conns = 0, ejections = 0, rejected = 0, timeouts = 0;
  uint64_t evicted = 0, connect_failures = 0;
  int64_t connected = 0, blocked = 0;
};

Totals SumWorkers(const SharedState& shared) {
  Totals t;
  for (const auto& s : shared.stats) {
    t.received += Read(s->connections_received);
    t.connected += s->connected_clients.load(std::memory_order_relaxed);
    t.blocked += s->blocked_clients.load(std::memory_order_relaxed);
    t.commands += Read(s->commands_processed);
    t.in += Read(s->net_input_bytes);
    t.out += Read(s->net_output_bytes);
    t.protocol += Read(s->protocol_errors);
    t.limit += Read(s->output_limit_closes);
    t.backend_errors += Read(s->backend_errors);
    t.backend_conns += Read(s->backend_connections);
    t.ejections += Read(s->ejections);
    t.timeouts += Read(s->backend_timeouts);
    t.connect_failures += Read(s->backend_connect_failures);
    t.rejected += Read(s->rejected_connections);
    t.evicted += Read(s->evicted_clients);
  }
  return t;
}

double Seconds(const timeval& tv) { return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6; }

std::string Executable() {
  char path[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
  return n > 0 ? std::string(path, static_cast<size_t>(n)) : std::string();
}

void ServerFields(PoolRouter* pool, const SharedState& shared, std::string* text) {
  auto line = [&](std::string_view key, const auto& value) {
    *text += fmt::format("{}:{}\r\n", key, value);
  };
  const conf::Pool& p = pool->conf();
  utsname u{};
  uname(&u);
  auto now = std::chrono::system_clock::now();
  auto uptime = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() -
                                                                 shared.started)
                    .count();
  int64_t unix_us =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  line("redis_version", kRedisVersion);
  line("redis_git_sha1", "00000000");
  line("redis_git_dirty", 0);
  line("redis_build_id", "0");
  line("redis_mode", "standalone");
  line("os", fmt::format("{} {} {}", u.sysname, u.release, u.machine));
  line("arch_bits", sizeof(void*) * 8);
  line("monotonic_clock", "POSIX clock_gettime");
  line("multiplexing_api", "epoll");
  line("atomicvar_api", "c11-builtin");
  line("gcc_version", fmt::format("{}.{}.{}", __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__));
  line("process_id", getpid());
  line("process_supervised", "no");
  line("run_id", shared.run_id);
  line("tcp_port", p.listen.kind == conf::Address::Kind::kTcp ? p.listen.port : 0);
  line("server_time_usec", unix_us);
  line("uptime_in_seconds", uptime);
  line("uptime_in_days", uptime / 86400);
  line("hz", 10);
  line("configured_hz", 10);
  line("lru_clock", (unix_us / 1000000) & ((1 << 24) - 1));  // Redis's LRU clock resolution
  line("executable", Executable());
  line("config_file", shared.config != nullptr ? shared.config->path : "");
  line("io_threads_active", 0);
  line("ringleader_version", RL_VERSION);
  line("pool", p.name);
  line("workers", shared.stats.size());
  size_t servers = 0, ejected = 0;
  for (ServerId id = 0; id < pool->id_limit(); ++id) {
    Backend* b = pool->BackendById(id);
    if (b == nullptr) continue;
    ++servers;
    ejected += b->ejected();
  }
  line("pool_servers", servers);
  line("pool_servers_ejected", ejected);
}

void CommandstatsFields(const SharedState& shared, std::string* text) {
  std::span<const CommandInfo> rows = AllCommands();
  for (size_t i = 0; i < rows.size() && i < WorkerStats::kCommandRows; ++i) {
    uint64_t calls = 0, usec = 0, failed = 0;
    for (const auto& s : shared.stats) {
      calls += Read(s->command_calls[i]);
      usec += Read(s->command_usec[i]);
      failed += Read(s->command_failed[i]);
    }
    if (calls == 0) continue;
    // Requests refused before routing (unknown command, arity) are not counted: rejected_calls
    // stays 0.
    *text += fmt::format(
        "cmdstat_{}:calls={},usec={},usec_per_call={:.2f},rejected_calls=0,failed_calls={}\r\n",
        rows[i].name, calls, usec, static_cast<double>(usec) / static_cast<double>(calls), failed);
  }
}

}  // namespace

std::string ProxyInfoFields(PoolRouter* pool, uint32_t sections) {
  SharedState& shared = pool->worker()->shared();
  Totals t = SumWorkers(shared);
  std::string text;
  auto line = [&](std::string_view key, const auto& value) {
    text += fmt::format("{}:{}\r\n", key, value);
  };
  if (sections & kInfoServer) ServerFields(pool, shared, &text);
  if (sections & kInfoClients) {
    line("connected_clients", t.connected);
    line("cluster_connections", 0);
    line("maxclients", shared.max_clients != 0 ? shared.max_clients : 10000);
    line("client_recent_max_input_buffer", 0);
    line("client_recent_max_output_buffer", 0);
    line("blocked_clients", std::max<int64_t>(t.blocked, 0));
    line("tracking_clients", 0);
    line("clients_in_timeout_table", 0);
  }
  if (sections & kInfoMemory) {
    line("used_memory_clients",
         std::max<int64_t>(shared.buffered_bytes.load(std::memory_order_relaxed), 0));
    line("maxmemory_clients", shared.options.client_memory_limit);
  }
  if (sections & kInfoStats) {
    InfoRates::Rates rates = shared.info_rates.Sample(std::chrono::steady_clock::now(),
                                                      {t.commands, t.in, t.out}, shared.started);
    line("total_connections_received", t.received);
    line("total_commands_processed", t.commands);
    line("instantaneous_ops_per_sec", static_cast<int64_t>(rates.ops_per_sec + 0.5));
    line("total_net_input_bytes", t.in);
    line("total_net_output_bytes", t.out);
    line("instantaneous_input_kbps", fmt::format("{:.2f}", rates.input_kbps));
    line("instantaneous_output_kbps", fmt::format("{:.2f}", rates.output_kbps));
    line("rejected_connections", t.rejected);
    line("evicted_clients", t.evicted);
    line("tracking_total_keys", 0);
    line("tracking_total_items", 0);
    line("tracking_total_prefixes", 0);
    line("protocol_errors", t.protocol);
    line("client_output_limit_disconnections", t.limit);
    line("backend_errors", t.backend_errors);
    line("backend_connections_opened", t.backend_conns);
    line("backend_ejections", t.ejections);
    line("backend_timeouts", t.timeouts);
    line("backend_connect_failures", t.connect_failures);
  }
  if (sections & kInfoReplication) {
    line("role", "master");
    line("connected_slaves", 0);
    line("master_failover_state", "no-failover");
    line("master_replid", shared.run_id);
    line("master_replid2", std::string(40, '0'));
    line("master_repl_offset", 0);
    line("second_repl_offset", -1);
    line("repl_backlog_active", 0);
    line("repl_backlog_size", 1048576);
    line("repl_backlog_first_byte_offset", 0);
    line("repl_backlog_histlen", 0);
  }
  if (sections & kInfoCpu) {
    rusage self{}, children{}, thread{};
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &children);
    getrusage(RUSAGE_THREAD, &thread);  // this worker's thread, ringleader's "main" one
    line("used_cpu_sys", fmt::format("{:.6f}", Seconds(self.ru_stime)));
    line("used_cpu_user", fmt::format("{:.6f}", Seconds(self.ru_utime)));
    line("used_cpu_sys_children", fmt::format("{:.6f}", Seconds(children.ru_stime)));
    line("used_cpu_user_children", fmt::format("{:.6f}", Seconds(children.ru_utime)));
    line("used_cpu_sys_main_thread", fmt::format("{:.6f}", Seconds(thread.ru_stime)));
    line("used_cpu_user_main_thread", fmt::format("{:.6f}", Seconds(thread.ru_utime)));
  }
  if (sections & kInfoCluster) line("cluster_enabled", 0);
  if (sections & kInfoCommandstats) CommandstatsFields(shared, &text);
  if (sections & kInfoRingleader) text += RingleaderInfoFields(shared);
  return text;
}

void RunInfo(PoolRouter* pool, ClientConn* client, Request* r,
             std::span<const std::string_view> argv) {
  uint32_t sections = ParseInfoSections(argv.subspan(1));
  std::string server_sections = ServerInfoSections(sections);
  std::vector<Backend*> targets;
  if (!server_sections.empty()) {
    for (ServerId id = 0; id < pool->id_limit(); ++id) {
      Backend* b = pool->BackendById(id);
      // An ejected server's keys are not the pool's while it is out (as for SCAN).
      if (b != nullptr && !b->ejected()) targets.push_back(b);
    }
  }
  std::string proxy = ProxyInfoFields(pool, sections);
  if (targets.empty()) {
    InfoInputs in;
    in.sections = sections;
    in.proxy = proxy;
    in.asked_servers = !server_sections.empty();  // and none to ask: 0 answered
    r->reply_own.clear();
    AppendBulk(&r->reply_own, ComposeInfo(in));
    r->UseOwnReply();
    r->done = true;
    client->OnReplyReady(r);
    return;
  }
  Worker* worker = pool->worker();
  r->merge = static_cast<uint8_t>(Merge::kInfo);
  r->merge_arg = sections;
  r->reply_own = std::move(proxy);  // MergeInfoFragments takes it from here
  worker->requests().PrepareSplit(r);
  std::vector<std::string_view> request = {"INFO"};
  for (size_t at = 0; at < server_sections.size();) {
    size_t end = std::min(server_sections.find(' ', at), server_sections.size());
    request.push_back(std::string_view(server_sections).substr(at, end - at));
    at = end + 1;
  }
  std::vector<Request*> fragments;
  for (size_t i = 0; i < targets.size(); ++i) {
    Request* frag = worker->requests().New(Request::Kind::kFragment);
    frag->parent = r;
    AppendCommand(&frag->own, request);
    frag->pieces.push_back(uv_buf_init(frag->own.data(), static_cast<unsigned>(frag->own.size())));
    r->fragments.push_back(frag);
    fragments.push_back(frag);
  }
  // Set before sending: a send can fail (and complete) its fragment at once.
  r->pending = static_cast<uint32_t>(targets.size());
  for (size_t i = 0; i < targets.size(); ++i) {
    // A connection of its own: on a shared one, INFO would wait behind whatever a client left
    // there (a long script, a paused server) and take every client's pipeline with it.
    fragments[i]->deadline_ms = worker->now_ms() + kInfoServerWaitMs;
    targets[i]->SendAlone(fragments[i]);
  }
}

}  // namespace rl::proxy
