#include "envs/pusht_env.hpp"

#include <chipmunk/chipmunk.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <random>

#include "tensor/error.hpp"

namespace cj::envs {

PushTVariant pusht_variant_from_name(const std::string& name) {
  if (name == "swm" || name == "stable-worldmodel") return PushTVariant::kStableWorldModel;
  if (name == "gym" || name == "gym-pusht") return PushTVariant::kGymPushT;
  fail("pusht: unknown variant '", name, "' (expected 'swm' / 'stable-worldmodel' or 'gym' / 'gym-pusht')");
}

std::string pusht_variant_name(PushTVariant variant) {
  return variant == PushTVariant::kStableWorldModel ? "stable-worldmodel" : "gym-pusht";
}

PushTConfig PushTConfig::for_variant(PushTVariant variant) {
  PushTConfig c;
  c.variant = variant;
  c.relative_actions = variant == PushTVariant::kStableWorldModel;
  c.angle_before_position = variant == PushTVariant::kStableWorldModel;
  return c;
}

double wrap_angle_2pi(double angle) {
  const double period = 2 * M_PI;
  double r = std::fmod(angle, period);
  if (r == 0) return 0.0;  // Python gives +0.0, also for -0.0
  return r < 0 ? r + period : r;
}

bool pusht_eval_state(const PushTState& goal, const PushTState& current) {
  double squared = 0;
  for (int i = 0; i < 4; ++i) squared += (goal[i] - current[i]) * (goal[i] - current[i]);
  double angle_diff = std::fabs(goal[4] - current[4]);
  angle_diff = std::min(angle_diff, 2 * M_PI - angle_diff);
  return std::sqrt(squared) < 20 && angle_diff < M_PI / 9;
}

namespace {

// Far beyond anything the PD controller produces; larger values would overflow Chipmunk's
// integration, whose debug build aborts on non-finite bodies.
constexpr double kMaxSpeed = 1e4;

void check_state(const std::vector<double>& s, const char* what) {
  CJ_CHECK(s.size() == 5 || s.size() == 7, "pusht: ", what, " needs 5 values [agent x, agent y, block x, block y, ",
           "angle] or 7 (plus agent vx, vy), got ", s.size());
  for (size_t i = 0; i < s.size(); ++i)
    CJ_CHECK(std::isfinite(s[i]), "pusht: ", what, "[", i, "] must be finite, got ", s[i]);
  for (size_t i = 0; i < 4; ++i)
    CJ_CHECK(s[i] >= 0 && s[i] <= PushTEnv::kWorkspace, "pusht: ", what, "[", i, "] = ", s[i],
             " is outside the workspace [0, 512]");
  for (size_t i = 5; i < s.size(); ++i)
    CJ_CHECK(std::fabs(s[i]) <= kMaxSpeed, "pusht: ", what, "[", i, "] = ", s[i], " is an agent velocity beyond ",
             kMaxSpeed, " px/s");
}

// Debian builds Chipmunk with its debug checks on; its first cpSpaceNew prints a two-line banner to
// stdout, which would land in our programs' output (JSON, progress), so that first one runs muted.
cpSpace* new_space() {
  static std::once_flag once;
  std::call_once(once, [] {
    std::fflush(stdout);
    int saved = dup(STDOUT_FILENO), null = open("/dev/null", O_WRONLY);
    if (saved >= 0 && null >= 0) dup2(null, STDOUT_FILENO);
    cpSpaceFree(cpSpaceNew());
    std::fflush(stdout);
    if (saved >= 0) dup2(saved, STDOUT_FILENO), close(saved);
    if (null >= 0) close(null);
  });
  return cpSpaceNew();
}

void count_contact_points(cpArbiter* arbiter, cpSpace*, cpDataPointer counter) {
  *static_cast<int*>(counter) += cpArbiterGetCount(arbiter);
}

}  // namespace

struct PushTEnv::Sim {
  cpSpace* space = nullptr;
  cpBody* agent = nullptr;
  cpBody* block = nullptr;
  std::vector<cpShape*> shapes;
  int contact_points = 0;

