// XML-RPC bodies: written directly (escaping is all the encoder needs),
// read with pugixml and then checked element by element, refusing anything
// the specification does not describe.
#include "value.hpp"

#include "nettool/core/output.hpp"

#include <fmt/format.h>
#include <pugixml.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <cmath>
#include <limits>

namespace nettool::xmlrpc {
namespace {

using namespace std::string_view_literals;

// ---- encoding ------------------------------------------------------------

// XML 1.0 §2.2: tab, LF and CR are the only control characters a document
// may hold, and U+FFFE/U+FFFF are not characters. CR is written as a
// reference, because a parser turns a literal one into LF.
// Runs of ordinary characters are copied whole: this is most of an
// encoder's time on string-heavy values.
void append_escaped(std::string& out, std::string_view text) {
  if (!core::is_valid_utf8(text)) throw encode_error("a string is not valid UTF-8 (send bytes as base64: b64/…)");
  static constexpr auto special = [] {
    std::array<bool, 256> t{};
    for (int c = 0; c < 0x20; ++c) t[static_cast<std::size_t>(c)] = true;
    for (const unsigned char c : {'&', '<', '>', '\xef'}) t[c] = true;
    return t;
  }();
  std::size_t run = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (!special[c]) continue;
    out.append(text.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '&': out += "&amp;"sv; break;
      case '<': out += "&lt;"sv; break;
      case '>': out += "&gt;"sv; break;
      case '\r': out += "&#13;"sv; break;
      case '\t':
      case '\n': out += static_cast<char>(c); break;
      case 0xef:
        if (i + 2 < text.size() && static_cast<unsigned char>(text[i + 1]) == 0xbf &&
            (static_cast<unsigned char>(text[i + 2]) & 0xfe) == 0xbe)
          throw encode_error("a string holds U+FFFE or U+FFFF, which XML cannot carry (send it as base64: b64/…)");
        out += static_cast<char>(c);
        break;
      default:
        throw encode_error(fmt::format("a string holds the control character U+{:04X}, which XML cannot carry "
                                       "(send it as base64: b64/…)", c));
    }
  }
  out.append(text.data() + run, text.size() - run);
}

void append_value(std::string& out, const value& v, std::size_t depth);

struct value_writer {
  std::string& out;
  std::size_t depth;
  void operator()(const nil&) const { out += "<nil/>"sv; }
  void operator()(bool b) const { out += b ? "<boolean>1</boolean>"sv : "<boolean>0</boolean>"sv; }
  void operator()(std::int32_t i) const { out += fmt::format("<int>{}</int>", i); }
  void operator()(std::int64_t i) const { out += fmt::format("<i8>{}</i8>", i); }
  void operator()(double d) const {
    if (!std::isfinite(d)) throw encode_error("a double is not finite (XML-RPC has no NaN or infinity)");
    out += "<double>" + core::plain_decimal(d) + "</double>";
  }
  void operator()(const std::string& s) const {
    out += "<string>"sv;
    append_escaped(out, s);
    out += "</string>"sv;
  }
  void operator()(const datetime& t) const {
    out += "<dateTime.iso8601>"sv;
    append_escaped(out, t.iso);
    out += "</dateTime.iso8601>"sv;
  }
  void operator()(const binary& b) const { out += "<base64>" + core::base64_encode(b.bytes) + "</base64>"; }
  void operator()(const array& items) const {
    if (depth >= max_depth) throw encode_error(fmt::format("arrays and structs nested deeper than {}", max_depth));
    out += "<array><data>"sv;
    for (const auto& item : items) append_value(out, item, depth + 1);
    out += "</data></array>"sv;
  }
  void operator()(const structure& members) const {
    if (depth >= max_depth) throw encode_error(fmt::format("arrays and structs nested deeper than {}", max_depth));
    out += "<struct>"sv;
    for (const auto& m : members) {
      out += "<member><name>"sv;
      append_escaped(out, m.name);
      out += "</name>"sv;
      append_value(out, m.v, depth + 1);
      out += "</member>"sv;
    }
    out += "</struct>"sv;
  }
};

void append_value(std::string& out, const value& v, std::size_t depth) {
  out += "<value>"sv;
  std::visit(value_writer{out, depth}, v.data);
  out += "</value>"sv;
}

constexpr std::string_view prolog = "<?xml version=\"1.0\"?>\n";

// ---- decoding ------------------------------------------------------------

[[noreturn]] void invalid(std::string what) { throw decode_error(std::move(what)); }

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::string shown(std::string_view text) {
  return text.size() > 40 ? std::string(text.substr(0, 40)) + "…" : std::string(text);
}

// XML 1.0 §2.2: the characters a document may hold, as text or by reference.
bool is_xml_char(std::uint32_t c) {
  return c == 0x9 || c == 0xa || c == 0xd || (c >= 0x20 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) ||
         (c >= 0x10000 && c <= 0x10ffff);
}

void append_utf8(std::string& out, std::uint32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += {static_cast<char>(0xc0 | c >> 6), static_cast<char>(0x80 | (c & 0x3f))};
  } else if (c < 0x10000) {
    out += {static_cast<char>(0xe0 | c >> 12), static_cast<char>(0x80 | (c >> 6 & 0x3f)), static_cast<char>(0x80 | (c & 0x3f))};
  } else {
    out += {static_cast<char>(0xf0 | c >> 18), static_cast<char>(0x80 | (c >> 12 & 0x3f)),
            static_cast<char>(0x80 | (c >> 6 & 0x3f)), static_cast<char>(0x80 | (c & 0x3f))};
  }
}

