#include "../../../src/http/range.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace nettool::http;

namespace {

// "206 a-b", "416" or "200" for a Range header against a 10-byte file.
std::string answer(std::string_view header, std::uint64_t size = 10) {
  byte_range r;
  switch (parse_range(header, size, r)) {
    case range_kind::ok: return "206 " + std::to_string(r.first) + "-" + std::to_string(r.last);
    case range_kind::unsatisfiable: return "416";
    case range_kind::none: return "200";
  }
  return "?";
}

}  // namespace

TEST_CASE("Range: the three forms, clamped to the file", "[http][range]") {
  CHECK(answer("bytes=2-4") == "206 2-4");
  CHECK(answer("bytes=7-") == "206 7-9");
  CHECK(answer("bytes=-3") == "206 7-9");
  CHECK(answer("bytes=-30") == "206 0-9");
  CHECK(answer("bytes=5-99") == "206 5-9");
  CHECK(answer("bytes=0-0") == "206 0-0");
  CHECK(answer("BYTES=1-2") == "206 1-2");
  CHECK(answer("bytes= 0-5") == "206 0-5");  // blanks around the range, as nginx
  CHECK(answer("bytes=0-5 \t") == "206 0-5");
}

TEST_CASE("Range: unsatisfiable ranges are 416", "[http][range]") {
  CHECK(answer("bytes=10-") == "416");
  CHECK(answer("bytes=20-30") == "416");
  CHECK(answer("bytes=-0") == "416");
  CHECK(answer("bytes=0-", 0) == "416");
  CHECK(answer("bytes=-5", 0) == "416");
  CHECK(answer("bytes=99999999999999999999999-") == "416");  // saturates, past any end
}

TEST_CASE("Range: anything malformed is ignored (200, the whole file)", "[http][range]") {
  for (const char* bad : {"bytes=1-2-3", "bytes=5-2", "bytes=abc", "bytes=", "bytes=-", "bytes=--1", "bytes=+1-2",
                          "bytes=1 -2", "bytes=0x1-2", "bytes=0-1,3-4", "items=0-1", "bytes 0-1", "bytes=1-2junk",
                          "", "bytes=-1-", "bytes=\x80-1"})
    CHECK(answer(bad) == "200");
  CHECK(answer("bytes=0-99999999999999999999999") == "206 0-9");
}