  ~Sim() {
    if (!space) return;
    for (cpShape* s : shapes) {
      cpSpaceRemoveShape(space, s);
      cpShapeFree(s);
    }
    for (cpBody* b : {agent, block}) {
      cpSpaceRemoveBody(space, b);
      cpBodyFree(b);
    }
    cpSpaceFree(space);
  }
};

PushTEnv::PushTEnv(PushTConfig config) : config_(config) {
  CJ_CHECK(std::isfinite(config.damping) && config.damping >= 0 && config.damping <= 1,
           "pusht: damping must be in [0, 1], got ", config.damping);
  // The agent's default goal is its start position, clear of the goal T: stable-worldmodel steps
  // the goal state once on reset, and an overlap there would leave the block a velocity.
  goal_state_ = {256, 400, 256, 256, M_PI / 4, 0, 0};
  build_space();
}

PushTEnv::~PushTEnv() = default;
PushTEnv::PushTEnv(PushTEnv&&) noexcept = default;
PushTEnv& PushTEnv::operator=(PushTEnv&&) noexcept = default;

// Rebuilds the reference's _setup(): same shapes in the same order (the order fixes Chipmunk's
// collision and draw order), pymunk's default solver settings.
void PushTEnv::build_space() {
  auto sim = std::make_unique<Sim>();
  sim->space = new_space();
  cpSpaceSetGravity(sim->space, cpvzero);
  cpSpaceSetDamping(sim->space, config_.damping);
  cpSpaceSetIterations(sim->space, 10);

  cpBody* ground = cpSpaceGetStaticBody(sim->space);
  const cpVect walls[4][2] = {{{5, 506}, {5, 5}}, {{5, 5}, {506, 5}}, {{506, 5}, {506, 506}}, {{5, 506}, {506, 506}}};
  for (const auto& w : walls) sim->shapes.push_back(cpSpaceAddShape(sim->space, cpSegmentShapeNew(ground, w[0], w[1], 2)));

  sim->agent = cpSpaceAddBody(sim->space, cpBodyNewKinematic());
  cpBodySetPosition(sim->agent, cpv(256, 400));
  sim->shapes.push_back(cpSpaceAddShape(sim->space, cpCircleShapeNew(sim->agent, kAgentRadius, cpvzero)));

  const cpVect bar[4] = {{-60, 30}, {60, 30}, {60, 0}, {-60, 0}};
  const cpVect stem[4] = {{-15, 30}, {-15, 120}, {15, 120}, {15, 30}};
  // The reference computes the moment of the bar twice and never the stem's (pusht.md §1.4): 3000.
  double moment = 2 * cpMomentForPoly(1, 4, bar, cpvzero, 0);
  sim->block = cpBodyNew(1, moment);
  cpShape* bar_shape = cpPolyShapeNew(sim->block, 4, bar, cpTransformIdentity, 0);
  cpShape* stem_shape = cpPolyShapeNew(sim->block, 4, stem, cpTransformIdentity, 0);
  // The mean of the two centroids, (0, 45), not the area-weighted (0, 40.71): a quirk kept on purpose.
  cpBodySetCenterOfGravity(sim->block, cpvmult(cpvadd(cpShapeGetCenterOfGravity(bar_shape),
                                                      cpShapeGetCenterOfGravity(stem_shape)), 0.5));
  cpBodySetPosition(sim->block, cpv(256, 300));
  cpBodySetAngle(sim->block, 0);
  cpSpaceAddBody(sim->space, sim->block);
  sim->shapes.push_back(cpSpaceAddShape(sim->space, bar_shape));
  sim->shapes.push_back(cpSpaceAddShape(sim->space, stem_shape));

  cpCollisionHandler* handler = cpSpaceAddCollisionHandler(sim->space, 0, 0);
  handler->postSolveFunc = count_contact_points;
  handler->userData = &sim->contact_points;
  sim_ = std::move(sim);
}

void PushTEnv::apply_state(const std::vector<double>& s) {
  cpBody* agent = sim_->agent;
  cpBody* block = sim_->block;
  if (s.size() == 7)
    cpBodySetVelocity(agent, cpv(s[5], s[6]));
  else if (config_.variant == PushTVariant::kStableWorldModel)
    cpBodySetVelocity(agent, cpvzero);  // swm's _set_state zeroes it when no velocity is given
  cpBodySetPosition(agent, cpv(s[0], s[1]));
  if (config_.angle_before_position) {
    cpBodySetAngle(block, s[4]);
    cpBodySetPosition(block, cpv(s[2], s[3]));
  } else {
    // Legacy: the angle is set last and rotates about the COG (0, 45), moving the origin.
    cpBodySetPosition(block, cpv(s[2], s[3]));
    cpBodySetAngle(block, s[4]);
  }
}

void PushTEnv::set_state(const std::vector<double>& state) {
  check_state(state, "state");
  apply_state(state);
  cpSpaceStep(sim_->space, kDt);
}

void PushTEnv::set_goal_state(const std::vector<double>& goal) {
  check_state(goal, "goal state");
  for (size_t i = 0; i < 7; ++i) goal_state_[i] = i < goal.size() ? goal[i] : 0.0;
}

PushTState PushTEnv::reset_to_state(const std::vector<double>& state) {
  check_state(state, "state");
  build_space();
  if (config_.variant == PushTVariant::kStableWorldModel) {
    apply_state({goal_state_.begin(), goal_state_.end()});
    cpSpaceStep(sim_->space, kDt);
  }
  apply_state(state);
  cpSpaceStep(sim_->space, kDt);
  return this->state();
}

PushTState PushTEnv::reset(uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto uniform = [&rng](double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); };
  auto integer = [&rng](int lo, int hi_exclusive) {
    return static_cast<double>(std::uniform_int_distribution<int>(lo, hi_exclusive - 1)(rng));
  };
  if (config_.variant == PushTVariant::kGymPushT) {
    // gym-pusht 0.1.8: integers(50, 450) for the agent, integers(100, 400) for the block, uniform(-pi, pi).
    std::vector<double> s = {integer(50, 450), integer(50, 450), integer(100, 400), integer(100, 400),
                             uniform(-M_PI, M_PI)};
    return reset_to_state(s);
  }
  // stable-worldmodel's variation space: agent in [50,450]^2, block in [100,400]^2, angle in
  // [-2 pi, 2 pi]; the goal state is an independent draw of the same.
  auto draw = [&]() {
    return std::vector<double>{uniform(50, 450), uniform(50, 450), uniform(100, 400), uniform(100, 400),
                               uniform(-2 * M_PI, 2 * M_PI), 0.0, 0.0};
  };
  std::vector<double> start = draw();
  set_goal_state(draw());
  return reset_to_state(start);
}

