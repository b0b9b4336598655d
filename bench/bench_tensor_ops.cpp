// CPU kernels at the model shapes of reference.md §10: the GEMMs of DINOv2 and the C-JEPA
// predictor, attention, layer norm and SAVi's convolutions. Each row reports GFLOP/s (or GB/s);
// bench/torch_reference.py times the same rows with PyTorch (same names) for the ratio table.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "tensor/ops.hpp"

using namespace cj;

namespace {

// Reproducible values in [-1, 1) (no dependence on the library's RNG).
Tensor filled(const Shape& shape, uint64_t seed) {
  std::vector<float> v(shape_numel(shape));
  uint64_t s = seed * 0x9E3779B97F4A7C15ULL + 1;
  for (auto& x : v) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    x = float(int64_t(s >> 40) - (int64_t(1) << 23)) / float(1 << 23);
  }
  return from_vector(v, shape);
}

void set_flops(benchmark::State& state, double flops_per_iteration) {
  state.counters["FLOP/s"] = benchmark::Counter(flops_per_iteration, benchmark::Counter::kIsIterationInvariantRate);
}
void set_bytes(benchmark::State& state, double bytes_per_iteration) {
  state.counters["B/s"] = benchmark::Counter(bytes_per_iteration, benchmark::Counter::kIsIterationInvariantRate);
}

// ---- GEMM-bound ---------------------------------------------------------------------------------
void linear(benchmark::State& state, int64_t rows, int64_t in, int64_t out) {
  Tensor x = filled({rows, in}, 1), w = filled({out, in}, 2), b = filled({out}, 3);
  for (auto _ : state) benchmark::DoNotOptimize(ops::linear(x, w, b));
  set_flops(state, 2.0 * rows * in * out);
}

// ---- attention (q, k, v: (B, H, L, E)) -----------------------------------------------------------
double attention_flops(int64_t B, int64_t H, int64_t L, int64_t E) { return 4.0 * B * H * L * L * E; }

void attention_forward(benchmark::State& state, int64_t B, int64_t H, int64_t L, int64_t E) {
  Tensor q = filled({B, H, L, E}, 4), k = filled({B, H, L, E}, 5), v = filled({B, H, L, E}, 6);
  for (auto _ : state) benchmark::DoNotOptimize(ops::scaled_dot_product_attention(q, k, v).out);
  set_flops(state, attention_flops(B, H, L, E));
}

void attention_backward(benchmark::State& state, int64_t B, int64_t H, int64_t L, int64_t E) {
  Tensor q = filled({B, H, L, E}, 4), k = filled({B, H, L, E}, 5), v = filled({B, H, L, E}, 6);
  Tensor gy = filled({B, H, L, E}, 7);
  auto fwd = ops::scaled_dot_product_attention(q, k, v);
  for (auto _ : state)
    benchmark::DoNotOptimize(
        ops::scaled_dot_product_attention_backward(gy, q, k, v, fwd.out, fwd.lse, std::nullopt, std::nullopt).gq);
  set_flops(state, 2.5 * attention_flops(B, H, L, E));  // QKᵀ recomputed + four products
}

// ---- layer norm (memory-bound: bytes moved) -------------------------------------------------------
void layer_norm_forward(benchmark::State& state, int64_t rows, int64_t D) {
  Tensor x = filled({rows, D}, 8), w = filled({D}, 9), b = filled({D}, 10);
  for (auto _ : state) benchmark::DoNotOptimize(ops::layer_norm(x, {D}, w, b).out);
  set_bytes(state, 2.0 * 4 * rows * D);  // read x, write y
}

void layer_norm_backward(benchmark::State& state, int64_t rows, int64_t D) {
  Tensor x = filled({rows, D}, 8), w = filled({D}, 9), b = filled({D}, 10), gy = filled({rows, D}, 11);
  auto fwd = ops::layer_norm(x, {D}, w, b);
  for (auto _ : state)
    benchmark::DoNotOptimize(ops::layer_norm_backward(gy, x, fwd.mean, fwd.rstd, {D}, w, true).gx);
  set_bytes(state, 3.0 * 4 * rows * D);  // read x, gy; write gx
}

// ---- SAVi convolutions (k = 5, padding 2) ---------------------------------------------------------
ops::Conv2dParams savi_params(int64_t stride) {
  ops::Conv2dParams p;
  p.stride_h = p.stride_w = stride;
  p.pad_h = p.pad_w = 2;
  p.output_pad_h = p.output_pad_w = stride - 1;
  return p;
}

