#include "envs/pusht_render.hpp"

#include <algorithm>
#include <cmath>

#include "tensor/error.hpp"

namespace cj::envs {

namespace {

// pygame named colours; the fills are pymunk_override's light_color(c) = min(1.2 c, 255), rounded.
constexpr Rgb kWhite = {255, 255, 255};
constexpr Rgb kLightGreen = {144, 238, 144};
constexpr Rgb kLightSlateGray = {119, 136, 153}, kLightSlateGrayFill = {143, 163, 184};
constexpr Rgb kRoyalBlue = {65, 105, 225}, kRoyalBlueFill = {78, 126, 255};
constexpr Rgb kLightGray = {211, 211, 211};
constexpr Rgb kCollisionPoint = {231, 76, 60};  // pymunk's SpaceDebugDrawOptions default
constexpr double kOutlineRadius = 2;            // the overrides draw every outline as a radius-2 fat segment
constexpr int kResizeCoefBits = 11;             // OpenCV INTER_RESIZE_COEF_BITS

std::array<int, 2> to_pixel(Vec2 p) { return {round_half_even(p.x), round_half_even(p.y)}; }

// cpTransformPoint's evaluation order, so that vertices round to the same pixels as pymunk's.
Vec2 chipmunk_local_to_world(const Pose& pose, Vec2 v) {
  double c = std::cos(pose.angle), s = std::sin(pose.angle);
  return {c * v.x + -s * v.y + pose.x, s * v.x + c * v.y + pose.y};
}

const Vec2 kWalls[4][2] = {{{5, 506}, {5, 5}}, {{5, 5}, {506, 5}}, {{506, 5}, {506, 506}}, {{5, 506}, {506, 506}}};

}  // namespace

PushTScene pusht_scene(const PushTEnv& env) { return {env.agent_position(), {env.block_pose()}, env.contact_marks()}; }

BilinearResizer::BilinearResizer(int src_w, int src_h, int dst_w, int dst_h)
    : src_w_(src_w), src_h_(src_h), dst_w_(dst_w), dst_h_(dst_h) {
  CJ_CHECK(src_w > 1 && src_h > 1 && dst_w > 0 && dst_h > 0, "BilinearResizer: bad sizes ", src_w, "x", src_h,
           " -> ", dst_w, "x", dst_h);
  auto table = [](int src, int dst, std::vector<int>& ofs, std::vector<int16_t>& coef) {
    double scale = static_cast<double>(src) / dst;
    for (int d = 0; d < dst; ++d) {
      float f = static_cast<float>((d + 0.5) * scale - 0.5);
      int s = static_cast<int>(std::floor(f));
      f -= s;
      if (s < 0) f = 0, s = 0;
      if (s >= src - 1) s = src - 2, f = 1;  // past the end: all weight on the last pixel
      ofs.push_back(s);
      coef.push_back(static_cast<int16_t>(std::lrint((1.f - f) * (1 << kResizeCoefBits))));
      coef.push_back(static_cast<int16_t>(std::lrint(f * (1 << kResizeCoefBits))));
    }
  };
  table(src_w, dst_w, x_ofs_, x_alpha_);
  table(src_h, dst_h, y_ofs_, y_beta_);
}

void BilinearResizer::resize(const uint8_t* src, uint8_t* dst) const {
  std::vector<int> row0(static_cast<size_t>(dst_w_) * 3), row1(row0.size());
  auto horizontal = [&](int y, std::vector<int>& row) {
    const uint8_t* s = src + static_cast<size_t>(y) * src_w_ * 3;
    for (int x = 0; x < dst_w_; ++x) {
      const uint8_t* p = s + x_ofs_[x] * 3;
      for (int k = 0; k < 3; ++k) row[x * 3 + k] = p[k] * x_alpha_[2 * x] + p[3 + k] * x_alpha_[2 * x + 1];
    }
  };
  for (int y = 0; y < dst_h_; ++y) {
    horizontal(y_ofs_[y], row0);
    horizontal(y_ofs_[y] + 1, row1);
    const int b0 = y_beta_[2 * y], b1 = y_beta_[2 * y + 1];
    uint8_t* d = dst + static_cast<size_t>(y) * dst_w_ * 3;
    for (size_t i = 0; i < row0.size(); ++i) {
      // OpenCV's vectorised vertical pass: 16-bit high multiplies of the rows shifted right by 4.
      int v = (((row0[i] >> 4) * b0) >> 16) + (((row1[i] >> 4) * b1) >> 16);
      d[i] = static_cast<uint8_t>(std::clamp((v + 2) >> 2, 0, 255));
    }
  }
}

PushTRenderer::PushTRenderer(PushTRenderOptions options)
    : options_(options),
      canvas_(kCanvasSize, kCanvasSize),
      resizer_(kCanvasSize, kCanvasSize, options.size, options.size) {
  CJ_CHECK(options.size >= 8 && options.size <= 4096, "PushTRenderer: size must be in [8, 4096], got ",
           options.size);
}

// pymunk_override.draw_fat_segment: a width-4 line, then a quad and two end discs of radius 2.
void PushTRenderer::draw_fat_segment(Vec2 a, Vec2 b, Rgb color) {
  auto p1 = to_pixel(a), p2 = to_pixel(b);
  const int width = round_half_even(std::max(1.0, kOutlineRadius * 2));
  canvas_.thick_line(p1[0], p1[1], p2[0], p2[1], width, color);
  int ox = std::abs(p2[1] - p1[1]), oy = std::abs(p2[0] - p1[0]);
  if (ox == 0 && oy == 0) return;
  double scale = kOutlineRadius / std::sqrt(static_cast<double>(ox * ox + oy * oy));
  ox = round_half_even(ox * scale);
  oy = round_half_even(oy * scale);
  canvas_.fill_polygon({{p1[0] - ox, p1[1] - oy}, {p1[0] + ox, p1[1] + oy}, {p2[0] + ox, p2[1] + oy},
                        {p2[0] - ox, p2[1] - oy}},
                       color);
  const int r = round_half_even(kOutlineRadius);
  canvas_.fill_circle(p1[0], p1[1], r, color);
  canvas_.fill_circle(p2[0], p2[1], r, color);
}

void PushTRenderer::draw_tee(const Pose& pose, Rgb fill, Rgb outline, bool outlined) {
  for (const Quad& quad : tee_local_quads()) {
    std::array<Vec2, 4> world;
    for (size_t i = 0; i < 4; ++i) world[i] = chipmunk_local_to_world(pose, quad[i]);
    std::vector<std::array<int, 2>> pts;
    for (const Vec2& v : world) pts.push_back(to_pixel(v));
    pts.push_back(pts.front());  // the references pass the closing point explicitly
    canvas_.fill_polygon(pts, fill);
    if (outlined)
      for (size_t i = 0; i < 4; ++i) draw_fat_segment(world[i], world[(i + 1) % 4], outline);
  }
}

void PushTRenderer::draw_canvas(const PushTScene& scene) {
  canvas_.fill(kWhite);
  if (options_.draw_goal) draw_tee(pusht_goal_pose(), kLightGreen, kLightGreen, false);
  // Chipmunk's debug draw order for this space: dynamic shapes (block, then agent), static walls,
  // then the contact points.
  for (const Pose& block : scene.blocks) draw_tee(block, kLightSlateGrayFill, kLightSlateGray, true);
  auto center = to_pixel(scene.agent);
  canvas_.fill_circle(center[0], center[1], round_half_even(PushTEnv::kAgentRadius), kRoyalBlue);
  canvas_.fill_circle(center[0], center[1], round_half_even(PushTEnv::kAgentRadius - 4), kRoyalBlueFill);
  for (const auto& wall : kWalls) draw_fat_segment(wall[0], wall[1], kLightGray);
  if (options_.draw_contacts)
    for (const ContactMark& m : scene.contacts) {
      auto a = to_pixel(m.a), b = to_pixel(m.b);
      canvas_.aa_line(static_cast<float>(a[0]), static_cast<float>(a[1]), static_cast<float>(b[0]),
                      static_cast<float>(b[1]), kCollisionPoint);
    }
}

void PushTRenderer::render(const PushTScene& scene, uint8_t* out) {
  draw_canvas(scene);
  resizer_.resize(canvas_.data(), out);
}

std::vector<uint8_t> PushTRenderer::render(const PushTScene& scene) {
  std::vector<uint8_t> out(static_cast<size_t>(options_.size) * options_.size * 3);
  render(scene, out.data());
  return out;
}

}  // namespace cj::envs
