#pragma once
// Push-T (pusht.md §1): a kinematic circle pushes a T block on a frictionless 512x512 table, in
// Chipmunk2D with the reference's constants and quirks. Two variants share the physics:
//   stable-worldmodel `swm/PushT-v1` (C-JEPA, DINO-WM): relative actions target = agent + 100 a,
//     state set angle-then-position, success = eval_state, reward = -||goal_state - state||;
//   gym-pusht: absolute actions in [0,512]^2, state set position-then-angle ("legacy"),
//     success = coverage > 0.95, reward = clip(coverage / 0.95, 0, 1).
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "envs/pusht_geometry.hpp"

namespace cj::envs {

enum class PushTVariant { kStableWorldModel, kGymPushT };

// "swm" / "stable-worldmodel" or "gym" / "gym-pusht"; anything else throws cj::Error.
PushTVariant pusht_variant_from_name(const std::string& name);
std::string pusht_variant_name(PushTVariant variant);

struct PushTConfig {
  PushTVariant variant = PushTVariant::kStableWorldModel;
  bool relative_actions = true;   // target = agent + action_scale * action; else absolute target
  bool angle_before_position = true;  // false: the legacy order, which rotates about the COG
  double damping = 0.0;          // space.damping; 0 zeroes the block's velocity every substep
  static PushTConfig for_variant(PushTVariant variant);
};

// [agent x, agent y, block x, block y, block angle mod 2 pi, agent vx, agent vy] (stable-worldmodel).
using PushTState = std::array<double, 7>;
// [agent x, agent y, agent vx, agent vy].
using PushTProprio = std::array<double, 4>;

// A contact between two shapes as Chipmunk's debug draw marks it: a short segment across the contact.
struct ContactMark {
  Vec2 a, b;
};

struct PushTStep {
  PushTState state;
  double reward = 0;
  double coverage = 0;
  bool success = false;
  int contact_points = 0;  // summed over the substeps (post-solve), like info['n_contacts'] before division
};

class PushTEnv {
 public:
  static constexpr double kActionScale = 100, kKp = 100, kKv = 20, kDt = 0.01;
  static constexpr int kSubsteps = 10;
  static constexpr double kWorkspace = 512, kAgentRadius = 15;

  explicit PushTEnv(PushTConfig config = {});
  ~PushTEnv();
  PushTEnv(PushTEnv&&) noexcept;
  PushTEnv& operator=(PushTEnv&&) noexcept;
  PushTEnv(const PushTEnv&) = delete;
  PushTEnv& operator=(const PushTEnv&) = delete;

  // Samples the variant's reset distribution (and, for stable-worldmodel, an independent goal state).
  PushTState reset(uint64_t seed);
  // A fresh space set to `state` (5 values, or 7 with the agent velocity), as each variant's reset
  // does: stable-worldmodel first sets and steps the goal state, then the state; both end with one
  // physics step "to take effect", so the returned state is not exactly the one given.
  PushTState reset_to_state(const std::vector<double>& state);
  // The reference's _set_state on the current space (no rebuild): sets, then one physics step.
  void set_state(const std::vector<double>& state);
  // The PD target of an action; throws cj::Error for non-finite actions or targets more than one
  // workspace outside the table. step() checks with it before touching the simulation.
  Vec2 action_target(double action_x, double action_y) const;
  // One control step: 10 substeps of PD control towards the action's target.
  PushTStep step(double action_x, double action_y);

  PushTState state() const;
  PushTProprio proprio() const;
  Pose block_pose() const;
  Vec2 agent_position() const;
  double coverage() const;
  bool is_success() const;
  double reward() const;
  std::vector<ContactMark> contact_marks() const;

  const PushTState& goal_state() const { return goal_state_; }
  void set_goal_state(const std::vector<double>& goal);
  const PushTConfig& config() const { return config_; }

 private:
  void build_space();
  void apply_state(const std::vector<double>& state);

  PushTConfig config_;
  PushTState goal_state_{};
  struct Sim;  // the Chipmunk space, on the heap so that its callbacks' pointers survive moves
  std::unique_ptr<Sim> sim_;
};

// Stable-worldmodel's eval_state: agent and block positions jointly within 20 and the wrapped angle
// error under pi/9. The angle difference is wrapped once only, as in the reference.
bool pusht_eval_state(const PushTState& goal, const PushTState& current);

// Python's `angle % (2 pi)`: the result has the sign of the divisor.
double wrap_angle_2pi(double angle);

}  // namespace cj::envs
