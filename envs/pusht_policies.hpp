#pragma once
// Data-collection policies for Push-T. Both think in relative moves d in [-1,1]^2 (target =
// agent + 100 d) and convert to the env's own action convention.
#include <array>
#include <cstdint>
#include <random>

#include "envs/pusht_env.hpp"

namespace cj::envs {

// The env's action for a relative move: d itself, or the absolute target agent + 100 d clamped to
// the table.
std::array<double, 2> pusht_action_for_move(const PushTEnv& env, double dx, double dy);

// Whether the agent's disc touches the T (within half a pixel).
bool pusht_agent_touches_block(const PushTEnv& env);

// Uniform random moves, each kept for the next step with probability `persistence`; moves that
// would leave the table are mirrored, so the agent stays on it.
class RandomPersistentPolicy {
 public:
  RandomPersistentPolicy(uint64_t seed, double persistence = 0.8);
  std::array<double, 2> act(const PushTEnv& env);

 private:
  std::mt19937_64 rng_;
  double persistence_;
  std::array<double, 2> move_{0, 0};
  bool has_move_ = false;
};

// Contact-rich pushing: picks a point on the T's outline, walks to just outside it (around the T,
// not through it), pushes inwards along the edge normal for a few steps, then picks another.
class ScriptedPushPolicy {
 public:
  explicit ScriptedPushPolicy(uint64_t seed);
  std::array<double, 2> act(const PushTEnv& env);

 private:
  void choose_push(const PushTEnv& env);

  std::mt19937_64 rng_;
  Vec2 contact_local_, normal_local_;  // the chosen point and its outward normal, in the T's frame
  int push_steps_left_ = 0;
  bool approaching_ = false;
  int approach_steps_ = 0;
};

}  // namespace cj::envs
