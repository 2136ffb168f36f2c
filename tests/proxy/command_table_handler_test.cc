// Unit tests for the command table's Handler column: every row whose route is served by a
// family of handlers (kLocal, kTransaction, kPubsub, kBlocking) names one of that family's, no
// other row names any, every handler serves some row, and the rows the families rely on have
// the handler they expect. So a new row cannot fall through a family's switch unnoticed. Also
// the one ASCII case-insensitive compare (proxy/base/ascii.h) the families parse keywords with.
#include <set>
#include <string_view>

#include "gtest/gtest.h"
#include "proxy/base/ascii.h"
#include "proxy/commands/command_table.h"

namespace rl::proxy {
namespace {

TEST(HandlerTest, EveryRowOfAHandledRouteHasItsFamilysHandler) {
  for (const CommandInfo& c : AllCommands()) {
    if (RouteHasHandlers(c.route)) {
      EXPECT_NE(c.handler, Handler::kNone) << c.name << " has no handler";
      EXPECT_EQ(HandlerRoute(c.handler), c.route) << c.name << ": a handler of another family";
    } else {
      EXPECT_EQ(c.handler, Handler::kNone) << c.name << ": a handler its route never calls";
    }
    EXPECT_TRUE(HandlerFits(c.handler, c.route)) << c.name;
  }
}

TEST(HandlerTest, EveryHandlerServesARow) {
  std::set<Handler> used;
  for (const CommandInfo& c : AllCommands()) used.insert(c.handler);
  // Handler's enumerators are consecutive from kNone, and HandlerRoute (a switch without a
  // default: -Wswitch) knows each of them, so this walks them all.
  int count = 0;
  for (int h = 1; h <= UINT8_MAX && HandlerRoute(static_cast<Handler>(h)).has_value(); ++h) {
    EXPECT_TRUE(used.contains(static_cast<Handler>(h))) << "handler " << h << " serves no row";
    ++count;
  }
  EXPECT_GE(count, static_cast<int>(Handler::kWait));
}

TEST(AsciiTest, KeywordsCompareIgnoringCase) {
  static_assert(EqualsIgnoreCase("STREAMS", "streams"));
  static_assert(EqualsIgnoreCase("Lib-Name", "lib-name"));
  static_assert(!EqualsIgnoreCase("stream", "streams"));
  static_assert(!EqualsIgnoreCase("blocK1", "block"));
  EXPECT_EQ(AsciiUppercase("client|setinfo-x"), "CLIENT|SETINFO-X");
}

TEST(HandlerTest, RowsTheFamiliesRelyOn) {
  struct Case {
    std::string_view name, sub;
    Handler handler;
  };
  const Case cases[] = {
      {"ping", "", Handler::kPing},
      {"echo", "", Handler::kEcho},
      {"quit", "", Handler::kQuit},
      {"select", "", Handler::kSelect},
      {"auth", "", Handler::kAuth},
      {"hello", "", Handler::kHello},
      {"reset", "", Handler::kReset},
      {"readonly", "", Handler::kReadonly},
      {"readwrite", "", Handler::kReadonly},
      {"client", "id", Handler::kClientId},
      {"client", "getname", Handler::kClientGetname},
      {"client", "setname", Handler::kClientSetname},
      {"client", "setinfo", Handler::kClientSetinfo},
      {"client", "info", Handler::kClientInfo},
      {"info", "", Handler::kInfo},
      {"config", "get", Handler::kConfigGet},
      {"command", "", Handler::kCommand},
      {"command", "count", Handler::kCommandCount},
      {"command", "docs", Handler::kCommandDocs},
      {"command", "info", Handler::kCommandInfo},
      {"command", "list", Handler::kCommandList},
      {"command", "getkeys", Handler::kCommandGetkeys},
      {"multi", "", Handler::kMulti},
      {"exec", "", Handler::kExec},
      {"discard", "", Handler::kDiscard},
      {"watch", "", Handler::kWatch},
      {"unwatch", "", Handler::kUnwatch},
      {"publish", "", Handler::kPublish},
      {"subscribe", "", Handler::kSubscribe},
      {"psubscribe", "", Handler::kPsubscribe},
      {"ssubscribe", "", Handler::kSsubscribe},
      {"unsubscribe", "", Handler::kUnsubscribe},
      {"punsubscribe", "", Handler::kPunsubscribe},
      {"sunsubscribe", "", Handler::kSunsubscribe},
      {"blpop", "", Handler::kBlockLastArgSeconds},
      {"brpop", "", Handler::kBlockLastArgSeconds},
      {"blmove", "", Handler::kBlockLastArgSeconds},
      {"brpoplpush", "", Handler::kBlockLastArgSeconds},
      {"bzpopmin", "", Handler::kBlockLastArgSeconds},
      {"bzpopmax", "", Handler::kBlockLastArgSeconds},
      {"blmpop", "", Handler::kBlockFirstArgSeconds},
      {"bzmpop", "", Handler::kBlockFirstArgSeconds},
      {"xread", "", Handler::kBlockOptionMs},
      {"xreadgroup", "", Handler::kBlockOptionMs},
      {"wait", "", Handler::kWait},
      // Routed by `route` alone.
      {"get", "", Handler::kNone},
      {"spublish", "", Handler::kNone},
      {"command", "getkeysandflags", Handler::kNone},
      {"client", "kill", Handler::kNone},
  };
  for (const Case& c : cases) {
    const CommandInfo* info = FindCommand(c.name, c.sub);
    ASSERT_NE(info, nullptr) << c.name << " " << c.sub;
    EXPECT_EQ(info->handler, c.handler) << info->name;
  }
}

}  // namespace
}  // namespace rl::proxy
