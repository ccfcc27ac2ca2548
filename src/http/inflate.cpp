#include "inflate.hpp"

#include "nettool/core/error.hpp"

#include <fmt/format.h>

#include <zlib.h>

#include <array>

namespace nettool::http {

struct inflater::state {
  z_stream z{};
  bool raw_fallback_possible = false;  // "deflate" that may turn out to be raw
  bool started = false;
  bool ended = false;
  sink out;
  std::array<unsigned char, 64 * 1024> buffer;

  // 15 + 32: zlib or gzip header, detected; -15: raw deflate.
  void init(int window_bits) {
    if (inflateInit2(&z, window_bits) != Z_OK) throw core::error(core::errc::failure, "decode", "zlib", "out of memory");
  }
};

bool inflater::supports(std::string_view encoding) {
  return encoding == "gzip" || encoding == "x-gzip" || encoding == "deflate";
}

inflater::inflater(std::string_view encoding, sink out) : state_(std::make_unique<state>()) {
  state_->out = std::move(out);
  state_->raw_fallback_possible = encoding == "deflate";
  state_->init(15 + 32);
}

inflater::~inflater() { inflateEnd(&state_->z); }

void inflater::feed(std::string_view compressed) {
  auto& s = *state_;
  if (s.ended) {
    if (!compressed.empty())
      throw core::error(core::errc::protocol, "decode", "body", "data after the end of the compressed stream");
    return;
  }
  s.z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  s.z.avail_in = static_cast<uInt>(compressed.size());
  while (s.z.avail_in > 0 && !s.ended) {
    s.z.next_out = s.buffer.data();
    s.z.avail_out = static_cast<uInt>(s.buffer.size());
    const int rc = inflate(&s.z, Z_NO_FLUSH);
    if (rc == Z_DATA_ERROR && s.raw_fallback_possible && !s.started) {
      // Servers that label raw deflate as "deflate": start over as raw.
      s.raw_fallback_possible = false;
      inflateEnd(&s.z);
      s.z = z_stream{};
      s.init(-15);
      s.z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
      s.z.avail_in = static_cast<uInt>(compressed.size());
      continue;
    }
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
      throw core::error(core::errc::protocol, "decode", "body",
                        fmt::format("bad compressed data: {}", s.z.msg ? s.z.msg : "inflate failed"));
    s.started = true;
    const auto produced = s.buffer.size() - s.z.avail_out;
    if (produced > 0) s.out(std::string_view(reinterpret_cast<const char*>(s.buffer.data()), produced));
    if (rc == Z_STREAM_END) s.ended = true;
    if (rc == Z_BUF_ERROR && produced == 0) break;  // needs more input
  }
  if (s.ended && s.z.avail_in > 0)
    throw core::error(core::errc::protocol, "decode", "body", "data after the end of the compressed stream");
}

void inflater::finish() {
  // Output still held inside zlib is flushed by feed()'s loop; what is left
  // to check is that the stream ended.
  if (!state_->ended) throw core::error(core::errc::protocol, "decode", "body", "the compressed body was cut short");
}

}  // namespace nettool::http
