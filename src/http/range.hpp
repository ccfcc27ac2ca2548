// The Range request header of http serve (RFC 9110 §14.2), kept apart from
// the server so the unit tests and the fuzzer can drive it directly.
#pragma once

#include <cstdint>
#include <string_view>

namespace nettool::http {

struct byte_range {
  std::uint64_t first = 0, last = 0;  // inclusive
};

enum class range_kind {
  none,           // no usable Range: answer 200 with the whole file
  ok,             // answer 206 with `out`
  unsatisfiable,  // answer 416
};

// One "bytes=a-b", "bytes=a-" or "bytes=-n" against a file of `size` bytes.
// The unit is matched without case and blanks around the range are
// skipped, as nginx does. Anything else — several ranges, another unit,
// b < a, signs, stray characters — is ignored (none), which RFC 9110 allows
// and which never answers with bytes the client did not ask for.
range_kind parse_range(std::string_view header, std::uint64_t size, byte_range& out);

}  // namespace nettool::http
