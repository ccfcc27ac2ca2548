#include "../../../src/xmlrpc/value.hpp"

#include "nettool/core/output.hpp"

#include <catch2/catch.hpp>

#include <random>

using namespace nettool::xmlrpc;

namespace {

std::string body(std::string_view value_xml) {
  return "<?xml version=\"1.0\"?><methodResponse><params><param><value>" + std::string(value_xml) +
         "</value></param></params></methodResponse>";
}

value decoded(std::string_view value_xml) {
  auto xml = body(value_xml);
  auto r = decode_response(xml);
  REQUIRE_FALSE(r.is_fault());
  return std::get<value>(r.outcome);
}

std::string refusal(std::string xml) {
  try {
    decode_response(xml);
  } catch (const decode_error& e) {
    return e.what();
  }
  return "accepted";
}

// A random value, `depth` levels of arrays and structs at most.
value random_value(std::mt19937_64& rng, int depth) {
  std::uniform_int_distribution<int> kind(0, depth > 0 ? 9 : 7);
  auto text = [&] {
    static const std::string_view alphabet[] = {"a", "Z", " ", "<", ">", "&", "\n", "\t", "\r", "é", "世", "✓", "\"", "'", "]]>"};
    std::string s;
    for (int n = std::uniform_int_distribution<int>(0, 12)(rng); n > 0; --n)
      s += alphabet[std::uniform_int_distribution<std::size_t>(0, std::size(alphabet) - 1)(rng)];
    return s;
  };
  switch (kind(rng)) {
    case 0: return nil{};
    case 1: return std::uniform_int_distribution<int>(0, 1)(rng) == 1;
    case 2: return static_cast<std::int32_t>(rng());
    case 3: return static_cast<std::int64_t>(rng());
    case 4: {
      const double d = std::ldexp(std::uniform_real_distribution<double>(-1, 1)(rng), std::uniform_int_distribution<int>(-1000, 1000)(rng));
      return d;
    }
    case 5: return text();
    case 6: return datetime{"20260101T12:34:56"};
    case 7: {
      std::string bytes;
      for (int n = std::uniform_int_distribution<int>(0, 20)(rng); n > 0; --n) bytes += static_cast<char>(rng());
      return binary{bytes};
    }
    case 8: {
      array items;
      for (int n = std::uniform_int_distribution<int>(0, 4)(rng); n > 0; --n) items.push_back(random_value(rng, depth - 1));
      return items;
    }
    default: {
      structure members;
      for (int n = std::uniform_int_distribution<int>(0, 4)(rng); n > 0; --n) members.push_back({text(), random_value(rng, depth - 1)});
      return members;
    }
  }
}

}  // namespace

TEST_CASE("xmlrpc codec: random nested values encode and decode equal", "[xmlrpc][codec]") {
  std::mt19937_64 rng(20261201);
  for (int i = 0; i < 2000; ++i) {
    const auto v = random_value(rng, 4);
    auto xml = encode_response(v);
    const auto back = decode_response(xml);
    REQUIRE_FALSE(back.is_fault());
    REQUIRE(std::get<value>(back.outcome) == v);
    // Calls too, with several parameters.
    call c{"some.method", {v, v}};
    auto call_xml = encode_call(c);
    const auto again = decode_call(call_xml);
    REQUIRE(again.method == "some.method");
    REQUIRE(again.params == c.params);
  }
}

