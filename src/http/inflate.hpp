// Content-Encoding gzip and deflate, decoded while the body streams
// (--compressed), on zlib.
#pragma once

#include <functional>
#include <memory>
#include <string_view>

namespace nettool::http {

class inflater {
 public:
  using sink = std::function<void(std::string_view)>;
  // `encoding` is the response's Content-Encoding: "gzip", "x-gzip" or
  // "deflate" (zlib-wrapped, or raw as some servers send it).
  inflater(std::string_view encoding, sink out);
  ~inflater();
  inflater(const inflater&) = delete;
  inflater& operator=(const inflater&) = delete;

  // Decodes `compressed` and hands what it yields to the sink; throws
  // errc::protocol on data that is not what the encoding says.
  void feed(std::string_view compressed);
  // At the end of the body: throws errc::protocol when the compressed
  // stream did not end.
  void finish();

  static bool supports(std::string_view encoding);

 private:
  struct state;
  std::unique_ptr<state> state_;
};

}  // namespace nettool::http
