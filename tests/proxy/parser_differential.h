// Differential check of ringleader's request parser against hiredis's redisReader: both must
// agree on where each multibulk request ends (and on its arguments). Used by the libFuzzer
// target resp_parser_fuzz and by a seeded unit test. Thread safety: pure function.
#pragma once

#include <string>
#include <string_view>

namespace rl::testing {

// Parses `input` as a stream of client requests. For every multibulk request the parser
// completes, hiredis must read exactly those bytes as one array of the same bulk strings (and
// must not complete on one byte less); where the parser waits for more bytes, hiredis must not
// complete a reply either. Inline requests and the parser's protocol errors (deliberately
// stricter than hiredis) are not compared. Also checks that feeding the input in two pieces,
// split at `split`, gives the same requests. Returns "" on agreement, else what differed.
std::string CompareWithHiredis(std::string_view input, size_t split);

}  // namespace rl::testing