// Text with its references decoded, strictly: pugixml is told not to
// (it would turn &#0; into the end of the string and leave &lol; as it is).
// Without a DTD (refused) XML knows only its five named references and
// character references to characters it allows.
void append_text(std::string& out, std::string_view raw) {
  for (;;) {
    const auto amp = raw.find('&');
    out.append(raw.substr(0, amp));
    if (amp == std::string_view::npos) return;
    raw.remove_prefix(amp);
    const auto semi = raw.find(';');
    const auto bad = [&] {
      return decode_error(fmt::format("'{}' is not a reference XML defines (no DTD is read)",
                                      shown(raw.substr(0, semi == std::string_view::npos ? 12 : semi + 1))),
                          true);
    };
    if (semi == std::string_view::npos || semi > 12) throw bad();
    const auto name = raw.substr(1, semi - 1);
    if (name == "amp") out += '&';
    else if (name == "lt") out += '<';
    else if (name == "gt") out += '>';
    else if (name == "quot") out += '"';
    else if (name == "apos") out += '\'';
    else if (name.size() > 1 && name[0] == '#') {
      const bool hex = name[1] == 'x';
      const auto digits = name.substr(hex ? 2 : 1);
      std::uint32_t c = 0;
      const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), c, hex ? 16 : 10);
      if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) throw bad();
      if (!is_xml_char(c))
        throw decode_error(fmt::format("'{}' refers to a character XML does not allow", shown(raw.substr(0, semi + 1))), true);
      append_utf8(out, c);
    } else {
      throw bad();
    }
    raw.remove_prefix(semi + 1);
  }
}

// What is checked on the raw bytes before pugixml reads them: a DTD is
// refused outright; a NUL byte (which pugixml takes as the end) too; and
// the elements are counted, because each costs pugixml a node of ~60
// bytes: a body of tiny elements would cost 15 times its size.
constexpr std::size_t max_elements = 1'000'000;

// What the scan found that decides how pugixml reads the body.
struct raw_shape {
  bool split_text = false;  // a CDATA section, comment or processing instruction
};

