#include "envs/pusht_moving_shapes.hpp"

#include <cmath>

#include "tensor/error.hpp"

namespace cj::envs {

namespace {
constexpr double kWallInner = 7;     // walls at 5 with radius 2
constexpr double kTeeExtent = 76.5;  // farthest T vertex from its centre (0, 45): (15, 120), hypot(15, 75)
}  // namespace

MovingShapesScene::MovingShapesScene(uint64_t seed, double min_speed, double max_speed) : rng_(seed) {
  CJ_CHECK(std::isfinite(min_speed) && std::isfinite(max_speed) && 0 <= min_speed && min_speed <= max_speed,
           "MovingShapesScene: need 0 <= min_speed <= max_speed, got ", min_speed, " and ", max_speed);
  std::uniform_real_distribution<double> speed(min_speed, max_speed), direction(-M_PI, M_PI),
      spin(-1.0, 1.0);
  for (int i = 0; i < 3; ++i) {
    const bool is_tee = i > 0;
    const double extent = is_tee ? kTeeExtent : PushTEnv::kAgentRadius;
    std::uniform_real_distribution<double> place(kWallInner + extent, PushTEnv::kWorkspace - kWallInner - extent);
    double s = speed(rng_), d = direction(rng_);
    movers_.push_back({place(rng_), place(rng_), s * std::cos(d), s * std::sin(d),
                       is_tee ? direction(rng_) : 0.0, is_tee ? spin(rng_) : 0.0, extent});
  }
}

void MovingShapesScene::bounce(Mover& m) const {
  const double lo = kWallInner + m.extent, hi = PushTEnv::kWorkspace - kWallInner - m.extent;
  if (m.x < lo) m.x = 2 * lo - m.x, m.vx = std::fabs(m.vx);
  if (m.x > hi) m.x = 2 * hi - m.x, m.vx = -std::fabs(m.vx);
  if (m.y < lo) m.y = 2 * lo - m.y, m.vy = std::fabs(m.vy);
  if (m.y > hi) m.y = 2 * hi - m.y, m.vy = -std::fabs(m.vy);
}

void MovingShapesScene::advance() {
  const double dt = 1 / kFps;
  for (Mover& m : movers_) {
    m.x += m.vx * dt;
    m.y += m.vy * dt;
    m.angle += m.spin * dt;
    bounce(m);
  }
}

PushTScene MovingShapesScene::scene() const {
  PushTScene s;
  s.agent = {movers_[0].x, movers_[0].y};
  for (size_t i = 1; i < movers_.size(); ++i) {
    const Mover& m = movers_[i];
    // Movers track the T's centre (0, 45); the pose is its origin.
    double c = std::cos(m.angle), sn = std::sin(m.angle);
    s.blocks.push_back({m.x - (c * 0 - sn * 45), m.y - (sn * 0 + c * 45), m.angle});
  }
  return s;
}

}  // namespace cj::envs