void conv2d_forward(benchmark::State& state, int64_t N, int64_t C, int64_t S) {
  Tensor x = filled({N, C, S, S}, 12), w = filled({C, C, 5, 5}, 13), b = filled({C}, 14);
  ops::Conv2dParams p = savi_params(1);
  p.output_pad_h = p.output_pad_w = 0;
  for (auto _ : state) benchmark::DoNotOptimize(ops::conv2d(x, w, b, p));
  set_flops(state, 2.0 * N * C * C * 25 * S * S);
}

void conv2d_backward(benchmark::State& state, int64_t N, int64_t C, int64_t S) {
  Tensor x = filled({N, C, S, S}, 12), w = filled({C, C, 5, 5}, 13), gy = filled({N, C, S, S}, 15);
  ops::Conv2dParams p = savi_params(1);
  p.output_pad_h = p.output_pad_w = 0;
  for (auto _ : state) benchmark::DoNotOptimize(ops::conv2d_backward(gy, x, w, true, p).gx);
  set_flops(state, 2.0 * 2.0 * N * C * C * 25 * S * S);
}

// x: (N, C, S, S) -> (N, C, 2S, 2S), stride 2, output padding 1 (SAVi's decoder upsampling)
void conv_transpose2d_forward(benchmark::State& state, int64_t N, int64_t C, int64_t S) {
  Tensor x = filled({N, C, S, S}, 16), w = filled({C, C, 5, 5}, 17), b = filled({C}, 18);
  for (auto _ : state) benchmark::DoNotOptimize(ops::conv_transpose2d(x, w, b, savi_params(2)));
  set_flops(state, 2.0 * N * C * C * 25 * S * S);
}

void conv_transpose2d_backward(benchmark::State& state, int64_t N, int64_t C, int64_t S) {
  Tensor x = filled({N, C, S, S}, 16), w = filled({C, C, 5, 5}, 17), gy = filled({N, C, 2 * S, 2 * S}, 19);
  for (auto _ : state) benchmark::DoNotOptimize(ops::conv_transpose2d_backward(gy, x, w, true, savi_params(2)).gx);
  set_flops(state, 2.0 * 2.0 * N * C * C * 25 * S * S);
}

// Row names are shared with bench/torch_reference.py.
void register_all() {
  auto reg = [](const char* name, auto fn, auto... args) {
    benchmark::RegisterBenchmark(name, [=](benchmark::State& s) { fn(s, args...); })
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime()
        ->MinTime(0.5);
  };
  reg("linear/dinov2_qkv_192x197x384x1152", linear, int64_t(192 * 197), int64_t(384), int64_t(1152));
  reg("linear/predictor_ffn_256x112x128x2048", linear, int64_t(256 * 112), int64_t(128), int64_t(2048));
  reg("linear/predictor_ffn_out_256x112x2048x128", linear, int64_t(256 * 112), int64_t(2048), int64_t(128));
  reg("attention_fwd/predictor_256x16x112x8", attention_forward, int64_t(256), int64_t(16), int64_t(112), int64_t(8));
  reg("attention_bwd/predictor_256x16x112x8", attention_backward, int64_t(256), int64_t(16), int64_t(112), int64_t(8));
  reg("attention_fwd/dinov2_16x6x197x64", attention_forward, int64_t(16), int64_t(6), int64_t(197), int64_t(64));
  reg("attention_bwd/dinov2_16x6x197x64", attention_backward, int64_t(16), int64_t(6), int64_t(197), int64_t(64));
  reg("layer_norm_fwd/predictor_28672x128", layer_norm_forward, int64_t(256 * 112), int64_t(128));
  reg("layer_norm_bwd/predictor_28672x128", layer_norm_backward, int64_t(256 * 112), int64_t(128));
  reg("conv2d_fwd/savi_enc_8x64x64x64_k5", conv2d_forward, int64_t(8), int64_t(64), int64_t(64));
  reg("conv2d_bwd/savi_enc_8x64x64x64_k5", conv2d_backward, int64_t(8), int64_t(64), int64_t(64));
  reg("conv_transpose2d_fwd/savi_dec_7x64x32x32_s2", conv_transpose2d_forward, int64_t(7), int64_t(64), int64_t(32));
  reg("conv_transpose2d_bwd/savi_dec_7x64x32x32_s2", conv_transpose2d_backward, int64_t(7), int64_t(64), int64_t(32));
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
