// INFO's section list, Redis 7.0's fields in order with the source of each, and the merge of
// the proxy's fields with the servers' replies.

#include "proxy/route/info_merge.h"

#include <charconv>
#include <cstdio>
#include <map>
#include <optional>

#include "fmt/format.h"
#include "proxy/base/ascii.h"
#include "proxy/resp/reply_scanner.h"
#include "proxy/resp/reply_writer.h"

namespace rl::proxy {

namespace {

// Where a field's value comes from.
enum class Source : uint8_t {
  kProxy,  // ringleader's own value
  kSum,    // the servers' values added up (data, memory, counters)
  kMax,    // the largest (a flag that any server has set, the longest time)
  kMin,    // the smallest (the oldest save)
  kFirst,  // the first server's (a setting the servers share)
  kWorst,  // "ok" unless a server says otherwise: the first other value
  kHuman,  // the field named without "_human", as Redis's bytesToHuman
  kRatio,  // mem_fragmentation_ratio: summed RSS over summed used memory
};

struct Field {
  std::string_view name;
  Source source;
};

using enum Source;

constexpr Field kServerFields[] = {
    {"redis_version", kProxy},
    {"redis_git_sha1", kProxy},
    {"redis_git_dirty", kProxy},
    {"redis_build_id", kProxy},
    {"redis_mode", kProxy},
    {"os", kProxy},
    {"arch_bits", kProxy},
    {"monotonic_clock", kProxy},
    {"multiplexing_api", kProxy},
    {"atomicvar_api", kProxy},
    {"gcc_version", kProxy},
    {"process_id", kProxy},
    {"process_supervised", kProxy},
    {"run_id", kProxy},
    {"tcp_port", kProxy},
    {"server_time_usec", kProxy},
    {"uptime_in_seconds", kProxy},
    {"uptime_in_days", kProxy},
    {"hz", kProxy},
    {"configured_hz", kProxy},
    {"lru_clock", kProxy},
    {"executable", kProxy},
    {"config_file", kProxy},
    {"io_threads_active", kProxy},
    {"ringleader_version", kProxy},
    {"pool", kProxy},
    {"workers", kProxy},
    {"pool_servers", kProxy},
    {"pool_servers_ejected", kProxy},
};

constexpr Field kClientsFields[] = {
    {"connected_clients", kProxy},
    {"cluster_connections", kProxy},
    {"maxclients", kProxy},
    {"client_recent_max_input_buffer", kProxy},
    {"client_recent_max_output_buffer", kProxy},
    {"blocked_clients", kProxy},
    {"tracking_clients", kProxy},
    {"clients_in_timeout_table", kProxy},
};

constexpr Field kMemoryFields[] = {
    {"used_memory", kSum},
    {"used_memory_human", kHuman},
    {"used_memory_rss", kSum},
    {"used_memory_rss_human", kHuman},
    {"used_memory_peak", kSum},
    {"used_memory_peak_human", kHuman},
    {"used_memory_overhead", kSum},
    {"used_memory_startup", kSum},
    {"used_memory_dataset", kSum},
    {"allocator_allocated", kSum},
    {"allocator_active", kSum},
    {"allocator_resident", kSum},
    {"total_system_memory", kMax},
    {"total_system_memory_human", kHuman},
    {"used_memory_lua", kSum},
    {"used_memory_vm_eval", kSum},
    {"used_memory_lua_human", kHuman},
    {"used_memory_scripts_eval", kSum},
    {"number_of_cached_scripts", kMax},
    {"number_of_functions", kMax},
    {"number_of_libraries", kMax},
    {"used_memory_vm_functions", kSum},
    {"used_memory_vm_total", kSum},
    {"used_memory_vm_total_human", kHuman},
    {"used_memory_functions", kSum},
    {"used_memory_scripts", kSum},
    {"used_memory_scripts_human", kHuman},
    {"maxmemory", kSum},
    {"maxmemory_human", kHuman},
    {"maxmemory_policy", kFirst},
    {"mem_fragmentation_ratio", kRatio},
    {"mem_fragmentation_bytes", kSum},
    {"mem_not_counted_for_evict", kSum},
    {"mem_replication_backlog", kSum},
    {"mem_total_replication_buffers", kSum},
    {"mem_clients_slaves", kSum},
    {"mem_clients_normal", kSum},
    {"mem_cluster_links", kSum},
    {"mem_aof_buffer", kSum},
    {"mem_allocator", kFirst},
    {"active_defrag_running", kMax},
    {"lazyfree_pending_objects", kSum},
    {"lazyfreed_objects", kSum},
    {"used_memory_clients", kProxy},  // ringleader's buffers of client requests and replies
    {"maxmemory_clients", kProxy},
};

constexpr Field kPersistenceFields[] = {
    {"loading", kMax},
    {"async_loading", kMax},
    {"current_cow_peak", kMax},
    {"current_cow_size", kSum},
    {"current_cow_size_age", kMax},
    {"current_fork_perc", kMax},
    {"current_save_keys_processed", kSum},
    {"current_save_keys_total", kSum},
    {"rdb_changes_since_last_save", kSum},
    {"rdb_bgsave_in_progress", kMax},
    {"rdb_last_save_time", kMin},
    {"rdb_last_bgsave_status", kWorst},
    {"rdb_last_bgsave_time_sec", kMax},
    {"rdb_current_bgsave_time_sec", kMax},
    {"rdb_saves", kSum},
    {"rdb_last_cow_size", kSum},
    {"rdb_last_load_keys_expired", kSum},
    {"rdb_last_load_keys_loaded", kSum},
    {"aof_enabled", kMax},
    {"aof_rewrite_in_progress", kMax},
    {"aof_rewrite_scheduled", kMax},
    {"aof_last_rewrite_time_sec", kMax},
    {"aof_current_rewrite_time_sec", kMax},
    {"aof_last_bgrewrite_status", kWorst},
    {"aof_rewrites", kSum},
    {"aof_rewrites_consecutive_failures", kMax},
    {"aof_last_write_status", kWorst},
    {"aof_last_cow_size", kSum},
    {"module_fork_in_progress", kMax},
    {"module_fork_last_cow_size", kSum},
};

constexpr Field kStatsFields[] = {
    {"total_connections_received", kProxy},
    {"total_commands_processed", kProxy},
    {"instantaneous_ops_per_sec", kProxy},
    {"total_net_input_bytes", kProxy},
    {"total_net_output_bytes", kProxy},
    {"total_net_repl_input_bytes", kSum},
    {"total_net_repl_output_bytes", kSum},
    {"instantaneous_input_kbps", kProxy},
    {"instantaneous_output_kbps", kProxy},
    {"rejected_connections", kProxy},
    {"sync_full", kSum},
    {"sync_partial_ok", kSum},
    {"sync_partial_err", kSum},
    {"expired_keys", kSum},
    {"expired_stale_perc", kMax},
    {"expired_time_cap_reached_count", kSum},
    {"expire_cycle_cpu_milliseconds", kSum},
    {"evicted_keys", kSum},
    {"evicted_clients", kProxy},  // clients ringleader closed for its memory budget
    {"total_eviction_exceeded_time", kSum},
    {"current_eviction_exceeded_time", kMax},
    {"keyspace_hits", kSum},
    {"keyspace_misses", kSum},
    {"pubsub_channels", kSum},
    {"pubsub_patterns", kSum},
    {"latest_fork_usec", kMax},
    {"total_forks", kSum},
    {"migrate_cached_sockets", kSum},
    {"slave_expires_tracked_keys", kSum},
    {"active_defrag_hits", kSum},
    {"active_defrag_misses", kSum},
    {"active_defrag_key_hits", kSum},
    {"active_defrag_key_misses", kSum},
    {"total_active_defrag_time", kSum},
    {"current_active_defrag_time", kMax},
    {"tracking_total_keys", kProxy},
    {"tracking_total_items", kProxy},
    {"tracking_total_prefixes", kProxy},
    {"unexpected_error_replies", kSum},
    {"total_error_replies", kSum},
    {"dump_payload_sanitizations", kSum},
    {"total_reads_processed", kSum},
    {"total_writes_processed", kSum},
    {"io_threaded_reads_processed", kSum},
    {"io_threaded_writes_processed", kSum},
    // ringleader's own, after Redis's.
    {"protocol_errors", kProxy},
    {"client_output_limit_disconnections", kProxy},
    {"backend_errors", kProxy},
    {"backend_connections_opened", kProxy},
    {"backend_ejections", kProxy},
    {"backend_timeouts", kProxy},
    {"backend_connect_failures", kProxy},
};

constexpr Field kReplicationFields[] = {
    {"role", kProxy},
    {"connected_slaves", kProxy},
    {"master_failover_state", kProxy},
    {"master_replid", kProxy},
    {"master_replid2", kProxy},
    {"master_repl_offset", kProxy},
    {"second_repl_offset", kProxy},
    {"repl_backlog_active", kProxy},
    {"repl_backlog_size", kProxy},
    {"repl_backlog_first_byte_offset", kProxy},
    {"repl_backlog_histlen", kProxy},
};

constexpr Field kCpuFields[] = {
    {"used_cpu_sys", kProxy},
    {"used_cpu_user", kProxy},
    {"used_cpu_sys_children", kProxy},
    {"used_cpu_user_children", kProxy},
    {"used_cpu_sys_main_thread", kProxy},
    {"used_cpu_user_main_thread", kProxy},
};

constexpr Field kClusterFields[] = {{"cluster_enabled", kProxy}};

struct SectionSpec {
  uint32_t bit;
  std::string_view name;   // as INFO's argument
  std::string_view title;  // as its "# Title" line
  std::span<const Field> fields;
  std::string_view server_section;  // the servers' section it needs, if any
};

// Sections with no fixed field list (modules, errorstats, keyspace, commandstats,
// latencystats, ringleader) are written by ComposeInfo itself.
const SectionSpec kSections[] = {
    {kInfoServer, "server", "Server", kServerFields, ""},
    {kInfoClients, "clients", "Clients", kClientsFields, ""},
    {kInfoMemory, "memory", "Memory", kMemoryFields, "memory"},
    {kInfoPersistence, "persistence", "Persistence", kPersistenceFields, "persistence"},
    {kInfoStats, "stats", "Stats", kStatsFields, "stats"},
    {kInfoReplication, "replication", "Replication", kReplicationFields, ""},
    {kInfoCpu, "cpu", "CPU", kCpuFields, ""},
    {kInfoModules, "modules", "Modules", {}, ""},
    {kInfoErrorstats, "errorstats", "Errorstats", {}, "errorstats"},
    {kInfoCluster, "cluster", "Cluster", kClusterFields, ""},
    {kInfoKeyspace, "keyspace", "Keyspace", {}, "keyspace"},
    {kInfoCommandstats, "commandstats", "Commandstats", {}, ""},
    {kInfoLatencystats, "latencystats", "Latencystats", {}, ""},
    {kInfoRingleader, "ringleader", "Ringleader", {}, ""},
};

constexpr uint32_t kDefaultSections =
    kInfoServer | kInfoClients | kInfoMemory | kInfoPersistence | kInfoStats | kInfoReplication |
    kInfoCpu | kInfoModules | kInfoErrorstats | kInfoCluster | kInfoKeyspace | kInfoRingleader;
constexpr uint32_t kAllSections = kDefaultSections | kInfoCommandstats | kInfoLatencystats;

// "name:value" lines of an INFO text, in order; headers and blank lines skipped.
std::vector<std::pair<std::string_view, std::string_view>> Lines(std::string_view text) {
  std::vector<std::pair<std::string_view, std::string_view>> out;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (line.empty() || line.starts_with('#')) continue;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    out.emplace_back(line.substr(0, colon), line.substr(colon + 1));
  }
  return out;
}

std::optional<double> Number(std::string_view text) {
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

// A sum or extreme printed as its inputs were: integers as integers.
std::string Format(double v, bool integral) {
  if (integral) return fmt::format("{}", static_cast<int64_t>(v));
  return fmt::format("{:.2f}", v);
}

using LineMap = std::map<std::string_view, std::string_view, std::less<>>;

class Composer {
 public:
  explicit Composer(const InfoInputs& in) : in_(in) {
    for (auto [k, v] : Lines(in.proxy)) proxy_.emplace(k, v);
    for (std::string_view s : in.servers) {
      LineMap m;
      for (auto [k, v] : Lines(s)) m.emplace(k, v);
      servers_.push_back(std::move(m));
    }
  }

  std::string Run() {
    for (const SectionSpec& s : kSections) {
      if ((in_.sections & s.bit) == 0) continue;
      if (!text_.empty()) text_ += "\r\n";
      text_ += fmt::format("# {}\r\n", s.title);
      for (const Field& f : s.fields) WriteField(f);
      if (s.bit == kInfoServer) WriteServersAnswered();
      if (s.bit == kInfoErrorstats) WriteErrorstats();
      if (s.bit == kInfoKeyspace) WriteKeyspace();
      if (s.bit == kInfoCommandstats) WritePrefixed("cmdstat_");
      if (s.bit == kInfoLatencystats) WritePrefixed("latency_percentiles_usec_");
      if (s.bit == kInfoRingleader) WritePrefixed("rl_");
    }
    return std::move(text_);
  }

 private:
  void Line(std::string_view name, std::string_view value) {
    text_ += fmt::format("{}:{}\r\n", name, value);
    combined_[std::string(name)] = std::string(value);
  }

  void WriteField(const Field& f) {
    if (f.source == kProxy) {
      if (auto it = proxy_.find(f.name); it != proxy_.end()) Line(f.name, it->second);
      return;
    }
    if (f.source == kHuman) {
      std::string_view base = f.name.substr(0, f.name.size() - 6);
      auto it = combined_.find(std::string(base));
      if (it == combined_.end()) return;
      if (auto v = Number(it->second)) Line(f.name, BytesToHuman(*v));
      return;
    }
    if (f.source == kRatio) {
      auto used = combined_.find("used_memory");
      auto rss = combined_.find("used_memory_rss");
      if (used == combined_.end() || rss == combined_.end()) return;
      auto u = Number(used->second), r = Number(rss->second);
      if (u && r && *u > 0) Line(f.name, fmt::format("{:.2f}", *r / *u));
      return;
    }
    std::optional<std::string> v = Combine(f);
    if (v) Line(f.name, *v);
  }

  std::optional<std::string> Combine(const Field& f) {
    std::optional<double> acc;
    std::optional<std::string_view> first;
    bool integral = true;
    for (const LineMap& m : servers_) {
      auto it = m.find(f.name);
      if (it == m.end()) continue;
      std::string_view value = it->second;
      if (f.source == kFirst) return std::string(value);
      if (f.source == kWorst) {
        if (!first || (*first == "ok" && value != "ok")) first = value;
        continue;
      }
      std::optional<double> n = Number(value);
      if (!n) {
        if (!first) first = value;  // not a number after all: the first server's
        continue;
      }
      integral = integral && value.find('.') == std::string_view::npos;
      if (!acc) {
        acc = *n;
      } else if (f.source == kSum) {
        *acc += *n;
      } else if (f.source == kMax) {
        *acc = std::max(*acc, *n);
      } else {
        *acc = std::min(*acc, *n);
      }
    }
    if (acc) return Format(*acc, integral);
    if (first) return std::string(*first);
    return std::nullopt;
  }

  void WriteServersAnswered() {
    if (!in_.asked_servers) return;
    Line("pool_servers_answered", fmt::format("{}", in_.servers.size()));
    if (in_.failures.empty()) return;
    std::string joined;
    for (const std::string& f : in_.failures) {
      if (!joined.empty()) joined += "; ";
      joined += f;
    }
    for (char& c : joined) {
      if (c == '\r' || c == '\n') c = ' ';
    }
    Line("pool_servers_failed", joined);
  }

  // "errorstat_ERR:count=3": the counts of each error summed over the servers.
  void WriteErrorstats() {
    std::map<std::string_view, int64_t> counts;
    for (const LineMap& m : servers_) {
      for (auto [k, v] : m) {
        if (!k.starts_with("errorstat_") || !v.starts_with("count=")) continue;
        counts[k] += Number(v.substr(6)).value_or(0);
      }
    }
    for (auto [k, n] : counts) Line(k, fmt::format("count={}", n));
  }

  // "db0:keys=3,expires=1,avg_ttl=500": keys and expires summed, avg_ttl weighted by expires.
  void WriteKeyspace() {
    struct Db {
      double keys = 0, expires = 0, ttl_weighted = 0;
    };
    std::map<int, Db> dbs;
    for (const LineMap& m : servers_) {
      for (auto [k, v] : m) {
        int index = 0;
        if (!k.starts_with("db") ||
            std::from_chars(k.data() + 2, k.data() + k.size(), index).ec != std::errc()) {
          continue;
        }
        Db one;
        double ttl = 0;
        for (auto [name, value] : Lines(Replace(v))) {
          double n = Number(value).value_or(0);
          if (name == "keys") one.keys = n;
          if (name == "expires") one.expires = n;
          if (name == "avg_ttl") ttl = n;
        }
        Db& d = dbs[index];
        d.keys += one.keys;
        d.expires += one.expires;
        d.ttl_weighted += ttl * one.expires;
      }
    }
    for (auto [index, d] : dbs) {
      double ttl = d.expires > 0 ? d.ttl_weighted / d.expires : 0;
      Line(fmt::format("db{}", index),
           fmt::format("keys={},expires={},avg_ttl={}", static_cast<int64_t>(d.keys),
                       static_cast<int64_t>(d.expires), static_cast<int64_t>(ttl)));
    }
  }

  // "keys=3,expires=1" as "keys:3\nexpires:1" for Lines().
  std::string_view Replace(std::string_view v) {
    scratch_.assign(v);
    for (char& c : scratch_) {
      if (c == ',') c = '\n';
      if (c == '=') c = ':';
    }
    return scratch_;
  }

  // The proxy's lines whose names start with `prefix`, in the proxy's order.
  void WritePrefixed(std::string_view prefix) {
    for (auto [k, v] : Lines(in_.proxy)) {
      if (k.starts_with(prefix)) Line(k, v);
    }
  }

  const InfoInputs& in_;
  LineMap proxy_;
  std::vector<LineMap> servers_;
  std::map<std::string, std::string, std::less<>> combined_;
  std::string scratch_;
  std::string text_;
};

}  // namespace

uint32_t ParseInfoSections(std::span<const std::string_view> args) {
  if (args.empty()) return kDefaultSections;
  uint32_t bits = 0;
  for (std::string_view a : args) {
    if (EqualsIgnoreCase(a, "default")) {
      bits |= kDefaultSections;
    } else if (EqualsIgnoreCase(a, "all") || EqualsIgnoreCase(a, "everything")) {
      bits |= kAllSections;
    } else {
      for (const SectionSpec& s : kSections) {
        if (EqualsIgnoreCase(a, s.name)) bits |= s.bit;
      }
    }
  }
  return bits;
}

std::string ServerInfoSections(uint32_t sections) {
  std::string out;
  for (const SectionSpec& s : kSections) {
    if ((sections & s.bit) == 0 || s.server_section.empty()) continue;
    if (!out.empty()) out += ' ';
    out += s.server_section;
  }
  return out;
}

std::string ComposeInfo(const InfoInputs& in) { return Composer(in).Run(); }

std::string BytesToHuman(double bytes) {
  constexpr std::string_view kUnits = "KMGTPE";
  if (bytes < 1024) return fmt::format("{}B", static_cast<int64_t>(bytes));
  double v = bytes / 1024;
  size_t unit = 0;
  while (v >= 1024 && unit + 1 < kUnits.size()) {
    v /= 1024;
    ++unit;
  }
  return fmt::format("{:.2f}{}", v, kUnits[unit]);
}

void MergeInfoFragments(Request* parent) {
  std::string proxy = std::move(parent->reply_own);
  InfoInputs in;
  in.sections = static_cast<uint32_t>(parent->merge_arg);
  in.proxy = proxy;
  in.asked_servers = true;
  for (const Request* f : parent->fragments) {
    ReplyValue v;
    std::string_view label =
        f->backend_label != nullptr ? std::string_view(*f->backend_label) : "?";
    if (!f->reply_is_error && ReadReplyValue(f->reply, &v) && v.type == '$' && !v.null) {
      in.servers.push_back(v.text);
      continue;
    }
    std::string_view why = f->reply;
    if (why.starts_with('-')) why.remove_prefix(1);
    while (why.ends_with('\n') || why.ends_with('\r')) why.remove_suffix(1);
    // ringleader's own errors already name the server.
    in.failures.push_back(f->reply_is_error ? std::string(why) : fmt::format("{}: {}", label, why));
  }
  parent->reply_own.clear();
  AppendBulk(&parent->reply_own, ComposeInfo(in));
}

}  // namespace rl::proxy
