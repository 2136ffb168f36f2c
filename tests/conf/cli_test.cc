// The command line (proxy/host/cli.h) driven in-process: flags, -t, -V and --where's lines.
#include "proxy/host/cli.h"

#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace rl::proxy {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

struct Parsed {
  std::expected<CliOptions, int> options;
  std::string out;
  std::string err;
};

Parsed ParseArgs(std::vector<std::string> args) {
  args.insert(args.begin(), "ringleader");
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  std::ostringstream out, err;
  auto options = ParseCommandLine(static_cast<int>(argv.size()), argv.data(), out, err);
  return Parsed{std::move(options), out.str(), err.str()};
}

struct Ran {
  std::optional<int> status;
  std::string out;
  std::string err;
};

Ran RunCli(const CliOptions& options, const std::string& input = "") {
  std::istringstream in(input);
  std::ostringstream out, err;
  auto status = RunCommand(options, in, out, err);
  return Ran{status, out.str(), err.str()};
}

const char* kThreePools =
    "alpha:\n"
    "  listen: 127.0.0.1:22121\n"
    "  hash_tag: \"{}\"\n"
    "  servers:\n"
    "   - 127.0.0.1:7001:1 r1\n"
    "   - 127.0.0.1:7002:1 r2\n"
    "   - 127.0.0.1:7003:1 r3\n"
    "beta:\n"
    "  listen: 127.0.0.1:22122\n"
    "  distribution: modula\n"
    "  servers:\n"
    "   - 127.0.0.1:7001:1\n"
    "   - 127.0.0.1:11211:1\n"
    "gamma:\n"
    "  listen: 127.0.0.1:22123\n"
    "  distribution: random\n"
    "  servers:\n"
    "   - 127.0.0.1:7001:1\n"
    "   - 127.0.0.1:7002:1\n";

TEST(ParseCommandLineTest, Defaults) {
  Parsed p = ParseArgs({});
  ASSERT_TRUE(p.options.has_value());
  EXPECT_EQ(p.options->conf_file, "conf/ringleader.yml");
  EXPECT_FALSE(p.options->test_conf);
  EXPECT_FALSE(p.options->version);
  EXPECT_FALSE(p.options->daemonize);
  EXPECT_EQ(p.options->verbosity, 5);
  EXPECT_FALSE(p.options->stats_port.has_value());  // served only when -s is given
  EXPECT_EQ(p.options->stats_addr, "0.0.0.0");
  EXPECT_EQ(p.options->stats_interval_ms, 30000);
  EXPECT_FALSE(p.options->mbuf_size.has_value());
  EXPECT_TRUE(p.options->where_keys.empty());
}

TEST(ParseCommandLineTest, NutcrackerFlags) {
  Parsed p = ParseArgs({"-d", "-t", "-c", "/etc/x.yml", "-v", "7", "-o", "/var/log/r.log", "-p",
                        "/run/r.pid", "-s", "22223", "-a", "127.0.0.1", "-i", "1000", "-m", "512"});
  ASSERT_TRUE(p.options.has_value()) << p.err;
  EXPECT_TRUE(p.options->daemonize);
  EXPECT_TRUE(p.options->test_conf);
  EXPECT_EQ(p.options->conf_file, "/etc/x.yml");
  EXPECT_EQ(p.options->verbosity, 7);
  EXPECT_EQ(p.options->log_file, "/var/log/r.log");
  EXPECT_EQ(p.options->pid_file, "/run/r.pid");
  EXPECT_EQ(p.options->stats_port, 22223);
  EXPECT_EQ(p.options->stats_addr, "127.0.0.1");
  EXPECT_EQ(p.options->stats_interval_ms, 1000);
  EXPECT_EQ(p.options->mbuf_size, 512);
  EXPECT_THAT(p.err, HasSubstr("-m/--mbuf-size is accepted for nutcracker compatibility and "
                               "ignored"));
}

TEST(ParseCommandLineTest, LongFormsCombinedFlagsAndLastValueWins) {
  Parsed p = ParseArgs({"--test-conf", "--conf-file=a.yml", "--verbose=3", "-v", "9", "-Vd"});
  ASSERT_TRUE(p.options.has_value()) << p.err;
  EXPECT_TRUE(p.options->test_conf);
  EXPECT_TRUE(p.options->version);
  EXPECT_TRUE(p.options->daemonize);
  EXPECT_EQ(p.options->conf_file, "a.yml");
  EXPECT_EQ(p.options->verbosity, 9);
}

