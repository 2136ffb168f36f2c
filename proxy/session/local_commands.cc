#include "proxy/session/local_commands.h"

#include <fnmatch.h>

#include <algorithm>

#include "fmt/format.h"
#include "proxy/base/ascii.h"
#include "proxy/base/decimal.h"
#include "proxy/commands/command_replies.h"
#include "proxy/commands/command_table.h"
#include "proxy/io/client_conn.h"
#include "proxy/resp/reply_writer.h"
#include "proxy/resp/resp_parser.h"
#include "proxy/route/pool_router.h"
#include "proxy/session/admin_commands.h"
#include "proxy/session/client_session.h"
#include "proxy/session/info.h"

namespace rl::proxy {

namespace {

constexpr std::string_view kWrongPass =
    "-WRONGPASS invalid username-password pair or user is disabled.\r\n";

// Redis's rule for client names and library names: printable, no spaces.
bool ValidName(std::string_view s) {
  for (char c : s) {
    if (c < '!' || c > '~') return false;
  }
  return true;
}

// AUTH and HELLO AUTH against the pool's password. Returns the error reply, or empty on
// success (the caller then marks `st` authenticated). A wrong password leaves a client with
// ringleader's own client_auth as it was, as Redis 7 keeps an earlier AUTH; but when the
// password is the pool's redis_auth (no client_auth), it logs the client out: nutcracker 0.5.0
// drops a connection's authentication on a failed AUTH, and a drop-in replacement must not keep
// open a door that nutcracker shuts.
std::string_view CheckPassword(PoolRouter* pool, ClientState* st, std::string_view user,
                               std::string_view pass) {
  const std::string& password = pool->client_password();
  if (user == "default" && (password.empty() || pass == password)) return {};
  if (!password.empty() && pool->conf().client_auth.empty()) st->authenticated = false;
  return kWrongPass;
}

void Hello(PoolRouter* pool, ClientConn* client, std::string* out,
           std::span<const std::string_view> argv) {
  size_t next = 1;
  if (argv.size() >= 2) {
    int64_t version = 0;
    if (!ParseStrictInt(argv[1], &version)) {
      AppendError(out, "ERR Protocol version is not an integer or out of range");
      return;
    }
    if (version == 3) {
      AppendError(out, "NOPROTO sorry, this protocol version is not supported");
      return;
    }
    if (version != 2) {
      AppendError(out, "NOPROTO unsupported protocol version");
      return;
    }
    next = 2;
  }
  std::string_view user, pass, name;
  bool has_auth = false, has_name = false;
  for (size_t j = next; j < argv.size(); ++j) {
    size_t more = argv.size() - 1 - j;
    if (EqualsIgnoreCase(argv[j], "auth") && more >= 2) {
      user = argv[j + 1];
      pass = argv[j + 2];
      has_auth = true;
      j += 2;
    } else if (EqualsIgnoreCase(argv[j], "setname") && more >= 1) {
      name = argv[j + 1];
      has_name = true;
      j += 1;
    } else {
      AppendError(out, fmt::format("ERR Syntax error in HELLO option '{}'", argv[j]));
      return;
    }
  }
  ClientState& st = client->state();
  if (has_auth) {
    if (std::string_view err = CheckPassword(pool, &st, user, pass); !err.empty()) {
      out->append(err);
      return;
    }
    st.authenticated = true;
  }
  if (!st.authenticated) {
    AppendError(out,
                "NOAUTH HELLO must be called with the client already authenticated, otherwise "
                "the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the "
                "client and select the RESP protocol version at the same time");
    return;
  }
  if (has_name) {
    if (!ValidName(name)) {
      AppendError(out, "ERR Client names cannot contain spaces, newlines or special characters.");
      return;
    }
    st.name.assign(name);
    if (ClientSession* session = client->session(); session != nullptr) session->OnNameChanged();
  }
  AppendArrayHeader(out, 14);
  AppendBulk(out, "server");
  AppendBulk(out, "redis");
  AppendBulk(out, "version");
  AppendBulk(out, kRedisVersion);
  AppendBulk(out, "proto");
  AppendInteger(out, 2);
  AppendBulk(out, "id");
  AppendInteger(out, static_cast<int64_t>(st.id));
  AppendBulk(out, "mode");
  AppendBulk(out, "standalone");
  AppendBulk(out, "role");
  AppendBulk(out, "master");
  AppendBulk(out, "modules");
  AppendArrayHeader(out, 0);
}

std::string ClientInfoLine(ClientConn* client) {
  const ClientState& st = client->state();
  uint64_t now = client->worker()->now_ms();
  return fmt::format(
      "id={} addr={} laddr={} fd=-1 name={} age={} idle={} flags=N db=0 sub=0 psub=0 ssub=0 "
      "multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 "
      "tot-mem=0 events=r cmd=client|info user=default redir=-1 resp=2 lib-name={} lib-ver={}\n",
      st.id, st.address, st.local_address, st.name, (now - st.created_ms) / 1000,
      (now - st.last_command_ms) / 1000, st.lib_name, st.lib_version);
}

void Client(ClientConn* client, std::string* out, const CommandInfo& info,
            std::span<const std::string_view> argv) {
  ClientState& st = client->state();
  Handler sub = info.handler;
  if (sub == Handler::kClientId) {
    AppendInteger(out, static_cast<int64_t>(st.id));
  } else if (sub == Handler::kClientGetname) {
    if (st.name.empty()) {
      AppendNullBulk(out);
    } else {
      AppendBulk(out, st.name);
    }
  } else if (sub == Handler::kClientSetname) {
    if (!ValidName(argv[2])) {
      AppendError(out, "ERR Client names cannot contain spaces, newlines or special characters.");
      return;
    }
    st.name.assign(argv[2]);
    if (ClientSession* session = client->session(); session != nullptr) session->OnNameChanged();
    AppendStatus(out, "OK");
  } else if (sub == Handler::kClientSetinfo) {
    bool lib_name = EqualsIgnoreCase(argv[2], "lib-name");
    if (!lib_name && !EqualsIgnoreCase(argv[2], "lib-ver")) {
      AppendError(out, fmt::format("ERR Unrecognized option '{}'", argv[2]));
      return;
    }
    if (!ValidName(argv[3])) {
      AppendError(out, fmt::format("ERR {} cannot contain spaces, newlines or special characters.",
                                   lib_name ? "lib-name" : "lib-ver"));
      return;
    }
    (lib_name ? st.lib_name : st.lib_version).assign(argv[3]);
    AppendStatus(out, "OK");
  } else if (sub == Handler::kClientReply) {
    // As Redis: OFF and SKIP are not answered themselves, ON answers +OK (even right after a
    // SKIP), a bad argument gets an error (heard only if replies are on and not skipped).
    // RunLocalCommand sets the request's silence from the new state.
    if (EqualsIgnoreCase(argv[2], "on")) {
      st.replies_off = st.skip_next_reply = false;
      AppendStatus(out, "OK");
    } else if (EqualsIgnoreCase(argv[2], "off")) {
      st.replies_off = true;
      AppendStatus(out, "OK");
    } else if (EqualsIgnoreCase(argv[2], "skip")) {
      if (!st.replies_off) st.skip_next_reply = true;
      AppendStatus(out, "OK");
    } else {
      AppendError(out, "ERR syntax error");
    }
  } else if (sub == Handler::kClientInfo) {
    AppendBulk(out, ClientInfoLine(client));
  } else {
    AppendError(out, fmt::format("ERR unknown subcommand '{}'. Try CLIENT HELP.", argv[1]));
  }
}

// Top-level commands as COMMAND lists them (Redis's bytes for each entry).
const std::string& AllCommandsReply() {
  static const std::string reply = [] {
    std::string body;
    int64_t n = 0;
    for (const CommandInfo& c : AllCommands()) {
      if (c.name.find('|') != std::string_view::npos) continue;
      std::string_view entry = CommandInfoReply(c);
      if (entry.empty()) continue;
      body.append(entry);
      ++n;
    }
    std::string out;
    AppendArrayHeader(&out, n);
    return out + body;
  }();
  return reply;
}

// A command by the name COMMAND INFO/DOCS accept: "get" or "config|get".
const CommandInfo* LookupByFullName(std::string_view name) {
  size_t bar = name.find('|');
  if (bar == std::string_view::npos) {
    const CommandInfo* c = FindCommand(name);
    return c != nullptr && c->name.find('|') == std::string_view::npos ? c : nullptr;
  }
  const CommandInfo* c = FindCommand(name.substr(0, bar), name.substr(bar + 1));
  return c != nullptr && c->name.size() == name.size() ? c : nullptr;
}

void Command(std::string* out, const CommandInfo& info, std::span<const std::string_view> argv) {
  Handler sub = info.handler;
  if (sub == Handler::kCommand) {
    out->append(AllCommandsReply());
  } else if (sub == Handler::kCommandCount) {
    int64_t n = 0;
    for (const CommandInfo& c : AllCommands()) {
      n += c.name.find('|') == std::string_view::npos && !CommandInfoReply(c).empty();
    }
    AppendInteger(out, n);
  } else if (sub == Handler::kCommandInfo) {
    if (argv.size() == 2) {
      out->append(AllCommandsReply());
      return;
    }
    AppendArrayHeader(out, static_cast<int64_t>(argv.size() - 2));
    for (size_t i = 2; i < argv.size(); ++i) {
      const CommandInfo* c = LookupByFullName(argv[i]);
      std::string_view entry = c != nullptr ? CommandInfoReply(*c) : std::string_view{};
      if (entry.empty()) {
        AppendNullBulk(out);
      } else {
        out->append(entry);
      }
    }
  } else if (sub == Handler::kCommandDocs) {
    std::string body;
    int64_t n = 0;
    auto add = [&](const CommandInfo& c) {
      std::string_view docs = CommandDocsReply(c);
      if (docs.empty()) return;
      AppendBulk(&body, c.name);
      body.append(docs);
      ++n;
    };
    if (argv.size() == 2) {
      for (const CommandInfo& c : AllCommands()) {
        if (c.name.find('|') == std::string_view::npos) add(c);
      }
    } else {
      for (size_t i = 2; i < argv.size(); ++i) {
        if (const CommandInfo* c = LookupByFullName(argv[i])) add(*c);
      }
    }
    AppendArrayHeader(out, n * 2);
    out->append(body);
  } else if (sub == Handler::kCommandList) {
    int64_t n = 0;
    std::string body;
    for (const CommandInfo& c : AllCommands()) {
      AppendBulk(&body, c.name);
      ++n;
    }
    AppendArrayHeader(out, n);
    out->append(body);
  } else {
    AppendError(out, fmt::format("ERR unknown subcommand '{}'. Try COMMAND HELP.", argv[1]));
  }
}

// What CONFIG GET answers: the settings clients and redis-benchmark ask about at start-up.
void ConfigGet(PoolRouter* pool, std::string* out, std::span<const std::string_view> argv) {
  const conf::Pool& p = pool->conf();
  const std::pair<std::string_view, std::string> kSettings[] = {
      {"appendonly", "no"},
      {"bind", p.listen.kind == conf::Address::Kind::kTcp ? p.listen.host : ""},
      {"cluster-enabled", "no"},
      {"databases", "1"},
      {"maxclients", "10000"},
      {"maxmemory", "0"},
      {"maxmemory-policy", "noeviction"},
      {"port", p.listen.kind == conf::Address::Kind::kTcp ? std::to_string(p.listen.port) : "0"},
      {"proto-max-bulk-len", "536870912"},
      {"save", ""},
      {"timeout", "0"},
      {"unixsocket", p.listen.kind == conf::Address::Kind::kUnix ? p.listen.path : ""},
  };
  std::string body;
  int64_t n = 0;
  for (const auto& [name, value] : kSettings) {
    for (size_t i = 2; i < argv.size(); ++i) {
      std::string pattern(argv[i]);
      std::string key(name);
      if (fnmatch(pattern.c_str(), key.c_str(), FNM_CASEFOLD) == 0) {
        AppendBulk(&body, name);
        AppendBulk(&body, value);
        n += 2;
        break;
      }
    }
  }
  AppendArrayHeader(out, n);
  out->append(body);
}

}  // namespace

void RunLocalCommand(PoolRouter* pool, ClientConn* client, Request* r, const CommandInfo& info,
                     std::span<const std::string_view> argv) {
  std::string* out = &r->reply_own;
  out->clear();
  ClientState& st = client->state();
  switch (info.handler) {
    case Handler::kPing:
      if (argv.size() > 2) {
        AppendError(out, "ERR wrong number of arguments for 'ping' command");
      } else if (argv.size() == 2) {
        AppendBulk(out, argv[1]);
      } else {
        AppendStatus(out, "PONG");
      }
      break;
    case Handler::kEcho:
      AppendBulk(out, argv[1]);
      break;
    case Handler::kQuit:
      AppendStatus(out, "OK");
      r->close_after = true;
      break;
    case Handler::kSelect: {
      int64_t db = 0;
      if (!ParseStrictInt(argv[1], &db)) {
        AppendError(out, "ERR value is not an integer or out of range");
      } else if (db != 0) {
        AppendError(out, "ERR DB index is out of range");
      } else {
        AppendStatus(out, "OK");
      }
      break;
    }
    case Handler::kAuth:
      if (argv.size() > 3) {
        AppendError(out, "ERR syntax error");
      } else if (argv.size() == 2 && pool->client_password().empty()) {
        AppendError(out,
                    "ERR AUTH <password> called without any password configured for the default "
                    "user. Are you sure your configuration is correct?");
      } else {
        std::string_view user = argv.size() == 3 ? argv[1] : "default";
        std::string_view err = CheckPassword(pool, &st, user, argv.back());
        if (err.empty()) {
          st.authenticated = true;
          AppendStatus(out, "OK");
        } else {
          out->append(err);
        }
      }
      break;
    case Handler::kHello:
      Hello(pool, client, out, argv);
      break;
    case Handler::kReset:
      // Ends a transaction, WATCH, subscriptions, and the client's own server connections.
      if (ClientSession* session = client->session(); session != nullptr) session->Reset();
      st.name.clear();
      st.fence.reset();  // LOCK.FENCE
      st.authenticated = pool->client_password().empty();
      AppendStatus(out, "RESET");
      break;
    case Handler::kReadonly:
      AppendStatus(out, "OK");
      break;
    case Handler::kClientId:
    case Handler::kClientGetname:
    case Handler::kClientSetname:
    case Handler::kClientSetinfo:
    case Handler::kClientInfo:
      Client(client, out, info, argv);
      break;
    case Handler::kClientReply:
      Client(client, out, info, argv);
      if (EqualsIgnoreCase(argv[2], "on")) {
        r->silent = false;  // ON is heard even when an earlier SKIP meant this request
      } else if (EqualsIgnoreCase(argv[2], "off") || EqualsIgnoreCase(argv[2], "skip")) {
        r->silent = true;
      }
      break;
    case Handler::kInfo:
      RunInfo(pool, client, r, argv);  // completes `r`, maybe later
      return;
    case Handler::kCommand:
    case Handler::kCommandCount:
    case Handler::kCommandDocs:
    case Handler::kCommandInfo:
    case Handler::kCommandList:
      Command(out, info, argv);
      break;
    case Handler::kConfigGet:
      ConfigGet(pool, out, argv);
      break;
    case Handler::kRingleader:
      RunRingleaderCommand(pool, client, r, argv);  // completes `r`, maybe later
      return;
    default:  // a row of another family, or COMMAND GETKEYS (a server answers it)
      AppendError(out, fmt::format("ERR '{}' is not answered by ringleader", info.name));
      break;
  }
  r->UseOwnReply();
  r->done = true;
  client->OnReplyReady(r);
}

}  // namespace rl::proxy
