#pragma once
// A batch of Push-T environments stepped and rendered together (one action per env per step).
#include <array>
#include <cstdint>
#include <vector>

#include "envs/pusht_env.hpp"
#include "envs/pusht_render.hpp"

namespace cj::envs {

class PushTBatch {
 public:
  PushTBatch(size_t count, PushTConfig config = {}, PushTRenderOptions render = {});

  size_t size() const { return envs_.size(); }
  PushTEnv& env(size_t i) { return envs_.at(i); }
  const PushTRenderOptions& render_options() const { return renderer_.options(); }

  // Env i is reset with seed + i.
  std::vector<PushTState> reset(uint64_t seed);
  // Checks every action before stepping any env, so a bad action leaves the whole batch untouched.
  std::vector<PushTStep> step(const std::vector<std::array<double, 2>>& actions);
  // N x size x size x 3 frames, env order.
  void render(uint8_t* out);
  std::vector<uint8_t> render();

 private:
  std::vector<PushTEnv> envs_;
  PushTRenderer renderer_;
};

}  // namespace cj::envs