TEST(ParseCommandLineTest, WhereTakesSeveralKeys) {
  Parsed p = ParseArgs({"-c", "x.yml", "--where", "k1", "k 2", "{tag}3"});
  ASSERT_TRUE(p.options.has_value()) << p.err;
  EXPECT_THAT(p.options->where_keys, ElementsAre("k1", "k 2", "{tag}3"));
  EXPECT_EQ(p.options->conf_file, "x.yml");
  EXPECT_TRUE(p.options->where);
  Parsed none = ParseArgs({"--where"});
  ASSERT_FALSE(none.options.has_value());
  EXPECT_EQ(none.options.error(), 1);
  EXPECT_THAT(none.err, HasSubstr("--where needs at least one KEY"));
  EXPECT_FALSE(ParseArgs({"-c", "x.yml"}).options->where);
}

TEST(ParseCommandLineTest, WhereTakesKeysThatLookLikeOptionsAfterDoubleDash) {
  Parsed p = ParseArgs({"-c", "x.yml", "--where", "k1", "--", "-k2", "--k3", "-"});
  ASSERT_TRUE(p.options.has_value()) << p.err;
  EXPECT_THAT(p.options->where_keys, ElementsAre("k1", "-k2", "--k3", "-"));
  Parsed only_after = ParseArgs({"--where", "--", "-v"});
  ASSERT_TRUE(only_after.options.has_value()) << only_after.err;
  EXPECT_THAT(only_after.options->where_keys, ElementsAre("-v"));
  EXPECT_EQ(only_after.options->verbosity, 5);  // "-v" was a key, not the flag
  // Without --where, a stray argument is an error, not a key.
  Parsed stray = ParseArgs({"-c", "x.yml", "--", "-k"});
  ASSERT_FALSE(stray.options.has_value());
  EXPECT_EQ(stray.options.error(), 1);
  EXPECT_THAT(stray.err, HasSubstr("'-k'"));
}

TEST(ParseCommandLineTest, StatsAddressAndIntervalWithoutAPortAreSaidToHaveNoEffect) {
  Parsed help = ParseArgs({"-h"});
  for (const char* flag : {"--stats-port", "--stats-addr", "--stats-interval"}) {
    EXPECT_NE(help.out.find(flag), std::string::npos) << flag;
  }
  Parsed with_port = ParseArgs({"-s", "22223", "-a", "127.0.0.1", "-i", "1000"});
  ASSERT_TRUE(with_port.options.has_value()) << with_port.err;
  EXPECT_EQ(with_port.err, "");
  Parsed p = ParseArgs({"-a", "127.0.0.1", "-i", "1000"});
  ASSERT_TRUE(p.options.has_value()) << p.err;
  for (const char* flag : {"-a ", "-i "}) {
    EXPECT_THAT(p.err, HasSubstr(std::string("ringleader: ") + flag + "has no effect without -s"));
  }
  EXPECT_EQ(ParseArgs({"-c", "x.yml"}).err, "");  // no warning when they are not given
}

TEST(ParseCommandLineTest, HelpExitsZeroAndErrorsExitOne) {
  Parsed help = ParseArgs({"-h"});
  ASSERT_FALSE(help.options.has_value());
  EXPECT_EQ(help.options.error(), 0);
  EXPECT_THAT(help.out, HasSubstr("--conf-file"));
  EXPECT_THAT(help.out, HasSubstr("--where"));

  for (std::vector<std::string> bad :
       {std::vector<std::string>{"-x"}, {"-v", "12"}, {"-s", "70000"}, {"-i", "0"}, {"-c"}}) {
    Parsed p = ParseArgs(bad);
    ASSERT_FALSE(p.options.has_value()) << bad[0];
    EXPECT_EQ(p.options.error(), 1) << bad[0];
    EXPECT_FALSE(p.err.empty()) << bad[0];
  }
}

TEST(RunCommandTest, VersionAndServe) {
  CliOptions options;
  options.version = true;
  Ran r = RunCli(options);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, "This is ringleader-" RL_TEST_VERSION "\n");
  EXPECT_FALSE(RunCli(CliOptions{}).status.has_value());  // serving is main()'s business
}

TEST(RunCommandTest, TestConfOk) {
  testing::TempDir dir;
  CliOptions options;
  options.test_conf = true;
  options.conf_file = dir.Write("ok.yml", kThreePools);
  Ran r = RunCli(options);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, "ringleader: configuration file '" + options.conf_file + "' syntax is ok\n");
  EXPECT_EQ(r.err, "");
}

TEST(RunCommandTest, TestConfInvalidListsEveryErrorOnStderr) {
  testing::TempDir dir;
  CliOptions options;
  options.test_conf = true;
  options.conf_file = dir.Write("bad.yml",
                                "alpha:\n"
                                "  listen: 127.0.0.1:22121\n"
                                "  hash_tag: x\n"
                                "  servers:\n"
                                "   - 127.0.0.1:6379:0\n");
  Ran r = RunCli(options);
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out, "");
  const std::string& f = options.conf_file;
  EXPECT_EQ(r.err, f +
                       ":3:13: pool 'alpha': hash_tag 'x' must be exactly two characters, such "
                       "as \"{}\"\n" +
                       f +
                       ":5:6: pool 'alpha': server '127.0.0.1:6379:0': weight must be "
                       "greater than 0\n"
                       "ringleader: configuration file '" +
                       f + "' syntax is invalid\n");
}

