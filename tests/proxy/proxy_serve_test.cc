// The serving process: graceful SIGTERM/SIGINT (in-flight requests finish, bounded), pid file,
// the ringleader: section's limits (and a flag winning over one), log file reopened on SIGHUP,
// unix-socket listeners with permissions, several workers.
// Runs the ringleader binary as a child process.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "fmt/format.h"
#include "gtest/gtest.h"
#include "tests/proxy/proxy_fixture.h"
#include "tests/proxy/served_process.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace rl::testing {
namespace {

TEST(ServeTest, PidFileAndCleanExitOnSigterm) {
  auto s = Serve();
  ASSERT_TRUE(s);
  EXPECT_EQ(ReadFile(s->pid), std::to_string(s->proxy->pid()) + "\n");
  s->proxy->Signal(SIGTERM);
  int status = s->proxy->WaitExit(std::chrono::seconds(10));
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_NE(access(s->pid.c_str(), F_OK), 0) << "pid file left behind";
  EXPECT_NE(ReadFile(s->log).find("stopped"), std::string::npos);
}

TEST(ServeTest, InFlightRequestsFinishAfterSigint) {
  auto s = Serve();
  ASSERT_TRUE(s);
  auto c = RawConn::Connect(s->port);
  c->Send("PING\r\n");
  ASSERT_EQ(c->ReadReply(), "+PONG\r\n");
  kill(s->redis->pid(), SIGSTOP);
  c->Send(Resp({"SET", "k", "v"}));
  // Let the request reach the paused backend (PING, SET and this INFO itself: 3 commands),
  // then ask the proxy to stop.
  ASSERT_TRUE(WaitFor([&] { return InfoField(s->port, "total_commands_processed") >= 3; }));
  s->proxy->Signal(SIGINT);
  ASSERT_TRUE(WaitFor([&] { return ReadFile(s->log).find("signal 2") != std::string::npos; }));
  // No new connections once stopping.
  EXPECT_TRUE(WaitFor([&] { return RawConn::Connect(s->port) == nullptr; }));
  kill(s->redis->pid(), SIGCONT);
  EXPECT_EQ(c->ReadReply(), "+OK\r\n");
  int status = s->proxy->WaitExit(std::chrono::seconds(10));
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(ServeTest, ShutdownIsBoundedWhenABackendHangs) {
  auto s = Serve("", {"--shutdown-grace", "300"});
  ASSERT_TRUE(s);
  auto c = RawConn::Connect(s->port);
  kill(s->redis->pid(), SIGSTOP);
  c->Send(Resp({"GET", "k"}));
  // The GET is in flight (it and this INFO: 2 commands) before the stop is asked for.
  ASSERT_TRUE(WaitFor([&] { return InfoField(s->port, "total_commands_processed") >= 2; }));
  s->proxy->Signal(SIGTERM);
  // It exits while the backend is still stopped, so the grace period, not the backend, ended
  // the wait (the log says so).
  int status = s->proxy->WaitExit(std::chrono::seconds(10));
  kill(s->redis->pid(), SIGCONT);
  ASSERT_TRUE(WIFEXITED(status)) << "still draining 10 s after SIGTERM";
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_NE(ReadFile(s->log).find("still busy after the shutdown grace period"), std::string::npos)
      << ReadFile(s->log);
  EXPECT_EQ(c->ReadToEof(), "");  // closed without a reply
}

TEST(ServeTest, RingleaderSectionSetsTheRequestLimits) {
  // proto_max_bulk_len from the file: a 2 MB argument is refused at its header, before any of
  // its bytes are sent (with the default 512 MB the proxy would wait for them).
  auto s = Serve("", {}, "ringleader:\n  proto_max_bulk_len: 1048576\n");
  ASSERT_TRUE(s);
  auto c = RawConn::Connect(s->port);
  ASSERT_TRUE(c);
  c->Send("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2000000\r\n");
  EXPECT_EQ(c->ReadReply(), "-ERR Protocol error: invalid bulk length\r\n");
  EXPECT_EQ(c->ReadToEof(), "");
  EXPECT_TRUE(c->closed());
}

TEST(ServeTest, ShutdownGraceFlagWinsOverTheFile) {
  // The file asks for 10 minutes, the flag for 300 ms: the flag's bound is the one kept.
  auto s = Serve("", {"--shutdown-grace", "300"}, "ringleader:\n  shutdown_grace: 600000\n");
  ASSERT_TRUE(s);
  auto c = RawConn::Connect(s->port);
  kill(s->redis->pid(), SIGSTOP);
  c->Send(Resp({"GET", "k"}));
  // The GET is in flight (it and this INFO: 2 commands) before the stop is asked for.
  ASSERT_TRUE(WaitFor([&] { return InfoField(s->port, "total_commands_processed") >= 2; }));
  s->proxy->Signal(SIGTERM);
  int status = s->proxy->WaitExit(std::chrono::seconds(10));
  kill(s->redis->pid(), SIGCONT);
  ASSERT_TRUE(WIFEXITED(status)) << "still draining after 10 s: the file's grace was used";
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(ServeTest, SighupReopensTheLogFile) {
  auto s = Serve("", {"-v", "6"});
  ASSERT_TRUE(s);
  std::string rotated = s->log + ".1";
  ASSERT_EQ(rename(s->log.c_str(), rotated.c_str()), 0);
  s->proxy->Signal(SIGHUP);
  EXPECT_TRUE(
      WaitFor([&] { return ReadFile(s->log).find("log file reopened") != std::string::npos; }));
  EXPECT_NE(ReadFile(rotated).find("listening"), std::string::npos);
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// nutcracker's signals, sent with kill(2): each is logged as nutcracker logs it and none stops
// or kills the process; TTIN and TTOU move the verbosity one step, which a line logged only at
// -v 6 (a client's protocol error) shows.
TEST(ServeTest, NutcrackerSignalsAreHandledAsNutcrackerDoes) {
  auto s = Serve();  // -v 5: protocol errors (logged at 6) are not written
  ASSERT_TRUE(s);
  auto alive = [&] {
    auto c = RawConn::Connect(s->port);
    return c && c->Send("PING\r\n") && c->ReadReply() == "+PONG\r\n";
  };
  auto logged = [&](const std::string& line) {
    return WaitFor([&] { return ReadFile(s->log).find(line) != std::string::npos; });
  };
  for (auto [signum, line] : {std::pair{SIGUSR1, "signal 10 (SIGUSR1) received"},
                              {SIGUSR2, "signal 12 (SIGUSR2) received"},
                              {SIGPIPE, ""}}) {
    s->proxy->Signal(signum);
    if (*line != '\0') {
      EXPECT_TRUE(logged(line)) << line;
    }
    EXPECT_TRUE(alive()) << "after signal " << signum;
  }
  // A protocol error, logged at -v 6 before its reply is sent: once the reply is read, whether
  // the line was written is decided.
  auto protocol_error = [&] {
    auto c = RawConn::Connect(s->port);
    ASSERT_TRUE(c);
    c->Send("*1\r\n$x\r\n");
    EXPECT_TRUE(c->ReadToEof().starts_with("-ERR Protocol error"));
  };
  const std::string closing = "Protocol error: invalid bulk length; closing";
  protocol_error();  // at 5: not logged
  s->proxy->Signal(SIGTTIN);
  ASSERT_TRUE(logged("signal 21 (SIGTTIN) received, up logging level"));
  ASSERT_TRUE(logged("up log level to 6"));
  protocol_error();  // at 6: logged
  ASSERT_TRUE(logged(closing));
  s->proxy->Signal(SIGTTOU);
  ASSERT_TRUE(logged("down log level to 5"));
  protocol_error();  // at 5 again: not logged
  s->proxy->Signal(SIGTTIN);
  ASSERT_TRUE(WaitFor([&] { return Count(ReadFile(s->log), "up log level to 6") == 2; }));
  protocol_error();  // the marker: logged, and after it the count is final
  ASSERT_TRUE(WaitFor([&] { return Count(ReadFile(s->log), closing) >= 2; }));
  std::string log = ReadFile(s->log);
  EXPECT_EQ(Count(log, closing), 2u) << log;  // the two at -v 6, none of the two at -v 5
  EXPECT_LT(log.find("up log level to 6"), log.find(closing)) << log;
  EXPECT_TRUE(alive());
  // The level stops at the scale's end: of 7 TTOUs from 6, six step down to 0 and the last only
  // logs the signal.
  for (size_t i = 2; i <= 8; ++i) {  // one at a time: a signal sent while one is pending merges
    s->proxy->Signal(SIGTTOU);
    ASSERT_TRUE(WaitFor([&] { return Count(ReadFile(s->log), "down logging level") == i; }));
  }
  log = ReadFile(s->log);
  EXPECT_NE(log.find("down log level to 0"), std::string::npos) << log;
  EXPECT_EQ(log.find("down log level to -1"), std::string::npos) << log;
  EXPECT_TRUE(alive());
}

// The top of the scale: from -v 10, TTIN raises to 11 (nutcracker's LOG_PVERB) and no further;
// the second TTIN only logs the signal. A SIGUSR1 sent after the second TTIN's line is the marker:
// signals are served one at a time on the control loop, so once its line is there the TTIN's
// handler has written everything it will.
TEST(ServeTest, SignalsRaiseTheLogLevelNoHigherThanEleven) {
  auto s = Serve("", {"-v", "10"});
  ASSERT_TRUE(s);
  auto count = [&](const std::string& what) { return Count(ReadFile(s->log), what); };
  const std::string up = "signal 21 (SIGTTIN) received, up logging level";
  s->proxy->Signal(SIGTTIN);
  ASSERT_TRUE(WaitFor([&] { return count("up log level to 11") == 1; }));
  s->proxy->Signal(SIGTTIN);
  ASSERT_TRUE(WaitFor([&] { return count(up) == 2; }));
  s->proxy->Signal(SIGUSR1);
  ASSERT_TRUE(WaitFor([&] { return count("signal 10 (SIGUSR1) received") == 1; }));
  std::string log = ReadFile(s->log);
  EXPECT_EQ(Count(log, "up log level to"), 1u) << log;
  EXPECT_EQ(log.find("up log level to 12"), std::string::npos) << log;
  auto c = RawConn::Connect(s->port);
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->Send("PING\r\n"));
  EXPECT_EQ(c->ReadReply(), "+PONG\r\n");
}

// Under a low open-file limit it cannot raise, ringleader refuses the clients past what the
// limit leaves (64 descriptors kept for itself, 1 listener, 1 server connection, 1 subscriber
// connection the worker's pub/sub clients share) with Redis's
// error instead of failing accept(2) and leaving them hanging; a soft limit below the hard one is
// raised first.
// A blocking command's own server connection counts as a client in the open-file budget, and a
// refused client gives its descriptor back at once: a burst of 150 BLPOP clients under 100
// descriptors gets 150 replies (served, or Redis's refusal), none is reset or left hanging, and
// the process keeps serving.
TEST(ServeTest, ABurstOfBlockingClientsPastTheLimitIsAnsweredNotDropped) {
  auto s = Serve("", {}, "", {"prlimit", "--nofile=100:100"});
  ASSERT_TRUE(s);
  std::vector<std::unique_ptr<RawConn>> clients;
  for (int i = 0; i < 150; ++i) {
    clients.push_back(RawConn::Connect(s->port));
    ASSERT_TRUE(clients.back()) << i;
    ASSERT_TRUE(clients.back()->Send(Resp({"BLPOP", fmt::format("q{}", i % 10), "0.2"})));
  }
  size_t served = 0, refused = 0;
  for (size_t i = 0; i < clients.size(); ++i) {
    std::string reply = clients[i]->ReadReply(std::chrono::seconds(10));
    if (reply == "*-1\r\n") {
      ++served;
    } else {
      EXPECT_NE(reply.find("max number of clients reached"), std::string::npos)
          << "client " << i << ": " << reply;
      ++refused;
    }
  }
  // How many are served depends on how far the accepts got before the first BLPOP needed its
  // connection; past the 33 places some are always refused.
  EXPECT_EQ(served + refused, clients.size());
  EXPECT_GT(refused, 0u);
  clients.clear();
  EXPECT_TRUE(WaitFor([&] {
    auto c = RawConn::Connect(s->port);
    return c && c->Send("PING\r\n") && c->ReadReply() == "+PONG\r\n";
  }));
  EXPECT_EQ(ReadFile(s->log).find("Too many open files"), std::string::npos);
}

TEST(ServeTest, ClientsPastTheOpenFileLimitAreRefusedWithAReply) {
  auto s = Serve("", {}, "", {"prlimit", "--nofile=100:100"});
  ASSERT_TRUE(s);
  const size_t capacity = 100 - 64 - 1 - 1 - 1;
  std::vector<std::unique_ptr<RawConn>> clients;
  for (size_t i = 0; i < capacity; ++i) {
    clients.push_back(RawConn::Connect(s->port));
    ASSERT_TRUE(clients.back()) << i;
    clients.back()->Send("PING\r\n");
    ASSERT_EQ(clients.back()->ReadReply(), "+PONG\r\n") << i;
  }
  for (int extra = 0; extra < 3; ++extra) {
    auto refused = RawConn::Connect(s->port);
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->ReadToEof(), "-ERR max number of clients reached\r\n") << extra;
  }
  clients.pop_back();  // one leaves: a new client gets its place
  ASSERT_TRUE(WaitFor([&] {
    auto c = RawConn::Connect(s->port);
    return c && c->Send("PING\r\n") && c->ReadReply() == "+PONG\r\n";
  }));
  auto raised = Serve("", {}, "", {"prlimit", "--nofile=100:4096"});
  ASSERT_TRUE(raised);
  EXPECT_TRUE(WaitFor([&] {
    return ReadFile(raised->log).find("raised the open-file limit from 100 to 4096") !=
           std::string::npos;
  }));
}

TEST(ServeTest, StartFailureExitsNonZero) {
  // The port is taken: bind fails, the process says so and exits 1.
  auto s = Serve();
  ASSERT_TRUE(s);
  std::string conf = s->dir.Write(
      "clash.yml",
      fmt::format("pool:\n  listen: 127.0.0.1:{}\n  servers:\n    - 127.0.0.1:1:1\n", s->port));
  std::string log = s->dir.File("clash.log");
  auto child = ChildProcess::Spawn({RingleaderBinary(), "-c", conf}, log);
  ASSERT_TRUE(child);
  int status = child->WaitExit(std::chrono::seconds(10));
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1);
  EXPECT_NE(ReadFile(log).find("Address already in use"), std::string::npos) << ReadFile(log);
}

TEST(ListenTest, UnixSocketWithPermissions) {
  auto redis = RedisServer::Start();
  ASSERT_TRUE(redis);
  TempDir dir;
  std::string path = dir.File("rl.sock");
  std::string yaml =
      fmt::format("pool:\n  listen: {} 0600\n  redis: true\n  servers:\n    - 127.0.0.1:{}:1\n",
                  path, (*redis)->port());
  auto config = conf::Parse(yaml, "unix.yml");
  ASSERT_TRUE(config) << config.error()[0].ToString();
  auto proxy = proxy::Proxy::Start(*config, {});
  ASSERT_TRUE(proxy) << proxy.error();
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto c = RawConn::ConnectUnix(path);
  ASSERT_TRUE(c);
  c->Send("PING\r\n" + Resp({"SET", "u", "1"}) + "CLIENT INFO\r\n");
  EXPECT_EQ(c->ReadReply(), "+PONG\r\n");
  EXPECT_EQ(c->ReadReply(), "+OK\r\n");
  EXPECT_NE(c->ReadReply().find("addr=" + path + ":0"), std::string::npos);
}

TEST(ListenTest, SeveralWorkersShareThePort) {
  auto t = ProxyUnderTest::Start(2, "  workers: 3\n");
  EXPECT_EQ(t->proxy->worker_count(), 3u);
  std::vector<std::unique_ptr<RawConn>> conns;
  for (int i = 0; i < 60; ++i) {
    conns.push_back(t->Raw());
    ASSERT_TRUE(conns.back());
  }
  for (size_t i = 0; i < conns.size(); ++i) {
    std::string key = "w:" + std::to_string(i);
    conns[i]->Send(Resp({"SET", key, std::to_string(i)}) + Resp({"GET", key}) +
                   Resp({"MGET", key, "w:0"}));
  }
  for (size_t i = 0; i < conns.size(); ++i) {
    std::string v = std::to_string(i);
    EXPECT_EQ(conns[i]->ReadReply(), "+OK\r\n");
    EXPECT_EQ(conns[i]->ReadReply(), fmt::format("${}\r\n{}\r\n", v.size(), v));
    EXPECT_TRUE(conns[i]->ReadReply().starts_with("*2\r\n"));
  }
  // INFO sums every worker's counters.
  EXPECT_GE(InfoField(t->port, "connected_clients"), 60);
  EXPECT_EQ(InfoField(t->port, "workers"), 3);
}

}  // namespace
}  // namespace rl::testing