raw_shape check_raw(std::string_view xml) {
  const bool wide = xml.size() >= 2 && (xml[0] == '\0' || xml[1] == '\0' || (xml[0] == '\xfe' && xml[1] == '\xff') ||
                                         (xml[0] == '\xff' && xml[1] == '\xfe'));  // UTF-16/32: NULs are its own
  if (!wide && std::memchr(xml.data(), 0, xml.size())) throw decode_error("a NUL byte in the body", true);
  // One pass over the markup: '<' by memchr, and what follows it.
  raw_shape shape;
  std::size_t elements = 0;
  const char* const end = xml.data() + xml.size();
  for (const char* p = xml.data(); (p = static_cast<const char*>(std::memchr(p, '<', static_cast<std::size_t>(end - p)))); ++p) {
    if (++elements > max_elements)
      throw decode_error(fmt::format("more than {} elements (a bound on the memory one request takes)", max_elements));
    const char next = p + 1 < end ? p[1] : '\0';
    if (next == '!' && std::string_view(p, static_cast<std::size_t>(end - p)).starts_with("<!DOCTYPE"))
      throw decode_error("a DTD (<!DOCTYPE …>) is refused", true);
    if (next == '!' || (next == '?' && p != xml.data())) shape.split_text = true;
  }
  return shape;
}

// The element's name without a namespace prefix (`ex:nil` → "nil"), and
// whether it had one.
std::string_view local_name(const pugi::xml_node& n, bool& prefixed) {
  const std::string_view name = n.name();
  const auto colon = name.find(':');
  prefixed = colon != std::string_view::npos;
  return prefixed ? name.substr(colon + 1) : name;
}

void check_text(const pugi::xml_node& text, const pugi::xml_node& parent) {
  if ((text.type() == pugi::node_pcdata || text.type() == pugi::node_cdata) && !trimmed(text.value()).empty())
    invalid(fmt::format("text '{}' inside <{}>", shown(trimmed(text.value())), parent.name()));
}

// The element children of `parent`, in order, checking as it goes that the
// text beside them is only whitespace (comments and processing
// instructions are skipped). A range, not a vector: decoding allocates
// only for the values it builds.
class elements {
 public:
  explicit elements(const pugi::xml_node& parent) : parent_(parent) {}
  class iterator {
   public:
    iterator(pugi::xml_node node, pugi::xml_node parent) : node_(node), parent_(parent) { settle(); }
    pugi::xml_node operator*() const { return node_; }
    iterator& operator++() {
      node_ = node_.next_sibling();
      settle();
      return *this;
    }
    bool operator!=(const iterator& other) const { return node_ != other.node_; }

   private:
    void settle() {
      for (; node_ && node_.type() != pugi::node_element; node_ = node_.next_sibling()) check_text(node_, parent_);
    }
    pugi::xml_node node_, parent_;
  };
  iterator begin() const { return {parent_.first_child(), parent_}; }
  iterator end() const { return {pugi::xml_node(), parent_}; }

 private:
  pugi::xml_node parent_;
};

// The text content of a leaf element; an element inside it is an error.
std::string text_of(const pugi::xml_node& leaf) {
  std::string out;
  for (auto child : leaf.children()) {
    if (child.type() == pugi::node_element) invalid(fmt::format("<{}> inside <{}>", child.name(), leaf.name()));
    if (child.type() == pugi::node_pcdata) append_text(out, child.value());
    if (child.type() == pugi::node_cdata) out += child.value();
  }
  if (!core::is_valid_utf8(out)) invalid(fmt::format("<{}> is not valid UTF-8", leaf.name()));
  return out;
}

pugi::xml_node only_child(const pugi::xml_node& parent, std::string_view name) {
  pugi::xml_node found;
  int count = 0;
  for (const auto child : elements(parent)) {
    found = child;
    ++count;
  }
  if (count != 1 || found.name() != name) invalid(fmt::format("<{}> must hold exactly one <{}>", parent.name(), name));
  return found;
}