TEST_CASE("xmlrpc codec: the specification's forms and the extensions", "[xmlrpc][codec]") {
  CHECK(decoded("plain text") == value("plain text"));
  CHECK(decoded("") == value(""));
  CHECK(decoded("<i4> -12 </i4>") == value(std::int32_t{-12}));
  CHECK(decoded("<int>+7</int>") == value(std::int32_t{7}));
  CHECK(decoded("<i8>9223372036854775807</i8>") == value(std::int64_t{9223372036854775807}));
  CHECK(decoded("<ex:i8 xmlns:ex=\"http://ws.apache.org/xmlrpc/namespaces/extensions\">-5</ex:i8>") == value(std::int64_t{-5}));
  CHECK(decoded("<ex:nil/>") == value(nil{}));
  CHECK(decoded("<nil/>") == value(nil{}));
  CHECK(decoded("<boolean>1</boolean>") == value(true));
  CHECK(decoded("<double>-1.5e3</double>") == value(-1500.0));
  CHECK(decoded("<dateTime.iso8601>19980717T14:08:55</dateTime.iso8601>") == value(datetime{"19980717T14:08:55"}));
  CHECK(decoded("<base64>SGVs\nbG8=</base64>") == value(binary{"Hello"}));
  CHECK(decoded("<string><![CDATA[<raw> & ]]></string>") == value("<raw> & "));
  CHECK(decoded("<string>a&amp;b&#60;&#x3e;</string>") == value("a&b<>"));
  CHECK(decoded("\n  <array>\n <data>\n<value><i4>1</i4></value><value>x</value></data></array>\n") ==
        value(array{std::int32_t{1}, "x"}));
  CHECK(decoded("<struct><member><name>k</name><value><boolean>0</boolean></value></member></struct>") ==
        value(structure{{"k", false}}));
  std::string fault_xml =
      "<methodResponse><fault><value><struct><member><name>faultCode</name><value><int>4</int></value></member>"
      "<member><name>faultString</name><value><string>Too many</string></value></member></struct></value></fault>"
      "</methodResponse>";
  const auto f = decode_response(fault_xml);
  REQUIRE(f.is_fault());
  CHECK(std::get<fault>(f.outcome).code == 4);
  CHECK(std::get<fault>(f.outcome).message == "Too many");
  // A call without <params>.
  std::string bare = "<methodCall><methodName>system.listMethods</methodName></methodCall>";
  CHECK(decode_call(bare).params.empty());
}

