// The scalar grammar of nutcracker's configuration values (conf/values.h).
#include "conf/values.h"

#include "gtest/gtest.h"

namespace rl::conf {
namespace {

TEST(ParseNumberTest, DigitsOnlyAsNutcrackerReadsThem) {
  EXPECT_EQ(ParseNumber("0"), 0);
  EXPECT_EQ(ParseNumber("400"), 400);
  EXPECT_EQ(ParseNumber("0400"), 400);  // decimal, not octal
  EXPECT_EQ(ParseNumber("2147483647"), 2147483647);
  for (const char* bad : {"", "-1", "+5", " 5", "5 ", "0x10", "1e3", "1.5", "5ms"}) {
    auto n = ParseNumber(bad);
    ASSERT_FALSE(n.has_value()) << bad;
    EXPECT_EQ(n.error(), "is not a number (only the digits 0-9)") << bad;
  }
  auto big = ParseNumber("2147483648");
  ASSERT_FALSE(big.has_value());
  EXPECT_EQ(big.error(), "is too large (at most 2147483647)");
  EXPECT_FALSE(ParseNumber("99999999999999999999999").has_value());
}

TEST(ParseBoolTest, OnlyLowercaseTrueAndFalse) {
  EXPECT_EQ(ParseBool("true"), true);
  EXPECT_EQ(ParseBool("false"), false);
  for (const char* bad : {"True", "TRUE", "yes", "no", "on", "1", "0", ""}) {
    EXPECT_FALSE(ParseBool(bad).has_value()) << bad;
  }
}

TEST(IsValidHostTest, LiteralsAndNames) {
  for (const char* good :
       {"127.0.0.1", "0.0.0.0", "::1", "fe80::1", "localhost", "redis-1.example.com", "my_host"}) {
    EXPECT_TRUE(IsValidHost(good)) << good;
  }
  for (const char* bad : {"", "[::1]", "a b", "127.0.0.1:6379", "host/x", "::1::2::3"}) {
    EXPECT_FALSE(IsValidHost(bad)) << bad;
  }
}

TEST(ParseListenTest, TcpSplitsAtTheLastColon) {
  auto a = ParseListen("127.0.0.1:22121");
  ASSERT_TRUE(a.has_value()) << a.error();
  EXPECT_EQ(a->kind, Address::Kind::kTcp);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 22121);
  EXPECT_EQ(a->ToString(), "127.0.0.1:22121");

  auto v6 = ParseListen("::1:6380");
  ASSERT_TRUE(v6.has_value()) << v6.error();
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 6380);
}

TEST(ParseListenTest, TcpErrors) {
  EXPECT_EQ(ParseListen("6380").error(),
            "listen '6380' must be host:port or /path/to/socket [permissions]");
  EXPECT_EQ(ParseListen("127.0.0.1:0").error(),
            "listen '127.0.0.1:0': port '0' must be a number from 1 to 65535");
  EXPECT_EQ(ParseListen("127.0.0.1:65536").error(),
            "listen '127.0.0.1:65536': port '65536' must be a number from 1 to 65535");
  EXPECT_EQ(ParseListen(":6380").error(),
            "listen ':6380' has no host (write 0.0.0.0:6380 to listen on every interface)");
  EXPECT_EQ(ParseListen("[::1]:6380").error(),
            "listen '[::1]:6380' has host '[::1]': write IPv6 addresses without brackets, as "
            "nutcracker does (e.g. ::1:6380)");
  EXPECT_EQ(ParseListen("a b:6380").error(),
            "listen 'a b:6380' has host 'a b', which is not an IP address or a host name");
}

TEST(ParseListenTest, UnixSocketWithOptionalOctalPermissions) {
  auto plain = ParseListen("/tmp/x.sock");
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ(plain->kind, Address::Kind::kUnix);
  EXPECT_EQ(plain->path, "/tmp/x.sock");
  EXPECT_FALSE(plain->permissions.has_value());
  EXPECT_EQ(plain->ToString(), "/tmp/x.sock");

  auto perm = ParseListen("/tmp/x.sock 0666");
  ASSERT_TRUE(perm.has_value());
  EXPECT_EQ(perm->path, "/tmp/x.sock");
  EXPECT_EQ(perm->permissions, 0666u);
  EXPECT_EQ(ParseListen("/tmp/x.sock 600")->permissions, 0600u);

  for (const char* bad :
       {"/tmp/x.sock 0999", "/tmp/x.sock 1000", "/tmp/x.sock abc", "/tmp/x.sock 00600"}) {
    auto r = ParseListen(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_NE(r.error().find("must be an octal mode of at most 0777"), std::string::npos)
        << r.error();
  }
}

TEST(ParseListenTest, SocketPathFitsSockaddrUn) {
  std::string path = "/tmp/" + std::string(102, 'a');  // 107 bytes
  EXPECT_TRUE(ParseListen(path).has_value());
  EXPECT_TRUE(ParseListen(path + " 0600").has_value());
  auto r = ParseListen(path + "b");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), "listen '" + path + "b': a socket path is at most 107 bytes");
}

