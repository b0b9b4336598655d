#pragma once
// A terminal progress bar with rate and ETA, for any long-running subcommand:
//   ProgressBar bar("episodes", n);  ...  bar.advance();  ...  bar.finish();
// On a terminal it redraws one line (at most 10 times a second); otherwise it prints a line per
// tenth of the work, so logs stay short.
#include <chrono>
#include <iosfwd>
#include <string>
#include <utility>

namespace cj::app {

// "label [#####-----] 12/100  3.4 it/s  ETA 0:26" (unit defaults to "it").
std::string format_progress(const std::string& label, long long done, long long total, double elapsed_s,
                            const std::string& unit = "it");

class ProgressBar {
 public:
  ProgressBar(std::string label, long long total, std::string unit = "it", bool enabled = true);
  void advance(long long n = 1);
  void finish();  // prints the final state and a newline (once)
  void set_note(std::string note) { note_ = std::move(note); }  // shown after the ETA, e.g. "loss 0.12"

  long long done() const { return done_; }
  double elapsed_s() const;

 private:
  void draw(bool final);

  std::string label_, unit_, note_;
  long long total_, done_ = 0, last_decile_ = -1;
  bool enabled_, tty_, finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace cj::app