TEST_CASE("xmlrpc codec: hostile and malformed bodies are refused with a reason", "[xmlrpc][codec][hostile]") {
  CHECK(refusal("<methodResponse><params>") .find("not well-formed XML") == 0);
  CHECK(refusal("<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;\">]>"
                "<methodResponse><params><param><value>&lol2;</value></param></params></methodResponse>") ==
        "a DTD (<!DOCTYPE …>) is refused");
  CHECK(refusal(body("<string>&xxe;</string>")) == "'&xxe;' is not a reference XML defines (no DTD is read)");
  CHECK(refusal(body("<string>AT&T</string>")).find("is not a reference XML defines") != std::string::npos);
  CHECK(refusal(body("<float>1</float>")) == "unknown type <float>");
  CHECK(refusal(body("<ex:float>1</ex:float>")) == "unknown type <ex:float>");
  CHECK(refusal(body("<int>2147483648</int>")) == "<int> 2147483648 is out of range");
  CHECK(refusal(body("<i8>9223372036854775808</i8>")) == "<i8> 9223372036854775808 is out of range");
  CHECK(refusal(body("<int>12abc</int>")) == "<int> '12abc' is not an integer");
  CHECK(refusal(body("<boolean>true</boolean>")) == "<boolean> 'true' is not 0 or 1");
  CHECK(refusal(body("<double>inf</double>")) == "<double> 'inf' is not a finite number");
  CHECK(refusal(body("<double>1e999</double>")) == "<double> '1e999' is not a finite number");
  CHECK(refusal(body("<base64>!!!!</base64>")) == "<base64> is not base64");
  CHECK(refusal(body("<dateTime.iso8601>soon</dateTime.iso8601>")) == "<dateTime.iso8601> 'soon' is not a date and time");
  CHECK(refusal(body("<i4>1</i4><i4>2</i4>")) == "a <value> with two types inside");
  CHECK(refusal(body("text<i4>1</i4>")) == "text 'text' inside <value>");
  CHECK(refusal(body("<array><value>1</value></array>")) == "<array> must hold exactly one <data>");
  CHECK(refusal(body("<struct><member><name>a</name></member></struct>")) == "a <member> needs a <name> and a <value>");
  CHECK(refusal(body("<string><b>x</b></string>")) == "<b> inside <string>");
  CHECK(refusal(body("<string>\xff\xfe</string>")) == "<string> is not valid UTF-8");
  CHECK(refusal("<methodCall/>") == "the root element is <methodCall>, not <methodResponse>");
  CHECK(refusal("<methodResponse/><methodResponse/>") .find("root element") != std::string::npos);
  CHECK(refusal("") == "no root element");
  // Found in review: what pugixml alone would have let through.
  CHECK(refusal(body("<string>ab&#0;cd</string>")) == "'&#0;' refers to a character XML does not allow");
  CHECK(refusal(body("<string>&#27;[31m</string>")) == "'&#27;' refers to a character XML does not allow");
  CHECK(refusal(body("<string>&#xFFFE;</string>")) == "'&#xFFFE;' refers to a character XML does not allow");
  CHECK(refusal("junk" + body("<i4>1</i4>")) == "text outside the root element");
  CHECK(refusal(body("<i4>1</i4>") + "junk") == "text outside the root element");
  CHECK(refusal(body("<int>+-5</int>")) == "<int> '+-5' is not an integer");
  CHECK(refusal(body("<string>a</string>") + std::string(1, '\0')) == "a NUL byte in the body");
  CHECK(refusal(body("<string><?pi & ?>x</string>")) == "accepted");  // a & in a processing instruction is no reference
  CHECK(decoded("<string> <![CDATA[x]]> </string>") == value(" x "));
  CHECK(decoded("<string>a<!--c--> </string>") == value("a "));
  CHECK(decoded("<string>&#x1F600;&#233;</string>") == value("\xF0\x9F\x98\x80\xC3\xA9"));
  CHECK(decoded("<string>a\x7f</string>") == value("a\x7f"));  // DEL is a character XML allows
  std::string many;
  for (int i = 0; i < 1'000'001; ++i) many += "<a/>";
  CHECK(refusal(body(many)) == "more than 1000000 elements (a bound on the memory one request takes)");
  std::string nested_ok, nested_bomb;
  for (int i = 0; i < 64; ++i) nested_ok += "<array><data><value>";
  nested_ok += "x";
  for (int i = 0; i < 64; ++i) nested_ok += "</value></data></array>";
  CHECK(refusal(body(nested_ok)) == "accepted");
  for (int i = 0; i < 100000; ++i) nested_bomb += "<array><data><value>";
  CHECK(refusal(body(nested_bomb)).find("not well-formed") == 0);
  for (int i = 0; i < 100000; ++i) nested_bomb += "</value></data></array>";
  CHECK(refusal(body(nested_bomb)) == "arrays and structs nested deeper than 64");
}

TEST_CASE("xmlrpc codec: what XML cannot carry is an encode error", "[xmlrpc][codec]") {
  CHECK_THROWS_AS(encode_response(value("a\x01")), encode_error);
  CHECK_THROWS_AS(encode_response(value("\xff")), encode_error);
  CHECK_THROWS_AS(encode_response(value(std::nan(""))), encode_error);
  CHECK(encode_response(value("\r")).find("<string>&#13;</string>") != std::string::npos);
  // A fault's message always goes out: what XML cannot carry is shown.
  CHECK(encode_fault({1, "bad\x01\xff"}).find("<string>bad\\u0001\xEF\xBF\xBD</string>") != std::string::npos);
  CHECK(encode_response(value("a\x7f")).find("<string>a\x7f</string>") != std::string::npos);
}

