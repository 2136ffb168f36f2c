// ProcessProxyOptions: the ringleader: section onto ProxyOptions, field by field, and the
// command line's flags winning over the file.
#include "proxy/host/process_settings.h"

#include <chrono>
#include <sstream>

#include "conf/config.h"
#include "gtest/gtest.h"
#include "proxy/host/cli.h"
#include "proxy/host/proxy_options.h"

namespace rl::proxy {
namespace {

using std::chrono::milliseconds;

void ExpectSameOptions(const ProxyOptions& a, const ProxyOptions& b) {
  EXPECT_EQ(a.client_output_limit, b.client_output_limit);
  EXPECT_EQ(a.client_max_inflight, b.client_max_inflight);
  EXPECT_EQ(a.shutdown_grace, b.shutdown_grace);
  EXPECT_EQ(a.reconnect_min, b.reconnect_min);
  EXPECT_EQ(a.reconnect_max, b.reconnect_max);
  EXPECT_EQ(a.request_limits.max_bulk_length, b.request_limits.max_bulk_length);
  EXPECT_EQ(a.request_limits.max_multibulk_length, b.request_limits.max_multibulk_length);
  EXPECT_EQ(a.request_limits.max_inline_length, b.request_limits.max_inline_length);
  EXPECT_EQ(a.request_limits.max_request_length, b.request_limits.max_request_length);
}

TEST(ProcessSettingsTest, SectionDefaultsAreTheProxyDefaults) {
  // conf/ documents its defaults and ProxyOptions has its own (tests build it directly): a
  // file without the section must serve exactly as ProxyOptions{} does.
  ExpectSameOptions(ProcessProxyOptions(conf::RingleaderSettings{}, CliOptions{}), ProxyOptions{});
}

TEST(ProcessSettingsTest, EveryKeyReachesItsOption) {
  auto config = conf::Parse(
      "ringleader:\n"
      "  client_output_limit: 1000001\n"
      "  client_max_inflight: 77\n"
      "  shutdown_grace: 1234\n"
      "  reconnect_backoff_min: 7\n"
      "  reconnect_backoff_max: 7000\n"
      "  proto_max_bulk_len: 2000003\n"
      "  proto_max_multibulk_len: 5005\n"
      "  client_query_buffer_limit: 3000007\n"
      "alpha:\n"
      "  listen: 127.0.0.1:22121\n"
      "  servers:\n"
      "   - 127.0.0.1:6379:1\n",
      "t.yml");
  ASSERT_TRUE(config.has_value()) << config.error()[0].ToString();
  ProxyOptions options = ProcessProxyOptions(config->ringleader, CliOptions{});
  EXPECT_EQ(options.client_output_limit, 1000001u);
  EXPECT_EQ(options.client_max_inflight, 77u);
  EXPECT_EQ(options.shutdown_grace, milliseconds(1234));
  EXPECT_EQ(options.reconnect_min, milliseconds(7));
  EXPECT_EQ(options.reconnect_max, milliseconds(7000));
  EXPECT_EQ(options.request_limits.max_bulk_length, 2000003u);
  EXPECT_EQ(options.request_limits.max_multibulk_length, 5005u);
  EXPECT_EQ(options.request_limits.max_request_length, 3000007u);
  // Not a setting: Redis's compiled-in inline limit.
  EXPECT_EQ(options.request_limits.max_inline_length, RequestLimits{}.max_inline_length);
}

TEST(ProcessSettingsTest, CommandLineFlagsWinOverTheFile) {
  conf::RingleaderSettings settings;
  settings.client_output_limit = 5000;
  settings.shutdown_grace = milliseconds(60000);
  settings.client_max_inflight = 99;

  ProxyOptions from_file = ProcessProxyOptions(settings, CliOptions{});
  EXPECT_EQ(from_file.client_output_limit, 5000u);
  EXPECT_EQ(from_file.shutdown_grace, milliseconds(60000));

  const char* argv[] = {"ringleader", "--client-output-limit", "123456", "--shutdown-grace", "0"};
  std::ostringstream out, err;
  auto cli = ParseCommandLine(5, argv, out, err);
  ASSERT_TRUE(cli.has_value()) << err.str();
  ProxyOptions both = ProcessProxyOptions(settings, *cli);
  EXPECT_EQ(both.client_output_limit, 123456u);
  EXPECT_EQ(both.shutdown_grace, milliseconds(0));
  EXPECT_EQ(both.client_max_inflight, 99u);  // no flag: the file's value stays
}

}  // namespace
}  // namespace rl::proxy