template <class Int>
Int parse_integer(const pugi::xml_node& leaf) {
  const auto text = text_of(leaf);
  auto digits = trimmed(text);
  if (digits.size() > 1 && digits.front() == '+' && digits[1] != '-') digits.remove_prefix(1);
  std::int64_t n = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (digits.empty() || end != digits.data() + digits.size() || (ec != std::errc() && ec != std::errc::result_out_of_range))
    invalid(fmt::format("<{}> '{}' is not an integer", leaf.name(), shown(text)));
  if (ec == std::errc::result_out_of_range || n < std::numeric_limits<Int>::min() || n > std::numeric_limits<Int>::max())
    invalid(fmt::format("<{}> {} is out of range", leaf.name(), shown(text)));
  return static_cast<Int>(n);
}

double parse_double(const pugi::xml_node& leaf) {
  const auto text = text_of(leaf);
  auto digits = trimmed(text);
  if (digits.size() > 1 && digits.front() == '+' && digits[1] != '-') digits.remove_prefix(1);
  double d = 0;
  // Digits, a point and an exponent only: from_chars would also take
  // "inf" and "nan", which XML-RPC has not.
  const bool plain = !digits.empty() && digits.find_first_not_of("0123456789.eE+-") == std::string_view::npos;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), d);
  if (!plain || ec != std::errc() || end != digits.data() + digits.size() || !std::isfinite(d))
    invalid(fmt::format("<double> '{}' is not a finite number", shown(text)));
  return d;
}

datetime parse_datetime(const pugi::xml_node& leaf) {
  const auto text = text_of(leaf);
  const auto t = trimmed(text);
  if (!looks_like_datetime(t))
    invalid(fmt::format("<dateTime.iso8601> '{}' is not a date and time", shown(text)));
  return datetime{std::string(t)};
}

value decode_value(const pugi::xml_node& v, std::size_t depth);

array decode_array(const pugi::xml_node& node, std::size_t depth) {
  const auto data = only_child(node, "data");
  array items;
  for (const auto item : elements(data)) {
    if (std::string_view(item.name()) != "value") invalid(fmt::format("<{}> inside <data>", item.name()));
    items.push_back(decode_value(item, depth + 1));
  }
  return items;
}

structure decode_struct(const pugi::xml_node& node, std::size_t depth) {
  structure members;
  for (const auto m : elements(node)) {
    if (std::string_view(m.name()) != "member") invalid(fmt::format("<{}> inside <struct>", m.name()));
    pugi::xml_node name, v;
    for (const auto part : elements(m)) {
      const std::string_view tag = part.name();
      if (tag != "name" && tag != "value") invalid(fmt::format("<{}> inside <member>", tag));
      auto& slot = tag == "name" ? name : v;
      if (slot) invalid(fmt::format("a <member> with two <{}>", tag));
      slot = part;
    }
    if (!name || !v) invalid("a <member> needs a <name> and a <value>");
    members.push_back({text_of(name), decode_value(v, depth + 1)});
  }
  return members;
}

value decode_typed(const pugi::xml_node& node, std::size_t depth) {
  bool prefixed = false;
  const auto type = local_name(node, prefixed);
  // Apache ws-xmlrpc writes its extensions as ex:nil and ex:i8.
  if (prefixed && type != "nil" && type != "i8") invalid(fmt::format("unknown type <{}>", node.name()));
  if (type == "string") return text_of(node);
  if (type == "int" || type == "i4") return parse_integer<std::int32_t>(node);
  if (type == "i8") return parse_integer<std::int64_t>(node);
  if (type == "boolean") {
    const auto text = text_of(node);
    const auto t = trimmed(text);
    if (t != "0" && t != "1") invalid(fmt::format("<boolean> '{}' is not 0 or 1", shown(text)));
    return t == "1";
  }
  if (type == "double") return parse_double(node);
  if (type == "dateTime.iso8601") return parse_datetime(node);
  if (type == "base64") {
    binary b;
    if (!core::base64_decode(text_of(node), b.bytes)) invalid("<base64> is not base64");
    return b;
  }
  if (type == "nil") {
    if (!trimmed(text_of(node)).empty()) invalid("<nil> must be empty");
    return nil{};
  }
  if (type == "array" || type == "struct") {
    if (depth >= max_depth) invalid(fmt::format("arrays and structs nested deeper than {}", max_depth));
    if (type == "array") return decode_array(node, depth);
    return decode_struct(node, depth);
  }
  invalid(fmt::format("unknown type <{}>", node.name()));
}

