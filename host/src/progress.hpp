#pragma once
// Progress display: a bar with rate and ETA on a terminal, a line every few seconds otherwise.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <panoramia/context.hpp>

namespace panoramia {

class ProgressDisplay final : public Progress {
 public:
  ProgressDisplay(std::shared_ptr<spdlog::logger> logger, std::string what, std::int64_t total);
  ~ProgressDisplay() override;
  void advance(std::int64_t n, const std::string& status) override;
  void finish() override;

  /// Whether stderr is a terminal (bars) or not (periodic lines); tests may force either.
  static void set_terminal_mode(int mode);  // -1 auto, 0 lines, 1 bar

 private:
  void draw(bool final_line);

  std::shared_ptr<spdlog::logger> logger_;
  std::string what_;
  std::int64_t total_;
  std::int64_t done_ = 0;
  std::string status_;
  bool finished_ = false;
  bool terminal_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

std::string format_duration(double seconds);

}  // namespace panoramia
