#include "nettool/core/parse.hpp"
#include "nettool/core/progress.hpp"

#include <catch2/catch.hpp>

using namespace nettool::core;
using namespace std::chrono_literals;

TEST_CASE("durations", "[unit][parse]") {
  CHECK(parse_duration("250ms") == duration(250ms));
  CHECK(parse_duration("5s") == duration(5s));
  CHECK(parse_duration("5") == duration(5s));
  CHECK(parse_duration("1.5s") == duration(1500ms));
  CHECK(parse_duration("0.25") == duration(250ms));
  CHECK(parse_duration("2m") == duration(120s));
  CHECK(parse_duration("1h") == duration(3600s));
  CHECK(parse_duration("10us") == duration(10us));
  CHECK(parse_duration("0") == duration(0s));
  for (const char* bad : {"", "s", "ms", "-1s", "5x", "1.2.3s", "5 s", "1e3", "1d", ".", "abc"}) {
    INFO(bad);
    CHECK_FALSE(parse_duration(bad));
  }
}

TEST_CASE("sizes", "[unit][parse]") {
  CHECK(parse_size("512") == 512u);
  CHECK(parse_size("64K") == 65536u);
  CHECK(parse_size("64KiB") == 65536u);
  CHECK(parse_size("1M") == 1048576u);
  CHECK(parse_size("1MiB") == 1048576u);
  CHECK(parse_size("4GiB") == 4294967296u);
  CHECK(parse_size("1KB") == 1000u);
  CHECK(parse_size("1MB") == 1000000u);
  CHECK(parse_size("2GB") == 2000000000u);
  CHECK(parse_size("1.5K") == 1536u);
  CHECK(parse_size("0") == 0u);
  for (const char* bad : {"", "K", "-1", "1.3", "12Q", "1 K", "1iB", "99999999999G"}) {
    INFO(bad);
    CHECK_FALSE(parse_size(bad));
  }
}

TEST_CASE("port lists", "[unit][parse]") {
  CHECK(parse_port_list("22") == std::vector<std::uint16_t>{22});
  CHECK(parse_port_list("80,22,8000-8002") == std::vector<std::uint16_t>{22, 80, 8000, 8001, 8002});
  CHECK(parse_port_list("5,5,4-6") == std::vector<std::uint16_t>{4, 5, 6});
  CHECK(parse_port_list("65535") == std::vector<std::uint16_t>{65535});
  for (const char* bad : {"", "0", "65536", "10-5", "1,", ",1", "a", "1-", "-1", "1--2", "1 ,2"}) {
    INFO(bad);
    CHECK_FALSE(parse_port_list(bad));
  }
}

TEST_CASE("host:port", "[unit][parse]") {
  auto hp = parse_host_port("db.local:5432");
  REQUIRE(hp);
  CHECK(hp->host == "db.local");
  CHECK(hp->port == 5432);
  hp = parse_host_port("[::1]:80");
  REQUIRE(hp);
  CHECK(hp->host == "::1");
  CHECK(hp->port == 80);
  for (const char* bad : {"host", "host:", ":80", "::1:80", "[::1]80", "host:0", "host:70000"}) {
    INFO(bad);
    CHECK_FALSE(parse_host_port(bad));
  }
}

TEST_CASE("progress meter text", "[core][progress]") {
  using nettool::core::progress_line;
  CHECK(progress_line(512 * 1024, 2 * 1024 * 1024, 1.0) == " 25%  512.00 KiB / 2.00 MiB  512.00 KiB/s  ETA 0:03");
  CHECK(progress_line(2 * 1024 * 1024, 2 * 1024 * 1024, 2.0) == "100%  2.00 MiB / 2.00 MiB  1.00 MiB/s");
  CHECK(progress_line(1536, std::nullopt, 0.5) == "1.50 KiB  3.00 KiB/s");
  CHECK(progress_line(0, std::nullopt, 0.0) == "0 B  0 B/s");
}
