#pragma once
// Push-T frames as the references draw them (pusht.md §1.3): a 512x512 white canvas, the goal T in
// LightGreen, the block and agent through pymunk's debug-draw overrides, the walls, red contact
// marks, then OpenCV's 8-bit INTER_LINEAR resize to the observation size (224 or 96).
#include <cstdint>
#include <vector>

#include "envs/pusht_env.hpp"
#include "envs/pusht_raster.hpp"

namespace cj::envs {

// What a frame shows; taken from an env with PushTEnv-independent fields so tests can pose it.
struct PushTScene {
  Vec2 agent;
  std::vector<Pose> blocks;  // one in the env; the moving-shapes videos show two
  std::vector<ContactMark> contacts;
};
PushTScene pusht_scene(const PushTEnv& env);

struct PushTRenderOptions {
  int size = 224;              // output is size x size x 3
  bool draw_goal = true;       // with_target / render_goal
  bool draw_contacts = true;   // pymunk's default DRAW_COLLISION_POINTS
};

// Bilinear resize with OpenCV's fixed-point INTER_LINEAR arithmetic for 8-bit images (11-bit
// coefficients, its SIMD vertical pass), so results match cv2.resize bit for bit.
class BilinearResizer {
 public:
  BilinearResizer(int src_width, int src_height, int dst_width, int dst_height);
  void resize(const uint8_t* src_rgb, uint8_t* dst_rgb) const;
  int dst_width() const { return dst_w_; }
  int dst_height() const { return dst_h_; }

 private:
  int src_w_, src_h_, dst_w_, dst_h_;
  std::vector<int> x_ofs_, y_ofs_;
  std::vector<int16_t> x_alpha_, y_beta_;  // two coefficients per output column / row
};

class PushTRenderer {
 public:
  static constexpr int kCanvasSize = 512;
  explicit PushTRenderer(PushTRenderOptions options = {});

  // Draws the full-resolution canvas (kept for inspection) and writes the resized frame.
  void render(const PushTScene& scene, uint8_t* out_rgb);
  std::vector<uint8_t> render(const PushTScene& scene);
  const RgbCanvas& canvas() const { return canvas_; }
  const PushTRenderOptions& options() const { return options_; }

  void draw_canvas(const PushTScene& scene);

 private:
  void draw_fat_segment(Vec2 a, Vec2 b, Rgb color);
  void draw_tee(const Pose& pose, Rgb fill, Rgb outline, bool outlined);

  PushTRenderOptions options_;
  RgbCanvas canvas_;
  BilinearResizer resizer_;
};

}  // namespace cj::envs
