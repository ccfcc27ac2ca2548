// libFuzzer target: the XML-RPC decoder, which reads what any peer sends
// (a server's responses, a client's calls). For any input: no crash, no
// hang, and what it accepts encodes and decodes back to the same values.
#include "../../src/xmlrpc/value.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

using namespace nettool::xmlrpc;

namespace {

// The decoded values re-encoded must read back equal (encoding can refuse
// what XML cannot carry, e.g. a control character from a &#1; reference).
template <class Decoded, class Encode>
void round_trip(const Decoded& decoded, Encode encode) {
  std::string again;
  try {
    again = encode(decoded);
  } catch (const encode_error&) {
    return;
  }
  if constexpr (std::is_same_v<Decoded, call>) {
    const auto back = decode_call(again);
    if (back.method != decoded.method || back.params != decoded.params) std::abort();
  } else {
    const auto back = decode_response(again);
    if (back.is_fault() != decoded.is_fault()) std::abort();
    if (!back.is_fault() && std::get<value>(back.outcome) != std::get<value>(decoded.outcome)) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  try {
    std::string text = input;
    round_trip(decode_call(text), [](const call& c) { return encode_call(c); });
  } catch (const decode_error&) {
  }
  try {
    std::string text = input;
    round_trip(decode_response(text), [](const response& r) {
      return r.is_fault() ? encode_fault(std::get<fault>(r.outcome)) : encode_response(std::get<value>(r.outcome));
    });
  } catch (const decode_error&) {
  }
  return 0;
}