TEST(RunCommandTest, TestConfResolvesListenHosts) {
  testing::TempDir dir;
  CliOptions options;
  options.test_conf = true;
  options.conf_file = dir.Write("dns.yml",
                                "alpha:\n"
                                "  listen: no-such-host.invalid:22121\n"
                                "  servers:\n"
                                "   - 127.0.0.1:6379:1\n");
  Ran r = RunCli(options);
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.err, HasSubstr(options.conf_file +
                               ":2:11: pool 'alpha': listen host 'no-such-host.invalid' does "
                               "not resolve: "));
}

TEST(RunCommandTest, MissingFile) {
  CliOptions options;
  options.test_conf = true;
  options.conf_file = "/nonexistent/x.yml";
  Ran r = RunCli(options);
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err,
            "/nonexistent/x.yml: cannot open configuration file: No such file or directory\n"
            "ringleader: configuration file '/nonexistent/x.yml' syntax is invalid\n");
}

std::vector<std::string> Fields(const std::string& line) {
  std::vector<std::string> fields;
  size_t start = 0;
  for (size_t tab; (tab = line.find('\t', start)) != std::string::npos; start = tab + 1) {
    fields.push_back(line.substr(start, tab - start));
  }
  fields.push_back(line.substr(start));
  return fields;
}

TEST(WhereTest, OneLinePerKeyAndPool) {
  auto config = conf::Parse(kThreePools, "t.yml");
  ASSERT_TRUE(config.has_value());
  std::vector<std::string> lines = WhereLines(*config, {"{user}:1", "{user}:2", "x"});
  ASSERT_EQ(lines.size(), 9u);
  std::vector<std::vector<std::string>> f;
  for (const std::string& line : lines) f.push_back(Fields(line));
  for (size_t i = 0; i < 9; ++i) {
    ASSERT_EQ(f[i].size(), 4u) << lines[i];
    EXPECT_EQ(f[i][0], i < 3 ? "{user}:1" : i < 6 ? "{user}:2" : "x");
    EXPECT_EQ(f[i][1], i % 3 == 0 ? "alpha" : i % 3 == 1 ? "beta" : "gamma");
  }
  // The hash tag puts both "{user}" keys on one server of alpha.
  EXPECT_EQ(f[0][2], f[3][2]);
  // Server name and address belong to the same server: r1 is 7001 and so on.
  for (size_t i : {0u, 3u, 6u}) {
    EXPECT_THAT(f[i][2], ::testing::MatchesRegex("r[123]"));
    EXPECT_EQ(f[i][3], std::string("127.0.0.1:700") + f[i][2][1]) << lines[i];
  }
  // Unnamed servers are shown by ring identity: port 11211 is left out, as twemproxy does.
  for (size_t i : {1u, 4u, 7u}) {
    if (f[i][3] == "127.0.0.1:7001") {
      EXPECT_EQ(f[i][2], "127.0.0.1:7001");
    } else {
      EXPECT_EQ(f[i][3], "127.0.0.1:11211");
      EXPECT_EQ(f[i][2], "127.0.0.1");
    }
  }
  EXPECT_EQ(lines[2], "{user}:1\tgamma\t(random)\t(placement is random: any of 2 servers)");
}

TEST(WhereTest, RunCommandPrintsTheLines) {
  testing::TempDir dir;
  CliOptions options;
  options.conf_file = dir.Write("ok.yml", kThreePools);
  options.where = true;
  options.where_keys = {"a"};
  Ran r = RunCli(options);
  EXPECT_EQ(r.status, 0);
  auto config = conf::Parse(kThreePools, options.conf_file);
  ASSERT_TRUE(config.has_value());
  std::string expected;
  for (const std::string& line : WhereLines(*config, {"a"})) expected += line + "\n";
  EXPECT_EQ(r.out, expected);
  EXPECT_EQ(r.err, "");
}

TEST(WhereTest, DashReadsKeysFromStandardInput) {
  testing::TempDir dir;
  CliOptions options;
  options.conf_file = dir.Write("ok.yml", kThreePools);
  options.where = true;
  options.where_keys = {"first", "-", "last"};
  Ran r = RunCli(options, "-dash\n{user}:1\n\nwith space\r\n");
  EXPECT_EQ(r.status, 0) << r.err;
  auto config = conf::Parse(kThreePools, options.conf_file);
  ASSERT_TRUE(config.has_value());
  std::string expected;
  // The empty line is the empty key; the '\r' stays part of its key.
  for (const std::string& line :
       WhereLines(*config, {"first", "-dash", "{user}:1", "", "with space\r", "last"})) {
    expected += line + "\n";
  }
  EXPECT_EQ(r.out, expected);
}

}  // namespace
}  // namespace rl::proxy
