// Parsing of the value syntaxes SPEC §1 fixes for every option: durations,
// sizes, port lists, HOST:PORT.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nettool::core {

using duration = std::chrono::nanoseconds;

// `250ms`, `5s`, `1.5s`, `2m`, `1h`, also `us`/`ns`; a bare number is seconds.
std::optional<duration> parse_duration(std::string_view text);
// Bare bytes; K/KiB, M/MiB, G/GiB, T/TiB are powers of 1024, KB/MB/GB/TB of 1000.
std::optional<std::uint64_t> parse_size(std::string_view text);
// `22,80,8000-8100` → sorted, without duplicates. Port 0 is refused.
std::optional<std::vector<std::uint16_t>> parse_port_list(std::string_view text);
std::optional<std::uint16_t> parse_port(std::string_view text, bool allow_zero = false);

struct host_port {
  std::string host;
  std::uint16_t port = 0;
};
// `host:port`, `[v6]:port`, `v6addr` is refused without brackets.
std::optional<host_port> parse_host_port(std::string_view text);

// Human-readable forms for logs: "1.25s", "12.0ms"; "1.50 GiB".
std::string format_duration(duration d);
std::string format_bytes(double bytes);
double to_seconds(duration d);

}  // namespace nettool::core
