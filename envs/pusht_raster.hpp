#pragma once
// A small RGB canvas with the exact rasterisation rules of pygame 2.6's draw module (src_c/draw.c),
// which every Push-T reference renders with: scanline polygons with integer vertices, Bresenham
// filled circles (diameter 2r), thick lines, and blended anti-aliased lines.
#include <array>
#include <cstdint>
#include <vector>

namespace cj::envs {

using Rgb = std::array<uint8_t, 3>;

// Python's round(): half to even, as pymunk's to_pygame() uses it.
int round_half_even(double v);

class RgbCanvas {
 public:
  RgbCanvas(int width, int height);
  int width() const { return width_; }
  int height() const { return height_; }
  const uint8_t* data() const { return pixels_.data(); }  // HxWx3, row-major
  Rgb at(int x, int y) const;

  void fill(Rgb color);
  // pygame.draw.polygon(width=0): the closing point is passed explicitly by the callers.
  void fill_polygon(const std::vector<std::array<int, 2>>& points, Rgb color);
  // pygame.draw.circle(width=0): spans x0-r .. x0+r-1.
  void fill_circle(int x0, int y0, int radius, Rgb color);
  // pygame.draw.lines(closed=False) for one segment of the given width > 1.
  void thick_line(int x1, int y1, int x2, int y2, int width, Rgb color);
  // pygame.draw.aaline with blending, for integer end points.
  void aa_line(float from_x, float from_y, float to_x, float to_y, Rgb color);

 private:
  void set(int x, int y, Rgb c);
  void hline(int x1, int y, int x2, Rgb c);  // clipped, either order
  bool inside(int x, int y) const { return x >= 0 && x < width_ && y >= 0 && y < height_; }
  bool clip_line(int* x1, int* y1, int* x2, int* y2) const;
  void blend(int x, int y, Rgb c, float brightness);

  int width_, height_;
  std::vector<uint8_t> pixels_;
};

}  // namespace cj::envs
