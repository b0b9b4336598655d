#include "envs/pusht_batch.hpp"

#include "tensor/error.hpp"

namespace cj::envs {

PushTBatch::PushTBatch(size_t count, PushTConfig config, PushTRenderOptions render) : renderer_(render) {
  CJ_CHECK(count > 0, "PushTBatch: needs at least one environment");
  envs_.reserve(count);
  for (size_t i = 0; i < count; ++i) envs_.emplace_back(config);
}

std::vector<PushTState> PushTBatch::reset(uint64_t seed) {
  std::vector<PushTState> out;
  for (size_t i = 0; i < envs_.size(); ++i) out.push_back(envs_[i].reset(seed + i));
  return out;
}

std::vector<PushTStep> PushTBatch::step(const std::vector<std::array<double, 2>>& actions) {
  CJ_CHECK(actions.size() == envs_.size(), "PushTBatch::step: expected ", envs_.size(), " actions, got ",
           actions.size());
  for (size_t i = 0; i < actions.size(); ++i) {
    try {
      envs_[i].action_target(actions[i][0], actions[i][1]);
    } catch (const Error& e) {
      fail("PushTBatch::step: env ", i, ": ", e.what());
    }
  }
  std::vector<PushTStep> out;
  out.reserve(envs_.size());
  for (size_t i = 0; i < envs_.size(); ++i) out.push_back(envs_[i].step(actions[i][0], actions[i][1]));
  return out;
}

void PushTBatch::render(uint8_t* out) {
  const size_t frame = static_cast<size_t>(renderer_.options().size) * renderer_.options().size * 3;
  for (size_t i = 0; i < envs_.size(); ++i) renderer_.render(pusht_scene(envs_[i]), out + i * frame);
}

std::vector<uint8_t> PushTBatch::render() {
  const size_t frame = static_cast<size_t>(renderer_.options().size) * renderer_.options().size * 3;
  std::vector<uint8_t> out(frame * envs_.size());
  render(out.data());
  return out;
}

}  // namespace cj::envs
