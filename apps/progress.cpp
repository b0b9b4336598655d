#include "apps/progress.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>

namespace cj::app {

namespace {
std::string clock_time(double seconds) {
  long long s = static_cast<long long>(std::llround(seconds));
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof(buf), "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
  else
    std::snprintf(buf, sizeof(buf), "%lld:%02lld", s / 60, s % 60);
  return buf;
}
}  // namespace

std::string format_progress(const std::string& label, long long done, long long total, double elapsed_s,
                            const std::string& unit) {
  constexpr int kWidth = 24;
  double fraction = total > 0 ? std::min(1.0, static_cast<double>(done) / total) : 1.0;
  int filled = static_cast<int>(fraction * kWidth);
  std::ostringstream os;
  os << label << " [" << std::string(filled, '#') << std::string(kWidth - filled, '-') << "] " << done << "/"
     << total;
  double rate = elapsed_s > 0 ? done / elapsed_s : 0;
  char buf[64];
  std::snprintf(buf, sizeof(buf), "  %.3g %s/s", rate, unit.c_str());
  os << buf;
  if (done >= total)
    os << "  took " << clock_time(elapsed_s);
  else
    os << "  ETA " << (rate > 0 ? clock_time((total - done) / rate) : std::string("?"));
  return os.str();
}

ProgressBar::ProgressBar(std::string label, long long total, std::string unit, bool enabled)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      enabled_(enabled),
      tty_(isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

double ProgressBar::elapsed_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void ProgressBar::advance(long long n) {
  done_ += n;
  draw(false);
}

void ProgressBar::finish() {
  if (finished_) return;
  finished_ = true;
  draw(true);
}

void ProgressBar::draw(bool final) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  std::string line = format_progress(label_, done_, total_, elapsed_s(), unit_);
  if (!note_.empty()) line += "  " + note_;
  if (tty_) {
    if (!final && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    std::cerr << "\r" << line << "\033[K" << (final ? "\n" : "") << std::flush;
    return;
  }
  long long decile = total_ > 0 ? done_ * 10 / total_ : 10;
  if (final || decile > last_decile_) {
    if (final && decile == last_decile_ && done_ >= total_) return;  // already printed at 100%
    last_decile_ = decile;
    std::cerr << line << "\n";
  }
}

}  // namespace cj::app