// A <value>: text alone is a string (the specification's default type);
// else exactly one type element.
value decode_value(const pugi::xml_node& v, std::size_t depth) {
  pugi::xml_node typed;
  for (auto child : v.children()) {
    if (child.type() != pugi::node_element) continue;
    if (typed) invalid("a <value> with two types inside");
    typed = child;
  }
  if (!typed) return text_of(v);
  for ([[maybe_unused]] const auto e : elements(v)) {
  }  // only whitespace beside the type
  return decode_typed(typed, depth);
}

// parse_fragment: text outside the root element is kept, so it can be
// refused. No parse_escapes: append_text decodes. Whitespace: a string of
// spaces is a string. parse_ws_pcdata_single keeps whitespace that is all
// an element holds, and drops it between elements, where it means nothing
// (and would double the nodes of a pretty-printed body). That is exact
// unless text inside a string is split by a CDATA section, a comment or a
// processing instruction: then all whitespace is kept (parse_ws_pcdata),
// and elements() checks that the text between elements is whitespace.
constexpr unsigned base_options = pugi::parse_cdata | pugi::parse_eol | pugi::parse_doctype | pugi::parse_fragment;

unsigned parse_options_for(const raw_shape& shape) {
  return base_options | (shape.split_text ? pugi::parse_ws_pcdata : pugi::parse_ws_pcdata_single);
}

// The document's root element, named `root`; a DTD is refused outright.
pugi::xml_node load(pugi::xml_document& doc, std::string& xml, std::string_view root) {
  const auto shape = check_raw(xml);
  const auto result = doc.load_buffer_inplace(xml.data(), xml.size(), parse_options_for(shape), pugi::encoding_auto);
  if (!result)
    throw decode_error(fmt::format("not well-formed XML at byte {}: {}", result.offset, result.description()), true);
  pugi::xml_node top;
  for (auto child : doc.children()) {
    if (child.type() == pugi::node_doctype) throw decode_error("a DTD (<!DOCTYPE …>) is refused", true);
    if (child.type() == pugi::node_pcdata && !trimmed(child.value()).empty())
      throw decode_error("text outside the root element", true);
    if (child.type() != pugi::node_element) continue;
    if (top) throw decode_error("more than one root element", true);
    top = child;
  }
  if (!top) throw decode_error("no root element", true);
  if (top.name() != root) invalid(fmt::format("the root element is <{}>, not <{}>", top.name(), root));
  return top;
}

fault decode_fault(const pugi::xml_node& node) {
  auto f = fault_from(decode_value(only_child(node, "value"), 0));
  if (!f) invalid("a <fault> must hold a struct with an integer faultCode and a string faultString");
  return std::move(*f);
}

}  // namespace

std::string encode_call(const call& c) {
  std::string out(prolog);
  out.reserve(4096);  // most bodies fit: no regrowth on the way
  out += "<methodCall><methodName>"sv;
  append_escaped(out, c.method);
  out += "</methodName><params>"sv;
  for (const auto& p : c.params) {
    out += "<param>"sv;
    append_value(out, p, 0);
    out += "</param>"sv;
  }
  out += "</params></methodCall>\n"sv;
  return out;
}

namespace {

std::string response_document(std::string_view open, const value& v, std::string_view close) {
  std::string out(prolog);
  out.reserve(4096);  // most bodies fit: no regrowth on the way
  out += open;
  append_value(out, v, 0);
  out += close;
  return out;
}

}  // namespace

std::string encode_response(const value& result) {
  return response_document("<methodResponse><params><param>"sv, result, "</param></params></methodResponse>\n"sv);
}

std::string encode_fault(const fault& f) {
  return response_document("<methodResponse><fault>"sv, fault_value(f), "</fault></methodResponse>\n"sv);
}

