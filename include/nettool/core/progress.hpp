// A one-line progress meter on stderr (size, rate, ETA), drawn only when
// stderr is a terminal and -q was not given (SPEC §1: progress bars only on
// a terminal). Any protocol that moves a known or unknown amount can use it.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace nettool::core {

class progress {
 public:
  // `total`: the expected size, when known (a percentage and ETA then show).
  progress(std::string label, std::optional<std::uint64_t> total);
  ~progress();
  progress(const progress&) = delete;
  progress& operator=(const progress&) = delete;

  bool active() const noexcept { return active_; }
  // Records `done` bytes so far; redraws at most ten times a second.
  void update(std::uint64_t done);
  // Draws the final state and ends the line.
  void finish();

 private:
  void draw(bool final);

  std::string label_;
  std::optional<std::uint64_t> total_;
  bool active_;
  bool finished_ = false;
  std::uint64_t done_ = 0;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

// The meter's text, separate from drawing for tests: "  45%  1.00 MiB /
// 2.22 MiB  512.00 KiB/s  ETA 0:03" (no percentage or ETA without a total).
std::string progress_line(std::uint64_t done, std::optional<std::uint64_t> total, double seconds);

}  // namespace nettool::core
