#include "apps/pusht_episode.hpp"

#include "envs/pusht_policies.hpp"
#include "envs/pusht_render.hpp"
#include "tensor/error.hpp"

namespace cj::app {

void check_pusht_episode_options(const PushTEpisodeOptions& o) {
  CJ_CHECK(o.policy == "scripted" || o.policy == "random", "unknown policy '", o.policy,
           "' (expected 'scripted' or 'random')");
  CJ_CHECK(o.length > 0 && o.length <= 100000, "episode length must be in [1, 100000], got ", o.length);
  CJ_CHECK(o.size >= 16 && o.size <= 1024 && o.size % 2 == 0, "frame size must be even and in [16, 1024], got ",
           o.size);
  CJ_CHECK(o.persistence >= 0 && o.persistence <= 1, "persistence must be in [0, 1], got ", o.persistence);
}

PushTEpisodeRecord run_pusht_episode(const PushTEpisodeOptions& o,
                                     const std::function<void(const uint8_t*)>& on_frame) {
  check_pusht_episode_options(o);
  envs::PushTEnv env(envs::PushTConfig::for_variant(o.variant));
  envs::PushTRenderer renderer({o.size, true, true});
  envs::RandomPersistentPolicy random(o.seed, o.persistence);
  envs::ScriptedPushPolicy scripted(o.seed);
  std::vector<uint8_t> frame(static_cast<size_t>(o.size) * o.size * 3);

  PushTEpisodeRecord rec;
  rec.states.push_back(env.reset(o.seed));
  renderer.render(envs::pusht_scene(env), frame.data());
  on_frame(frame.data());
  for (int t = 0; t < o.length; ++t) {
    auto action = o.policy == "random" ? random.act(env) : scripted.act(env);
    auto step = env.step(action[0], action[1]);
    rec.actions.push_back(action);
    rec.states.push_back(step.state);
    rec.touching_steps += envs::pusht_agent_touches_block(env);
    rec.success |= step.success;
    rec.final_coverage = step.coverage;
    renderer.render(envs::pusht_scene(env), frame.data());
    on_frame(frame.data());
  }
  return rec;
}

}  // namespace cj::app
