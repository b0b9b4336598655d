#pragma once
// Random-motion videos like the reference's encoder-training set (reference.md §2.5,
// pusht_all_moving_videogen.py): one agent disc and two T's drifting at constant random speeds of
// 150-250 px/s (the T's also turning slowly), reflected by the walls, passing through each other
// (the reference's default: no collisions). Rendered without the goal T, like the reference.
// Its JPEG, noise, blur and colour-jitter augmentations are left to the training pipeline.
#include <cstdint>
#include <random>
#include <vector>

#include "envs/pusht_render.hpp"

namespace cj::envs {

class MovingShapesScene {
 public:
  static constexpr double kFps = 40;

  MovingShapesScene(uint64_t seed, double min_speed = 150, double max_speed = 250);
  void advance();  // one frame, 1 / kFps seconds
  PushTScene scene() const;

 private:
  struct Mover {
    double x, y, vx, vy, angle, spin, extent;  // extent: the radius kept away from the walls
  };
  void bounce(Mover& m) const;

  std::mt19937_64 rng_;
  std::vector<Mover> movers_;  // the agent, then the two T's
};

}  // namespace cj::envs