TEST(ParseServerTest, HostPortWeightAndName) {
  auto s = ParseServer("127.0.0.1:6379:3 cache-a");
  ASSERT_TRUE(s.has_value()) << s.error();
  EXPECT_EQ(s->address.host, "127.0.0.1");
  EXPECT_EQ(s->address.port, 6379);
  EXPECT_EQ(s->weight, 3u);
  EXPECT_EQ(s->name, "cache-a");
  EXPECT_EQ(s->identity, "cache-a");
}

TEST(ParseServerTest, IdentityFollowsTwemproxyWhenUnnamed) {
  EXPECT_EQ(ParseServer("127.0.0.1:6379:1")->identity, "127.0.0.1:6379");
  // The port text as written is hashed, and 11211 is left out (libmemcached compatibility).
  EXPECT_EQ(ParseServer("127.0.0.1:06379:1")->identity, "127.0.0.1:06379");
  EXPECT_EQ(ParseServer("127.0.0.1:06379:1")->address.port, 6379);
  EXPECT_EQ(ParseServer("127.0.0.1:11211:1")->identity, "127.0.0.1");
  EXPECT_EQ(ParseServer("10.0.0.1:011211:1")->identity, "10.0.0.1");
  EXPECT_EQ(ParseServer("redis.example.com:6379:2")->identity, "redis.example.com:6379");
  // A unix socket keeps the ':' that separates the weight.
  auto unix_server = ParseServer("/var/run/redis.sock:2");
  ASSERT_TRUE(unix_server.has_value()) << unix_server.error();
  EXPECT_EQ(unix_server->address.kind, Address::Kind::kUnix);
  EXPECT_EQ(unix_server->address.path, "/var/run/redis.sock");
  EXPECT_EQ(unix_server->weight, 2u);
  EXPECT_EQ(unix_server->identity, "/var/run/redis.sock:");
  EXPECT_EQ(ParseServer("/var/run/redis.sock:2 r9")->identity, "r9");
  // IPv6 without brackets: the last two colons separate port and weight.
  auto v6 = ParseServer("::1:6379:1");
  ASSERT_TRUE(v6.has_value()) << v6.error();
  EXPECT_EQ(v6->address.host, "::1");
  EXPECT_EQ(v6->identity, "::1:6379");
}

TEST(ParseServerTest, Errors) {
  const std::string kFormat = "must be host:port:weight [name] or /path/to/socket:weight [name]";
  EXPECT_EQ(ParseServer("127.0.0.1").error(), "server '127.0.0.1' " + kFormat);
  EXPECT_EQ(ParseServer("127.0.0.1:6379").error(), "server '127.0.0.1:6379' " + kFormat);
  EXPECT_EQ(ParseServer("127.0.0.1:6379:0").error(),
            "server '127.0.0.1:6379:0': weight must be greater than 0");
  EXPECT_EQ(ParseServer("127.0.0.1:6379:-1").error(),
            "server '127.0.0.1:6379:-1': weight '-1' is not a number (only the digits 0-9)");
  EXPECT_EQ(ParseServer("127.0.0.1:6379:1 a b").error(),
            "server '127.0.0.1:6379:1 a b': a server name cannot contain spaces");
  EXPECT_EQ(ParseServer("127.0.0.1:6379:1 ").error(),
            "server '127.0.0.1:6379:1 ' has an empty name after the space");
  EXPECT_EQ(ParseServer("127.0.0.1:0:1").error(),
            "server '127.0.0.1:0:1': port '0' must be a number from 1 to 65535");
  EXPECT_EQ(ParseServer(":6379:1").error(), "server ':6379:1' has no host");
  EXPECT_EQ(ParseServer("/tmp/a:b.sock:1").error(), "server '/tmp/a:b.sock:1' " + kFormat);
  EXPECT_EQ(ParseServer("/tmp/a.sock").error(), "server '/tmp/a.sock' " + kFormat);
}

}  // namespace
}  // namespace rl::conf