Vec2 PushTEnv::action_target(double action_x, double action_y) const {
  CJ_CHECK(std::isfinite(action_x) && std::isfinite(action_y), "pusht: action must be finite, got (", action_x,
           ", ", action_y, ")");
  Vec2 target{action_x, action_y};
  if (config_.relative_actions) {
    cpVect p = cpBodyGetPosition(sim_->agent);
    target = {p.x + action_x * kActionScale, p.y + action_y * kActionScale};
  }
  // Targets beyond one workspace outside the table would only fling the agent out of it.
  CJ_CHECK(target.x >= -kWorkspace && target.x <= 2 * kWorkspace && target.y >= -kWorkspace &&
               target.y <= 2 * kWorkspace,
           "pusht: action (", action_x, ", ", action_y, ") targets (", target.x, ", ", target.y,
           "), more than 512 px outside the workspace [0, 512]^2");
  return target;
}

PushTStep PushTEnv::step(double action_x, double action_y) {
  const Vec2 target = action_target(action_x, action_y);
  const double target_x = target.x, target_y = target.y;
  cpBody* agent = sim_->agent;
  sim_->contact_points = 0;
  for (int i = 0; i < kSubsteps; ++i) {
    cpVect p = cpBodyGetPosition(agent);
    cpVect v = cpBodyGetVelocity(agent);
    // Same expression order as the reference, so the kinematic agent matches it bit for bit.
    double acc_x = kKp * (target_x - p.x) + kKv * (0.0 - v.x);
    double acc_y = kKp * (target_y - p.y) + kKv * (0.0 - v.y);
    cpBodySetVelocity(agent, cpv(v.x + acc_x * kDt, v.y + acc_y * kDt));
    cpSpaceStep(sim_->space, kDt);
  }
  PushTStep out;
  out.state = state();
  out.coverage = coverage();
  out.reward = reward();
  out.success = is_success();
  out.contact_points = sim_->contact_points;
  return out;
}

PushTState PushTEnv::state() const {
  cpVect a = cpBodyGetPosition(sim_->agent);
  cpVect v = cpBodyGetVelocity(sim_->agent);
  cpVect b = cpBodyGetPosition(sim_->block);
  return {a.x, a.y, b.x, b.y, wrap_angle_2pi(cpBodyGetAngle(sim_->block)), v.x, v.y};
}

PushTProprio PushTEnv::proprio() const {
  PushTState s = state();
  return {s[0], s[1], s[5], s[6]};
}

Pose PushTEnv::block_pose() const {
  cpVect b = cpBodyGetPosition(sim_->block);
  return {b.x, b.y, cpBodyGetAngle(sim_->block)};
}

Vec2 PushTEnv::agent_position() const {
  cpVect a = cpBodyGetPosition(sim_->agent);
  return {a.x, a.y};
}

double PushTEnv::coverage() const { return tee_coverage(block_pose()); }

bool PushTEnv::is_success() const {
  if (config_.variant == PushTVariant::kGymPushT) return coverage() > 0.95;
  return pusht_eval_state(goal_state_, state());
}

double PushTEnv::reward() const {
  if (config_.variant == PushTVariant::kGymPushT) return std::clamp(coverage() / 0.95, 0.0, 1.0);
  PushTState s = state();
  double squared = 0;
  for (size_t i = 0; i < s.size(); ++i) squared += (goal_state_[i] - s[i]) * (goal_state_[i] - s[i]);
  return -std::sqrt(squared);
}

namespace {
void collect_contact_segment(cpVect a, cpVect b, cpSpaceDebugColor, cpDataPointer out) {
  static_cast<std::vector<ContactMark>*>(out)->push_back({{a.x, a.y}, {b.x, b.y}});
}
}  // namespace

std::vector<ContactMark> PushTEnv::contact_marks() const {
  // Chipmunk's own debug draw walks the space's arbiters exactly as pymunk's does.
  std::vector<ContactMark> marks;
  cpSpaceDebugDrawOptions options{};
  options.drawSegment = collect_contact_segment;
  options.flags = CP_SPACE_DEBUG_DRAW_COLLISION_POINTS;
  options.data = &marks;
  cpSpaceDebugDraw(sim_->space, &options);
  return marks;
}

}  // namespace cj::envs
