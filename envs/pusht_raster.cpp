#include "envs/pusht_raster.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "tensor/error.hpp"

namespace cj::envs {

int round_half_even(double v) { return static_cast<int>(std::nearbyint(v)); }  // default mode: to even

RgbCanvas::RgbCanvas(int width, int height) : width_(width), height_(height) {
  CJ_CHECK(width > 0 && height > 0, "RgbCanvas: size must be positive, got ", width, "x", height);
  pixels_.assign(static_cast<size_t>(width) * height * 3, 0);
}

Rgb RgbCanvas::at(int x, int y) const {
  const uint8_t* p = &pixels_[(static_cast<size_t>(y) * width_ + x) * 3];
  return {p[0], p[1], p[2]};
}

void RgbCanvas::fill(Rgb c) {
  for (size_t i = 0; i < pixels_.size(); i += 3) std::copy(c.begin(), c.end(), &pixels_[i]);
}

void RgbCanvas::set(int x, int y, Rgb c) {
  if (!inside(x, y)) return;
  std::copy(c.begin(), c.end(), &pixels_[(static_cast<size_t>(y) * width_ + x) * 3]);
}

void RgbCanvas::hline(int x1, int y, int x2, Rgb c) {
  if (y < 0 || y >= height_) return;
  if (x2 < x1) std::swap(x1, x2);
  x1 = std::max(x1, 0);
  x2 = std::min(x2, width_ - 1);
  for (int x = x1; x <= x2; ++x) std::copy(c.begin(), c.end(), &pixels_[(static_cast<size_t>(y) * width_ + x) * 3]);
}

void RgbCanvas::fill_polygon(const std::vector<std::array<int, 2>>& pts, Rgb color) {
  const size_t n = pts.size();
  if (n < 3) return;
  // draw_fillpoly keeps y and the edge ends in doubles and truncates the intersections to int.
  double miny = pts[0][1], maxy = pts[0][1];
  for (const auto& p : pts) miny = std::min<double>(miny, p[1]), maxy = std::max<double>(maxy, p[1]);
  if (miny == maxy) {
    int minx = pts[0][0], maxx = pts[0][0];
    for (const auto& p : pts) minx = std::min(minx, p[0]), maxx = std::max(maxx, p[0]);
    hline(minx, static_cast<int>(miny), maxx, color);
    return;
  }
  std::vector<int> xs;
  for (double y = miny; y <= maxy; y++) {
    xs.clear();
    for (size_t i = 0; i < n; ++i) {
      size_t prev = i ? i - 1 : n - 1;
      double y1 = pts[prev][1], y2 = pts[i][1], x1, x2;
      if (y1 < y2) {
        x1 = pts[prev][0], x2 = pts[i][0];
      } else if (y1 > y2) {
        y2 = pts[prev][1], y1 = pts[i][1], x2 = pts[prev][0], x1 = pts[i][0];
      } else {
        continue;  // horizontal edges are drawn below
      }
      if ((y >= y1 && y < y2) || (y == maxy && y2 == maxy))
        xs.push_back(static_cast<int>((y - y1) * (x2 - x1) / (y2 - y1) + x1));
    }
    std::sort(xs.begin(), xs.end());
    for (size_t i = 0; i + 1 < xs.size(); i += 2) hline(xs[i], static_cast<int>(y), xs[i + 1], color);
  }
  for (size_t i = 0; i < n; ++i) {
    size_t prev = i ? i - 1 : n - 1;
    int y = pts[i][1];
    if (miny < y && pts[prev][1] == y && y < maxy) hline(pts[i][0], y, pts[prev][0], color);
  }
}

void RgbCanvas::fill_circle(int x0, int y0, int radius, Rgb color) {
  if (radius < 1) return;
  int f = 1 - radius, ddf_x = 0, ddf_y = -2 * radius, x = 0, y = radius;
  while (x < y) {
    if (f >= 0) {
      y--;
      ddf_y += 2;
      f += ddf_y;
    }
    x++;
    ddf_x += 2;
    f += ddf_x + 1;
    if (f >= 0) {
      hline(x0 - x, y0 + y - 1, x0 + x - 1, color);
      hline(x0 - x, y0 - y, x0 + x - 1, color);
    }
    hline(x0 - y, y0 + x - 1, x0 + y - 1, color);
    hline(x0 - y, y0 - x, x0 + y - 1, color);
  }
}

// Liang-Barsky clipping with pygame's rounding of the clipped end points.
bool RgbCanvas::clip_line(int* x1, int* y1, int* x2, int* y2) const {
  int p1 = *x1 - *x2, p2 = -p1, p3 = *y1 - *y2, p4 = -p3;
  int q1 = *x1, q2 = width_ - *x1, q3 = *y1, q4 = height_ - *y1;
  int old_x1 = *x1, old_y1 = *y1;
  double nmax = 0, pmin = 1;
  if ((p1 == 0 && q1 < 0) || (p2 == 0 && q2 < 0) || (p3 == 0 && q3 < 0) || (p4 == 0 && q4 < 0)) return false;
  auto bound = [&](int p, int qa, int qb, int pneg) {
    double r1 = static_cast<double>(qa) / p, r2 = static_cast<double>(qb) / pneg;
    if (p < 0) {
      nmax = std::max(nmax, r1);
      pmin = std::min(pmin, r2);
    } else {
      nmax = std::max(nmax, r2);
      pmin = std::min(pmin, r1);
    }
  };
  if (p1) bound(p1, q1, q2, p2);
  if (p3) bound(p3, q3, q4, p4);
  if (nmax > pmin) return false;
  auto away = [](double v) { return static_cast<int>(v < 0 ? v - 0.5 : v + 0.5); };
  *x1 = old_x1 + away(p2 * nmax);
  *y1 = old_y1 + away(p4 * nmax);
  *x2 = old_x1 + away(p2 * pmin);
  *y2 = old_y1 + away(p4 * pmin);
  return true;
}

void RgbCanvas::thick_line(int x1, int y1, int x2, int y2, int width, Rgb color) {
  CJ_CHECK(width > 1, "RgbCanvas::thick_line: width must be > 1, got ", width);
  const int end_x = x2, end_y = y2;
  const bool grow_x = std::abs(x1 - x2) <= std::abs(y1 - y2);  // thickness along x for steep lines
  const int dx = std::abs(x2 - x1), sx = x1 < x2 ? 1 : -1;
  const int dy = std::abs(y2 - y1), sy = y1 < y2 ? 1 : -1;
  int err = (dx > dy ? dx : -dy) / 2;
  if (!clip_line(&x1, &y1, &x2, &y2)) return;
  int lo = (grow_x ? x1 : y1) - (width - 1) / 2, hi = (grow_x ? x1 : y1) + width / 2;
  auto sign = [](int v, int fallback) { return v > 0 ? 1 : (v < 0 ? -1 : fallback); };
  auto span = [&]() {
    if (grow_x)
      hline(lo, y1, hi, color);
    else
      for (int y = lo; y <= hi; ++y) set(x1, y, color);
  };
  auto advance = [&]() {
    int e2 = err;
    if (e2 > -dx) {
      err -= dy;
      x1 += sx;
      if (grow_x) lo += sx, hi += sx;
    }
    if (e2 < dy) {
      err += dx;
      y1 += sy;
      if (!grow_x) lo += sy, hi += sy;
    }
  };
  while (sign(x1 - x2, sx) != sx || sign(y1 - y2, sy) != sy) {
    span();
    advance();
  }
  // pygame then walks on to the original end point while the span still touches the surface.
  if (grow_x) {
    while (y1 != end_y && (inside(lo, y1) || inside(hi, y1))) {
      span();
      advance();
    }
  } else {
    while (x1 != end_x && (inside(x1, lo) || inside(x1, hi))) {
      span();
      advance();
    }
  }
  span();
}

void RgbCanvas::blend(int x, int y, Rgb c, float brightness) {
  if (!inside(x, y)) return;
  uint8_t* p = &pixels_[(static_cast<size_t>(y) * width_ + x) * 3];
  for (int k = 0; k < 3; ++k)
    p[k] = static_cast<uint8_t>(brightness * c[k] + (1 - brightness) * p[k]);
}

void RgbCanvas::aa_line(float from_x, float from_y, float to_x, float to_y, Rgb color) {
  float dx = to_x - from_x, dy = to_y - from_y;
  if (std::fabs(dx) < 0.0001f && std::fabs(dy) < 0.0001f) {
    blend(static_cast<int>(std::floor(from_x + 0.5)), static_cast<int>(std::floor(from_y + 0.5)), color, 1.0f);
    return;
  }
  float clip_left = -1.0f, clip_right = clip_left + width_ + 1.0f;
  float clip_top = -1.0f, clip_bottom = clip_top + height_ + 1.0f;
  const bool steep = std::fabs(dx) < std::fabs(dy);
  if (steep) {
    std::swap(from_x, from_y), std::swap(to_x, to_y), std::swap(dx, dy);
    std::swap(clip_left, clip_top), std::swap(clip_right, clip_bottom);
  }
  if (dx < 0) {
    std::swap(from_x, to_x), std::swap(from_y, to_y);
    dx = -dx, dy = -dy;
  }
  if (to_x <= clip_left || from_x >= clip_right) return;
  const float gradient = dy / dx;
  if (from_x < clip_left) from_y += gradient * (clip_left - from_x), from_x = clip_left;
  if (to_x > clip_right) to_y += gradient * (clip_right - to_x), to_x = clip_right;
  if (gradient > 0.0f) {
    if (to_y <= clip_top || from_y >= clip_bottom) return;
    if (from_y < clip_top) from_x += (clip_top - from_y) / gradient, from_y = clip_top;
    if (to_y > clip_bottom) to_x += (clip_bottom - to_y) / gradient, to_y = clip_bottom;
  } else {
    if (from_y <= clip_top || to_y >= clip_bottom) return;
    if (to_y < clip_top) to_x += (clip_top - to_y) / gradient, to_y = clip_top;
    if (from_y > clip_bottom) from_x += (clip_bottom - from_y) / gradient, from_y = clip_bottom;
  }
  // Shifted one pixel down so that (int) rounds down; the pixels are drawn one higher.
  from_y += 1.0f;
  to_y += 1.0f;
  auto plot = [&](int major, int minor, float b) {
    if (steep)
      blend(minor, major, color, b);
    else
      blend(major, minor, color, b);
  };
  int x_start = static_cast<int>(from_x);
  float y_end = from_y + gradient * (x_start - from_x);
  float intersect_y = y_end;
  if (to_x > clip_left + 1.0f) {
    float x_gap = 1 + x_start - from_x;
    float b = y_end - static_cast<int>(y_end);
    int minor = static_cast<int>(y_end);
    if (static_cast<int>(y_end) < y_end) plot(x_start, minor, b * x_gap);
    plot(x_start, minor - 1, (1 - b) * x_gap);
    intersect_y += gradient;
    x_start++;
  }
  int x_end = static_cast<int>(std::ceil(to_x));
  if (from_x < clip_right - 1.0f) {
    y_end = to_y + gradient * (x_end - to_x);
    float x_gap = 1 - x_end + to_x;
    float b = y_end - static_cast<int>(y_end);
    int minor = static_cast<int>(y_end);
    if (static_cast<int>(y_end) < y_end) plot(x_end, minor, b * x_gap);
    plot(x_end, minor - 1, (1 - b) * x_gap);
  }
  for (int x = x_start; x < x_end; x++) {
    int y = static_cast<int>(intersect_y);
    float b = 1 - intersect_y + y;
    plot(x, y - 1, b);
    if (y < intersect_y) plot(x, y, 1 - b);
    intersect_y += gradient;
  }
}

}  // namespace cj::envs