call decode_call(std::string& xml) {
  pugi::xml_document doc;
  const auto top = load(doc, xml, "methodCall");
  call c;
  bool named = false;
  for (const auto part : elements(top)) {
    const std::string_view tag = part.name();
    if (tag == "methodName" && !named) {
      c.method = std::string(trimmed(text_of(part)));
      if (c.method.empty()) invalid("<methodName> is empty");
      named = true;
    } else if (tag == "params" && c.params.empty()) {
      for (const auto param : elements(part)) {
        if (std::string_view(param.name()) != "param") invalid(fmt::format("<{}> inside <params>", param.name()));
        c.params.push_back(decode_value(only_child(param, "value"), 0));
      }
    } else {
      invalid(fmt::format("<{}> inside <methodCall>", part.name()));
    }
  }
  if (!named) invalid("a <methodCall> needs a <methodName>");
  return c;
}

response decode_response(std::string& xml) {
  pugi::xml_document doc;
  const auto top = load(doc, xml, "methodResponse");
  pugi::xml_node part;
  int count = 0;
  for (const auto child : elements(top)) {
    part = child;
    ++count;
  }
  if (count != 1) invalid("a <methodResponse> must hold exactly one <params> or <fault>");
  const std::string_view tag = part.name();
  if (tag == "fault") return {decode_fault(part)};
  if (tag != "params") invalid(fmt::format("<{}> inside <methodResponse>", tag));
  const auto param = only_child(part, "param");
  return {decode_value(only_child(param, "value"), 0)};
}

// YYYYMMDDTHH:MM:SS as the specification writes it, with the variants
// others send (dashes, fractions, a zone): digits and those separators.
bool looks_like_datetime(std::string_view t) {
  const auto digits = std::count_if(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; });
  return t.size() <= 64 && digits >= 8 && t.find('T') != std::string_view::npos &&
         t.find_first_not_of("0123456789T:-+.Z") == std::string_view::npos;
}

value fault_value(const fault& f) {
  // faultCode is an <int>: every peer reads that; a code outside 32 bits
  // (from nowhere but a bug) is clamped rather than sent as an i8 that
  // some peers cannot read.
  const auto code = static_cast<std::int32_t>(std::clamp<std::int64_t>(
      f.code, std::numeric_limits<std::int32_t>::min(), std::numeric_limits<std::int32_t>::max()));
  // A message from a command's stderr may hold anything: what XML cannot
  // carry is shown, not refused (a fault must always go out).
  return structure{{"faultCode", code}, {"faultString", core::printable(f.message)}};
}

std::optional<fault> fault_from(const value& v) {
  const auto* members = std::get_if<structure>(&v.data);
  if (!members) return std::nullopt;
  std::optional<std::int64_t> code;
  std::optional<std::string> message;
  for (const auto& m : *members) {
    if (m.name == "faultCode" && std::holds_alternative<std::int32_t>(m.v.data)) code = std::get<std::int32_t>(m.v.data);
    if (m.name == "faultCode" && std::holds_alternative<std::int64_t>(m.v.data)) code = std::get<std::int64_t>(m.v.data);
    if (m.name == "faultString" && std::holds_alternative<std::string>(m.v.data)) message = std::get<std::string>(m.v.data);
  }
  if (!code || !message) return std::nullopt;
  return fault{*code, std::move(*message)};
}

std::string_view type_name(const value& v) {
  struct namer {
    std::string_view operator()(const nil&) const { return "nil"; }
    std::string_view operator()(bool) const { return "boolean"; }
    std::string_view operator()(std::int32_t) const { return "int"; }
    std::string_view operator()(std::int64_t) const { return "i8"; }
    std::string_view operator()(double) const { return "double"; }
    std::string_view operator()(const std::string&) const { return "string"; }
    std::string_view operator()(const datetime&) const { return "dateTime.iso8601"; }
    std::string_view operator()(const binary&) const { return "base64"; }
    std::string_view operator()(const array&) const { return "array"; }
    std::string_view operator()(const structure&) const { return "struct"; }
  };
  return std::visit(namer{}, v.data);
}


}  // namespace nettool::xmlrpc