TEST_CASE("xmlrpc: SPEC's JSON mapping and the typed arguments", "[xmlrpc][json]") {
  using nettool::core::to_json_exact;
  CHECK(to_json_exact(to_json(value(array{nil{}, true, std::int32_t{1}, std::int64_t{1} << 40, 0.1, 2.0, "s",
                                          datetime{"20260101T00:00:00"}, binary{"hi"}, structure{{"k", 1e-12}}}))) ==
        R"([null,true,1,1099511627776,0.1,2.0,"s",{"$datetime":"20260101T00:00:00"},{"$base64":"aGk="},{"k":0.000000000001}])");
  CHECK(parse_argument("42") == value(std::int32_t{42}));
  CHECK(parse_argument("4294967296") == value(std::int64_t{4294967296}));
  CHECK(parse_argument("i/7") == value(std::int32_t{7}));
  CHECK(parse_argument("I/7") == value(std::int64_t{7}));
  CHECK(parse_argument("i8/-7") == value(std::int64_t{-7}));
  CHECK(parse_argument("d/4") == value(4.0));
  CHECK(parse_argument("b/t") == value(true));
  CHECK(parse_argument("s/42") == value("42"));
  CHECK(parse_argument("n/") == value(nil{}));
  CHECK(parse_argument("h/48656c6c6f") == value(binary{"Hello"}));
  CHECK(parse_argument("b64/SGVsbG8=") == value(binary{"Hello"}));
  CHECK(parse_argument("dt/20260101T12:00:00") == value(datetime{"20260101T12:00:00"}));
  CHECK(parse_argument("hello world") == value("hello world"));
  CHECK(parse_argument("null") == value(nil{}));
  CHECK(parse_argument(R"({"$datetime":"20260101T12:00:00"})") == value(datetime{"20260101T12:00:00"}));
  CHECK(parse_argument(R"({"$base64":"aGk="})") == value(binary{"hi"}));
  CHECK(parse_argument(R"({"$base64":"aGk=","x":1})") ==
        value(structure{{"$base64", "aGk="}, {"x", std::int32_t{1}}}));
  CHECK_THROWS_AS(parse_argument("i/99999999999"), encode_error);
  // Boost.JSON reads these as doubles: refused rather than sent rounded.
  CHECK_THROWS_AS(parse_argument("99999999999999999999"), encode_error);
  CHECK_THROWS_AS(parse_argument("[1, -9223372036854775809]"), encode_error);
  CHECK(parse_argument("[\"99999999999999999999\", 1e20]") == value(array{"99999999999999999999", 1e20}));
  std::string deep(200, '[');
  deep += std::string(200, ']');
  CHECK_THROWS_AS(parse_argument(deep), encode_error);
  CHECK_THROWS_AS(parse_argument("h/abc"), encode_error);
  CHECK_THROWS_AS(parse_argument("n/x"), encode_error);
  CHECK_THROWS_AS(parse_argument(R"({"$base64":"@"})"), encode_error);
}

TEST_CASE("core: printable shows control characters and bad bytes", "[core][output]") {
  using nettool::core::printable;
  CHECK(printable("plain, grüße\ttab\nline") == "plain, grüße\ttab\nline");
  CHECK(printable("\x1b[31mred\r") == "\\u001b[31mred\\u000d");
  CHECK(printable("a\xff\xc3") == "a\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST_CASE("core: plain_decimal writes doubles exactly, without an exponent", "[core][output]") {
  using nettool::core::plain_decimal;
  CHECK(plain_decimal(0.1) == "0.1");
  CHECK(plain_decimal(2.0) == "2.0");
  CHECK(plain_decimal(-0.0) == "0.0");
  CHECK(plain_decimal(1e-12) == "0.000000000001");
  CHECK(plain_decimal(-1.5e-7) == "-0.00000015");
  CHECK(plain_decimal(1e21) == "1000000000000000000000.0");
  CHECK(plain_decimal(123456.789) == "123456.789");
  for (const double d : {0.1 + 0.2, 1e300, 5e-324, 1.7976931348623157e308, -3.25})
    CHECK(std::strtod(plain_decimal(d).c_str(), nullptr) == d);
}
