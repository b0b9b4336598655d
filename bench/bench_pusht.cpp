// Push-T throughput, single thread: environment steps per second (10 physics substeps plus the
// coverage each) and rendered frames per second (512^2 canvas + resize). bench/pusht_reference.py
// times the pymunk references on the same machine and reports the ratios.
#include <benchmark/benchmark.h>

#include <random>

#include "envs/pusht_env.hpp"
#include "envs/pusht_render.hpp"

using namespace cj::envs;

static void BM_PushTStep(benchmark::State& state) {
  PushTEnv env(PushTConfig::for_variant(PushTVariant::kGymPushT));
  std::mt19937 rng(0);
  std::uniform_real_distribution<double> target(50, 450);
  env.reset(0);
  int steps = 0;
  for (auto _ : state) {
    if (++steps % 200 == 0) env.reset(steps);
    benchmark::DoNotOptimize(env.step(target(rng), target(rng)));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PushTStep);

static void BM_PushTRender(benchmark::State& state) {
  PushTEnv env(PushTConfig::for_variant(PushTVariant::kStableWorldModel));
  env.reset_to_state({250, 330, 256, 200, 0.4});
  env.step(0, -0.6);  // the agent now touches the T, so the contact marks are drawn too
  PushTRenderer renderer({static_cast<int>(state.range(0)), true, true});
  std::vector<uint8_t> frame(state.range(0) * state.range(0) * 3);
  for (auto _ : state) {
    renderer.render(pusht_scene(env), frame.data());
    benchmark::DoNotOptimize(frame.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PushTRender)->Arg(224)->Arg(96);

BENCHMARK_MAIN();
