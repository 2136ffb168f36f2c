// Differential test: for every configuration in tests/conf/corpus, `ringleader -t` and the real
// `nutcracker -t` (Debian's 0.5.0) agree on valid/invalid, except for the files listed below
// where ringleader deliberately differs. The file name states the expectation:
//   valid-*    both accept          invalid-*  both reject
//   stricter-* nutcracker accepts, ringleader rejects (reason in kStricter)
//   lenient-*  nutcracker rejects, ringleader accepts (reason in kLenient)
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/conf/run_binary.h"

namespace rl::testing {
namespace {

// Where ringleader rejects what nutcracker 0.5.0 accepts, and why.
const std::map<std::string, std::string> kStricter = {
    {"stricter-redis-false.yml", "ringleader serves Redis only; redis: false is a memcache pool"},
    {"stricter-unix-permissions-not-octal.yml",
     "nutcracker reads permissions with strtol(base 8) and takes '0999' as 0; ringleader wants "
     "an octal mode of at most 0777"},
    {"stricter-number-overflow.yml",
     "nutcracker's nc_atoi overflows silently on 99999999999; ringleader rejects numbers above "
     "INT32_MAX"},
    {"stricter-listen-same-socket.yml",
     "nutcracker compares listen strings as written ('/x.sock' vs '/x.sock 0600'); ringleader "
     "compares the endpoint, which both pools could not bind"},
    {"stricter-listen-same-port-as-written.yml",
     "the same: '127.0.0.1:22121' and '127.0.0.1:022121' are one endpoint"},
    {"stricter-server-no-host.yml",
     "nutcracker resolves servers lazily and accepts an empty host; ringleader checks the host"},
    {"stricter-server-empty-name.yml",
     "a trailing space gives nutcracker an empty server name (ring identity \"\"); ringleader "
     "rejects the empty name"},
    {"stricter-server-bad-host.yml",
     "'[::1]' cannot resolve; nutcracker finds out only when connecting, ringleader at -t"},
    {"stricter-total-weight-overflow.yml",
     "the weights sum past 2^32, where twemproxy's ketama arithmetic overflows"},
    {"stricter-pool-named-ringleader.yml",
     "the top-level name 'ringleader' is reserved for ringleader's own settings; a pool of that "
     "name must be renamed (a pool's name places no key)"},
};

// Where ringleader accepts what nutcracker 0.5.0 rejects, and why.
const std::map<std::string, std::string> kLenient = {
    {"lenient-workers.yml", "workers is ringleader's own key"},
    {"lenient-admin-commands.yml", "admin_commands is ringleader's own key"},
    {"lenient-reuseport.yml",
     "reuseport is a twemproxy key newer than Debian's 0.5.0 build; ringleader supports it"},
    {"lenient-ringleader-section.yml",
     "the ringleader: section holds ringleader's own settings; nutcracker reads it as a pool "
     "with unknown keys"},
    {"lenient-auth-without-redis-key.yml",
     "an absent redis key means Redis in ringleader (memcache in nutcracker, which then refuses "
     "redis_auth)"},
};

std::string SourceDir() {
  const char* dir = std::getenv("RL_SOURCE_DIR");
  return dir != nullptr ? dir : "";
}

std::string NutcrackerPath() {
  for (const char* candidate : {"/usr/sbin/nutcracker", "/usr/bin/nutcracker"}) {
    if (access(candidate, X_OK) == 0) return candidate;
  }
  return "nutcracker";
}

std::vector<std::string> CorpusFiles() {
  std::vector<std::string> files;
  for (const auto& entry :
       std::filesystem::directory_iterator(SourceDir() + "/tests/conf/corpus")) {
    if (entry.path().extension() == ".yml") files.push_back(entry.path().filename().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

bool HasPrefix(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

TEST(ConfDifferentialTest, CorpusIsLargeAndEveryExceptionHasAReason) {
  ASSERT_FALSE(SourceDir().empty()) << "RL_SOURCE_DIR is not set (run through ctest)";
  std::vector<std::string> files = CorpusFiles();
  EXPECT_GE(files.size(), 30u);
  size_t valid = 0, invalid = 0;
  for (const std::string& f : files) {
    bool known = HasPrefix(f, "valid-") || HasPrefix(f, "invalid-") || HasPrefix(f, "stricter-") ||
                 HasPrefix(f, "lenient-");
    EXPECT_TRUE(known) << f << ": a corpus file's name must start with its expectation";
    valid += HasPrefix(f, "valid-");
    invalid += HasPrefix(f, "invalid-");
    if (HasPrefix(f, "stricter-")) {
      EXPECT_TRUE(kStricter.contains(f)) << f << " needs a reason";
    }
    if (HasPrefix(f, "lenient-")) {
      EXPECT_TRUE(kLenient.contains(f)) << f << " needs a reason";
    }
  }
  EXPECT_GE(valid, 10u);
  EXPECT_GE(invalid, 10u);
  for (const auto& [f, reason] : kStricter) {
    EXPECT_TRUE(std::ranges::find(files, f) != files.end()) << f << " is listed but missing";
  }
  for (const auto& [f, reason] : kLenient) {
    EXPECT_TRUE(std::ranges::find(files, f) != files.end()) << f << " is listed but missing";
  }
}

TEST(ConfDifferentialTest, RingleaderAndNutcrackerAgree) {
  ASSERT_FALSE(SourceDir().empty()) << "RL_SOURCE_DIR is not set (run through ctest)";
  const std::string ringleader = RingleaderPath();
  const std::string nutcracker = NutcrackerPath();
  ASSERT_EQ(RunBinary({nutcracker, "-V"}).exit_code, 0) << "nutcracker is not installed";
  // Every error line names the file and a place: "FILE:LINE:COL: message".
  const std::regex located(R"(^.+\.yml:[0-9]+:[0-9]+: .+$)");

  for (const std::string& f : CorpusFiles()) {
    SCOPED_TRACE(f);
    const std::string path = SourceDir() + "/tests/conf/corpus/" + f;
    RunResult nc = RunBinary({nutcracker, "-t", "-c", path});
    RunResult rl = RunBinary({ringleader, "-t", "-c", path});
    ASSERT_TRUE(nc.exit_code == 0 || nc.exit_code == 1) << nc.err;
    ASSERT_TRUE(rl.exit_code == 0 || rl.exit_code == 1) << rl.err;
    const bool nc_ok = nc.exit_code == 0;
    const bool rl_ok = rl.exit_code == 0;

    bool expect_nc = HasPrefix(f, "valid-") || HasPrefix(f, "stricter-");
    bool expect_rl = HasPrefix(f, "valid-") || HasPrefix(f, "lenient-");
    EXPECT_EQ(nc_ok, expect_nc) << "nutcracker -t: " << nc.out << nc.err;
    EXPECT_EQ(rl_ok, expect_rl) << "ringleader -t: " << rl.out << rl.err;

    if (rl_ok) {
      EXPECT_EQ(rl.out, "ringleader: configuration file '" + path + "' syntax is ok\n");
      EXPECT_EQ(rl.err, "");
      continue;
    }
    EXPECT_EQ(rl.out, "");
    std::vector<std::string> lines;
    for (size_t start = 0, end; (end = rl.err.find('\n', start)) != std::string::npos;
         start = end + 1) {
      lines.push_back(rl.err.substr(start, end - start));
    }
    ASSERT_GE(lines.size(), 2u) << rl.err;
    EXPECT_EQ(lines.back(), "ringleader: configuration file '" + path + "' syntax is invalid");
    for (size_t i = 0; i + 1 < lines.size(); ++i) {
      EXPECT_TRUE(std::regex_match(lines[i], located)) << "not located: " << lines[i];
    }
  }
}

}  // namespace
}  // namespace rl::testing
