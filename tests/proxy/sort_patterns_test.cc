// SORT and SORT_RO read the keys their BY and GET patterns name on the sorted key's server. Through
// ringleader they run only when every key a pattern can name lives there (a hash tag before the
// '*', or a one-server pool), and are refused otherwise: never an answer from a partial view.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/proxy/proxy_fixture.h"

namespace rl::testing {
namespace {

constexpr const char* kCrossSlot = "CROSSSLOT Keys in request don't hash to the same server";

class SortPatternsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { t_ = ProxyUnderTest::Start(3, "  hash_tag: \"{}\"\n").release(); }
  static void TearDownTestSuite() {
    delete t_;
    t_ = nullptr;
  }
  // A hash tag ("{...}") whose keys the proxy places on server `index`.
  static std::string TagOn(size_t index, const std::string& prefix) {
    for (int i = 0;; ++i) {
      std::string tag = "{" + prefix + std::to_string(i) + "}";
      if (t_->OwnerOf(tag) == index) return tag;
    }
  }
  static bool Refused(const RedisClient::Reply& reply) {
    return Str(reply).starts_with(kCrossSlot);
  }
  static ProxyUnderTest* t_;
};
ProxyUnderTest* SortPatternsTest::t_ = nullptr;

// The issue's case: the list on one server, its weights elsewhere. Redis sorts by the weights
// (2 3 1); reading the list's server alone gives 1 2 3, so the proxy must refuse instead.
TEST_F(SortPatternsTest, PatternKeysOnOtherServersAreRefused) {
  RedisClient c = t_->Client();
  std::string list = KeyOn(*t_, 0, "list");
  ASSERT_EQ(Str(c.Command({"RPUSH", list, "1", "2", "3"})), "3");
  int elsewhere = 0;
  for (auto [element, weight] : {std::pair{"1", "30"}, {"2", "10"}, {"3", "20"}}) {
    std::string key = std::string("w_") + element;
    elsewhere += t_->OwnerOf(key) != 0;
    ASSERT_EQ(Str(c.Command({"SET", key, weight})), "OK");
  }
  ASSERT_GT(elsewhere, 0);  // the case only shows when some weight is on another server
  auto by = c.Command({"SORT", list, "BY", "w_*"});
  EXPECT_TRUE(Refused(by)) << Str(by);
  EXPECT_NE(Str(by).find("BY pattern 'w_*'"), std::string::npos) << Str(by);
  EXPECT_TRUE(Refused(c.Command({"SORT", list, "GET", "w_*"})));
  EXPECT_TRUE(Refused(c.Command({"SORT_RO", list, "BY", "w_*"})));
  EXPECT_TRUE(Refused(c.Command({"sort", list, "limit", "0", "2", "get", "#", "get", "w_*->f"})));
  // A tag fixed before the '*' but owned by another server: refused too.
  std::string other = TagOn(1, "t");
  EXPECT_TRUE(Refused(c.Command({"SORT", list, "BY", other + "w_*"})));
  // A tag that the '*' can complete or break is no tag: "{*}" and "w_{*" depend on the element.
  EXPECT_TRUE(Refused(c.Command({"SORT", list, "BY", "{*}"})));
  EXPECT_TRUE(Refused(c.Command({"SORT", list, "BY", "w_{*}"})));
  // Patterns that name no key run anywhere: '#', no '*', BY without sorting.
  EXPECT_EQ(Str(c.Command({"SORT", list, "BY", "nosort", "GET", "#", "GET", "fixed"})),
            "[1,,2,,3,]");
  EXPECT_EQ(Str(c.Command({"SORT", list, "DESC"})), "[3,2,1]");
}

TEST_F(SortPatternsTest, PatternsWithTheKeysTagGiveRedissAnswer) {
  RedisClient c = t_->Client();
  std::string tag = TagOn(2, "u");
  std::string list = tag + "list";
  ASSERT_EQ(Str(c.Command({"RPUSH", list, "1", "2", "3"})), "3");
  for (auto [element, weight, name] :
       {std::tuple{"1", "30", "one"}, {"2", "10", "two"}, {"3", "20", "three"}}) {
    ASSERT_EQ(Str(c.Command({"SET", tag + "w_" + element, weight})), "OK");
    ASSERT_EQ(Str(c.Command({"SET", tag + "name_" + element, name})), "OK");
    ASSERT_EQ(Str(c.Command({"HSET", tag + "h_" + element, "f", weight})), "1");
  }
  EXPECT_EQ(Str(c.Command({"SORT", list, "BY", tag + "w_*"})), "[2,3,1]");
  EXPECT_EQ(Str(c.Command({"SORT_RO", list, "BY", tag + "w_*", "DESC"})), "[1,3,2]");
  EXPECT_EQ(Str(c.Command({"SORT", list, "BY", tag + "h_*->f", "GET", "#", "GET",
                           tag + "name_*"})),
            "[2,two,3,three,1,one]");
  EXPECT_EQ(Str(c.Command({"SORT", list, "BY", tag + "w_*", "STORE", tag + "sorted"})), "3");
  EXPECT_EQ(Str(c.Command({"LRANGE", tag + "sorted", "0", "-1"})), "[2,3,1]");
  // The same answer straight from the server that holds them.
  EXPECT_EQ(Str(t_->Direct(2).Command({"SORT", list, "BY", tag + "w_*"})), "[2,3,1]");
}

TEST_F(SortPatternsTest, InsideMultiTheRefusalAbortsTheTransaction) {
  RedisClient c = t_->Client();
  std::string list = KeyOn(*t_, 1, "mlist");
  ASSERT_EQ(Str(c.Command({"RPUSH", list, "1"})), "1");
  EXPECT_EQ(Str(c.Command({"MULTI"})), "OK");
  EXPECT_TRUE(Refused(c.Command({"SORT", list, "BY", "mw_*"})));
  EXPECT_TRUE(Str(c.Command({"EXEC"})).starts_with("EXECABORT"));
}

TEST(SortPatternsOneServerTest, AOneServerPoolRunsEveryPattern) {
  auto t = ProxyUnderTest::Start(1);
  ASSERT_NE(t, nullptr);
  RedisClient c = t->Client();
  ASSERT_EQ(Str(c.Command({"RPUSH", "a", "1", "2", "3"})), "3");
  for (auto [element, weight] : {std::pair{"1", "30"}, {"2", "10"}, {"3", "20"}}) {
    ASSERT_EQ(Str(c.Command({"SET", std::string("w_") + element, weight})), "OK");
  }
  EXPECT_EQ(Str(c.Command({"SORT", "a", "BY", "w_*"})), "[2,3,1]");
  EXPECT_EQ(Str(c.Command({"SORT", "a", "BY", "w_*", "GET", "w_*"})), "[10,20,30]");
}

}  // namespace
}  // namespace rl::testing
