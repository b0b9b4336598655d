// Memory-bound kernels at the model shapes of reference.md §10: softmax over the C-JEPA predictor's
// attention probabilities (B*H = 256*16 rows of 112x112), GELU over its FFN activations
// (B*T = 256*112 rows of 2048), adds, and row/column sums. Each row reports bytes moved per second
// (B/s; read + written, f32); bench/torch_reference.py times the same rows in PyTorch.
#include <benchmark/benchmark.h>

#include <cstdint>

#include "bench/bench_util.hpp"

using namespace cj;

namespace {

using bench::add_row;
using bench::filled;
using bench::set_bytes;

constexpr double kF32 = 4;

// x: (rows, D) softmax over D (the innermost dim)
void softmax_fwd(benchmark::State& state, Shape shape) {
  Tensor x = filled(shape, 1);
  for (auto _ : state) benchmark::DoNotOptimize(ops::softmax(x, -1));
  set_bytes(state, 2 * kF32 * double(x.numel()));
}

void softmax_bwd(benchmark::State& state, Shape shape) {
  Tensor y = ops::softmax(filled(shape, 1), -1), gy = filled(shape, 2);
  for (auto _ : state) benchmark::DoNotOptimize(ops::softmax_backward(y, gy, -1));
  set_bytes(state, 3 * kF32 * double(y.numel()));
}

void gelu(benchmark::State& state, Shape shape, ops::GeluApprox approx) {
  Tensor x = filled(shape, 3);
  for (auto _ : state) benchmark::DoNotOptimize(ops::gelu(x, approx));
  set_bytes(state, 2 * kF32 * double(x.numel()));
}

void add(benchmark::State& state, Shape shape) {
  Tensor a = filled(shape, 4), b = filled(shape, 5);
  for (auto _ : state) benchmark::DoNotOptimize(ops::add(a, b));
  set_bytes(state, 3 * kF32 * double(a.numel()));
}

// x: (rows, D) + bias (D)
void add_bias(benchmark::State& state, Shape shape) {
  Tensor a = filled(shape, 6), b = filled({shape.back()}, 7);
  for (auto _ : state) benchmark::DoNotOptimize(ops::add(a, b));
  set_bytes(state, 2 * kF32 * double(a.numel()));
}

void sum_dim(benchmark::State& state, Shape shape, int64_t dim) {
  Tensor x = filled(shape, 8);
  for (auto _ : state) benchmark::DoNotOptimize(ops::sum(x, {dim}));
  set_bytes(state, kF32 * double(x.numel()));
}

// Row names are shared with bench/torch_reference.py.
void register_all() {
  const Shape probs = {256 * 16, 112, 112}, ffn = {256 * 112, 2048}, tokens = {256 * 112, 128};
  add_row("softmax_fwd/predictor_probs_4096x112x112", softmax_fwd, probs);
  add_row("softmax_bwd/predictor_probs_4096x112x112", softmax_bwd, probs);
  add_row("gelu/predictor_ffn_28672x2048", gelu, ffn, ops::GeluApprox::none);
  add_row("gelu_tanh/predictor_ffn_28672x2048", gelu, ffn, ops::GeluApprox::tanh);
  add_row("add/predictor_ffn_28672x2048", add, ffn);
  add_row("add_bias/predictor_ffn_28672x2048", add_bias, ffn);
  add_row("sum_rows/predictor_tokens_28672x128", sum_dim, tokens, int64_t(1));
  add_row("sum_cols/predictor_ffn_28672x2048", sum_dim, ffn, int64_t(0));
}

}  // namespace

int main(int argc, char** argv) { return bench::run_main(argc, argv, register_all); }
