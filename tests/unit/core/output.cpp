#include "nettool/core/events.hpp"
#include "nettool/core/output.hpp"

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <limits>

using namespace nettool::core;

TEST_CASE("JSON numbers are plain decimals, never exponents", "[core][json]") {
  CHECK(to_json(boost::json::value(0.000123)) == "0.000123");
  CHECK(to_json(boost::json::value(0.0)) == "0");
  CHECK(to_json(boost::json::value(-0.0)) == "0");
  CHECK(to_json(boost::json::value(1e-9)) == "0.000000001");
  CHECK(to_json(boost::json::value(123456789.25)) == "123456789.25");
  CHECK(to_json(boost::json::value(2.0)) == "2");
  CHECK(to_json(boost::json::value(std::numeric_limits<double>::infinity())) == "null");
  CHECK(to_json(boost::json::object{{"a", boost::json::array{1.5e-5, 3, "x\"y"}}, {"b", nullptr}}) ==
        R"({"a":[0.000015,3,"x\"y"],"b":null})");
}

TEST_CASE("data events: text as data, anything else as data_base64", "[core][json]") {
  CHECK(to_json(data_event("h\xc3\xa9")) == "{\"event\":\"data\",\"data\":\"h\xc3\xa9\"}");
  CHECK(to_json(data_event("\xff")) == R"({"event":"data","data_base64":"/w=="})");
}
