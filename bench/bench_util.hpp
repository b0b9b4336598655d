#pragma once
// Helpers shared by the bench/bench_*.cpp programs.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "tensor/ops.hpp"

namespace cj::bench {

// Reproducible f32 values in [-1, 1) (no dependence on the library's RNG).
inline Tensor filled(const Shape& shape, uint64_t seed) {
  std::vector<float> v(shape_numel(shape));
  uint64_t s = seed * 0x9E3779B97F4A7C15ULL + 1;
  for (auto& x : v) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    x = float(int64_t(s >> 40) - (int64_t(1) << 23)) / float(1 << 23);
  }
  return from_vector(v, shape);
}

inline void set_flops(benchmark::State& state, double flops_per_iteration) {
  state.counters["FLOP/s"] = benchmark::Counter(flops_per_iteration, benchmark::Counter::kIsIterationInvariantRate);
}
inline void set_bytes(benchmark::State& state, double bytes_per_iteration) {
  state.counters["B/s"] = benchmark::Counter(bytes_per_iteration, benchmark::Counter::kIsIterationInvariantRate);
}

// Registers one row: fn(state, args...), timed in real milliseconds for at least 0.5 s.
template <typename Fn, typename... Args>
void add_row(const char* name, Fn fn, Args... args) {
  benchmark::RegisterBenchmark(name, [=](benchmark::State& s) { fn(s, args...); })
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime()
      ->MinTime(0.5);
}

// The main() of every bench program: register_rows() then Google Benchmark's usual flags.
inline int run_main(int argc, char** argv, void (*register_rows)()) {
  register_rows();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace cj::bench
