#include "envs/pusht_policies.hpp"

#include <algorithm>
#include <cmath>

namespace cj::envs {

std::array<double, 2> pusht_action_for_move(const PushTEnv& env, double dx, double dy) {
  if (env.config().relative_actions) return {dx, dy};
  Vec2 a = env.agent_position();
  return {std::clamp(a.x + PushTEnv::kActionScale * dx, 0.0, PushTEnv::kWorkspace),
          std::clamp(a.y + PushTEnv::kActionScale * dy, 0.0, PushTEnv::kWorkspace)};
}

bool pusht_agent_touches_block(const PushTEnv& env) {
  return distance_to_tee(env.block_pose(), env.agent_position()) <= PushTEnv::kAgentRadius + 0.5;
}

RandomPersistentPolicy::RandomPersistentPolicy(uint64_t seed, double persistence)
    : rng_(seed), persistence_(persistence) {}

std::array<double, 2> RandomPersistentPolicy::act(const PushTEnv& env) {
  std::uniform_real_distribution<double> unit(0, 1), move(-1, 1);
  if (!has_move_ || unit(rng_) >= persistence_) {
    move_ = {move(rng_), move(rng_)};
    has_move_ = true;
  }
  // Bounce off the table's edge: a move whose target leaves [20, 492] is mirrored (and kept so).
  const Vec2 a = env.agent_position();
  const double p[2] = {a.x, a.y};
  for (int k = 0; k < 2; ++k) {
    double target = p[k] + PushTEnv::kActionScale * move_[k];
    if (target < 20 || target > PushTEnv::kWorkspace - 20) move_[k] = -move_[k];
  }
  return pusht_action_for_move(env, move_[0], move_[1]);
}

namespace {

// Outline edges of the T in its frame (outer edges only) with their outward normals.
struct Edge {
  Vec2 a, b, normal;
};
const Edge kOuterEdges[] = {
    {{-60, 0}, {60, 0}, {0, -1}},      {{60, 0}, {60, 30}, {1, 0}},     {{-60, 0}, {-60, 30}, {-1, 0}},
    {{-60, 30}, {-15, 30}, {0, 1}},    {{15, 30}, {60, 30}, {0, 1}},    {{-15, 30}, {-15, 120}, {-1, 0}},
    {{15, 30}, {15, 120}, {1, 0}},     {{-15, 120}, {15, 120}, {0, 1}},
};

Vec2 rotate(Vec2 v, double angle) {
  double c = std::cos(angle), s = std::sin(angle);
  return {c * v.x - s * v.y, s * v.x + c * v.y};
}

// A move of at most `speed` (in units of 100 px) towards `target`.
std::array<double, 2> move_towards(Vec2 from, Vec2 target, double speed) {
  double dx = (target.x - from.x) / PushTEnv::kActionScale, dy = (target.y - from.y) / PushTEnv::kActionScale;
  double norm = std::hypot(dx, dy);
  if (norm > speed) dx *= speed / norm, dy *= speed / norm;
  return {dx, dy};
}

}  // namespace

ScriptedPushPolicy::ScriptedPushPolicy(uint64_t seed) : rng_(seed) {}

void ScriptedPushPolicy::choose_push(const PushTEnv& env) {
  std::uniform_int_distribution<int> pick(0, 7);
  std::uniform_real_distribution<double> along(0.15, 0.85);
  const Edge& e = kOuterEdges[pick(rng_)];
  double t = along(rng_);
  contact_local_ = {e.a.x + t * (e.b.x - e.a.x), e.a.y + t * (e.b.y - e.a.y)};
  normal_local_ = e.normal;
  push_steps_left_ = std::uniform_int_distribution<int>(3, 8)(rng_);
  approaching_ = true;
  approach_steps_ = 0;
  (void)env;
}

std::array<double, 2> ScriptedPushPolicy::act(const PushTEnv& env) {
  if (push_steps_left_ <= 0) choose_push(env);
  const Pose block = env.block_pose();
  const Vec2 agent = env.agent_position();
  const Vec2 contact = block.to_world(contact_local_);
  const Vec2 normal = rotate(normal_local_, block.angle);
  const double standoff = PushTEnv::kAgentRadius + 8;
  const Vec2 approach{contact.x + normal.x * standoff, contact.y + normal.y * standoff};
  if (approaching_) {
    if (std::hypot(agent.x - approach.x, agent.y - approach.y) < 6 || ++approach_steps_ > 25) {
      approaching_ = false;
    } else {
      // Walk around the T: aim at a waypoint pushed out from its centre when the straight path
      // would cross it.
      Vec2 centre = block.to_world({0, 45});
      Vec2 goal = approach;
      double mx = (agent.x + approach.x) / 2, my = (agent.y + approach.y) / 2;
      if (distance_to_tee(block, {mx, my}) < PushTEnv::kAgentRadius + 4) {
        double ox = mx - centre.x, oy = my - centre.y, n = std::hypot(ox, oy);
        if (n < 1e-6) ox = normal.x, oy = normal.y, n = 1;
        goal = {centre.x + ox / n * 110, centre.y + oy / n * 110};
      }
      auto m = move_towards(agent, {std::clamp(goal.x, 20.0, 492.0), std::clamp(goal.y, 20.0, 492.0)}, 0.6);
      return pusht_action_for_move(env, m[0], m[1]);
    }
  }
  --push_steps_left_;
  Vec2 push_target{contact.x - normal.x * 40, contact.y - normal.y * 40};
  auto m = move_towards(agent, push_target, 0.4);
  return pusht_action_for_move(env, m[0], m[1]);
}

}  // namespace cj::envs
