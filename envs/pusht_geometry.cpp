#include "envs/pusht_geometry.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace cj::envs {

Vec2 Pose::to_world(Vec2 local) const {
  double c = std::cos(angle), s = std::sin(angle);
  return {x + c * local.x - s * local.y, y + s * local.x + c * local.y};
}

const std::array<Quad, 2>& tee_local_quads() {
  static const std::array<Quad, 2> quads = {{
      {{{-60, 0}, {60, 0}, {60, 30}, {-60, 30}}},
      {{{-15, 30}, {15, 30}, {15, 120}, {-15, 120}}},
  }};
  return quads;
}

std::array<Quad, 2> tee_world_quads(const Pose& pose) {
  std::array<Quad, 2> out;
  for (size_t q = 0; q < 2; ++q)
    for (size_t i = 0; i < 4; ++i) out[q][i] = pose.to_world(tee_local_quads()[q][i]);
  return out;
}

Pose pusht_goal_pose() { return {256.0, 256.0, M_PI / 4}; }

namespace {

double cross(Vec2 o, Vec2 a, Vec2 b) { return (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x); }

double polygon_area(const std::vector<Vec2>& p) {
  double twice = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    const Vec2& a = p[i];
    const Vec2& b = p[(i + 1) % p.size()];
    twice += a.x * b.y - b.x * a.y;
  }
  return std::fabs(twice) / 2;
}

}  // namespace

double convex_intersection_area(const Quad& subject, const Quad& clip) {
  std::vector<Vec2> out(subject.begin(), subject.end());
  // Clipping keeps the side of each clip edge that the clip polygon's interior is on, whatever
  // its winding.
  double orientation = cross(clip[0], clip[1], clip[2]) > 0 ? 1.0 : -1.0;
  for (size_t e = 0; e < clip.size() && !out.empty(); ++e) {
    Vec2 a = clip[e], b = clip[(e + 1) % clip.size()];
    std::vector<Vec2> in;
    in.swap(out);
    for (size_t i = 0; i < in.size(); ++i) {
      Vec2 p = in[i], q = in[(i + 1) % in.size()];
      double dp = orientation * cross(a, b, p), dq = orientation * cross(a, b, q);
      if (dp >= 0) out.push_back(p);
      if ((dp >= 0) != (dq >= 0)) {
        double t = dp / (dp - dq);
        out.push_back({p.x + t * (q.x - p.x), p.y + t * (q.y - p.y)});
      }
    }
  }
  return out.size() < 3 ? 0.0 : polygon_area(out);
}

double distance_to_tee(const Pose& pose, Vec2 point) {
  double best = INFINITY;
  for (const Quad& q : tee_world_quads(pose)) {
    bool inside = true;
    double orientation = cross(q[0], q[1], q[2]) > 0 ? 1.0 : -1.0;
    for (size_t i = 0; i < 4; ++i) {
      Vec2 a = q[i], b = q[(i + 1) % 4];
      inside &= orientation * cross(a, b, point) >= 0;
      double ex = b.x - a.x, ey = b.y - a.y;
      double t = std::clamp(((point.x - a.x) * ex + (point.y - a.y) * ey) / (ex * ex + ey * ey), 0.0, 1.0);
      best = std::min(best, std::hypot(point.x - (a.x + t * ex), point.y - (a.y + t * ey)));
    }
    if (inside) return 0.0;
  }
  return best;
}

double tee_coverage(const Pose& block, const Pose& goal) {
  auto b = tee_world_quads(block);
  auto g = tee_world_quads(goal);
  double overlap = 0;
  // Bar and stem share only an edge, so the pairwise areas add up to the T-T intersection.
  for (const Quad& bq : b)
    for (const Quad& gq : g) overlap += convex_intersection_area(bq, gq);
  return overlap / kTeeArea;
}

}  // namespace cj::envs
