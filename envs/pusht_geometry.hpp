#pragma once
// Push-T geometry: the T block's two boxes, poses, and the coverage of the goal T (gym-pusht's
// reward), computed as exact convex-polygon intersections instead of shapely.
#include <array>

namespace cj::envs {

struct Vec2 {
  double x = 0, y = 0;
};

// A rigid pose: world = position + R(angle) * local. `position` is the body origin (the centre of
// the bar's top edge), not the centre of gravity.
struct Pose {
  double x = 0, y = 0, angle = 0;
  Vec2 to_world(Vec2 local) const;
};

using Quad = std::array<Vec2, 4>;

// Body-frame vertices in Chipmunk's stored (convex-hull) order: bar, then stem (pusht.md §1.1).
const std::array<Quad, 2>& tee_local_quads();
std::array<Quad, 2> tee_world_quads(const Pose& pose);

// The goal T of every variant: (256, 256, pi/4), posed about its origin (its body has no offset COG).
Pose pusht_goal_pose();
constexpr double kTeeArea = 6300.0;  // 120x30 bar + 30x90 stem

// Intersection area of the T at `block` with the T at `goal`, divided by the T's area.
double tee_coverage(const Pose& block, const Pose& goal = pusht_goal_pose());

// Distance from a point to the T at `pose` (0 inside).
double distance_to_tee(const Pose& pose, Vec2 point);

// Area of the intersection of two convex quads (Sutherland-Hodgman clipping).
double convex_intersection_area(const Quad& a, const Quad& b);

}  // namespace cj::envs
