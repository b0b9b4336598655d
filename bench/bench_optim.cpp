// Optimizer steps at the C-JEPA predictor's parameter shapes (6 layers, D = 128, FFN 2048:
// 3.6 M parameters in 83 tensors): AdamW unfused (a dozen ops per parameter) against fused (one
// pass over flat state buffers), and clip_grad_norm one pass against the op-by-op version it
// replaced (per tensor: sum(square(g)), then mul_).
#include <cmath>

#include "bench/bench_util.hpp"
#include "nn/optim/optimizer.hpp"

namespace cj::bench {
namespace {

std::vector<Shape> predictor_shapes() {
  std::vector<Shape> shapes = {{1, 1, 128}, {1, 16, 128}, {128, 128}, {128}};  // mask token, pos, embed
  for (int layer = 0; layer < 6; ++layer)
    for (const Shape& s : std::vector<Shape>{{384, 128}, {384}, {128, 128}, {128}, {2048, 128}, {2048}, {128, 2048},
                                             {128}, {128}, {128}, {128}, {128}})
      shapes.push_back(s);
  shapes.push_back({128}), shapes.push_back({128});  // final norm
  shapes.push_back({128, 128}), shapes.push_back({128});  // head
  shapes.push_back({128}), shapes.push_back({128}), shapes.push_back({128, 128});
  return shapes;
}

std::vector<Tensor> params_with_grads() {
  std::vector<Tensor> params;
  uint64_t seed = 1;
  for (const Shape& s : predictor_shapes()) {
    Tensor p = filled(s, seed++).requires_grad_(true);
    p.set_grad(ops::mul(filled(s, seed++), 1e-2));
    params.push_back(p);
  }
  return params;
}

void adamw_step(benchmark::State& state, bool fused) {
  auto params = params_with_grads();
  nn::AdamOptions o;
  o.lr = 5e-4;
  o.fused = fused;
  nn::AdamW adam(params, o);
  int64_t numel = 0;
  for (const auto& p : params) numel += p.numel();
  for (auto _ : state) adam.step();
  set_bytes(state, double(numel) * 4 * 7);  // read p, g, m, v; write p, m, v
}

double clip_op_by_op(const std::vector<Tensor>& params, double max_norm) {
  double total = 0;
  for (const auto& p : params) total += ops::sum(ops::square(p.grad())).item<double>();
  total = std::sqrt(total);
  const double coef = max_norm / (total + 1e-6);
  if (coef < 1)
    for (const auto& p : params) ops::mul_(p.grad(), coef);
  return total;
}

void clip(benchmark::State& state, bool one_pass) {
  auto params = params_with_grads();
  // max_norm just below the norm: every call scales (by ~1 - 1e-7, so gradients stay the same size)
  const double norm = nn::clip_grad_norm(params, 1e30);
  for (auto _ : state)
    benchmark::DoNotOptimize(one_pass ? nn::clip_grad_norm(params, norm * 0.9999999) : clip_op_by_op(params, norm * 0.9999999));
}

void register_rows() {
  add_row("adamw_step/predictor_3.6M/unfused", adamw_step, false);
  add_row("adamw_step/predictor_3.6M/fused", adamw_step, true);
  add_row("clip_grad_norm/predictor_3.6M/op_by_op", clip, false);
  add_row("clip_grad_norm/predictor_3.6M/one_pass", clip, true);
}

}  // namespace
}  // namespace cj::bench

int main(int argc, char** argv) { return cj::bench::run_main(argc, argv, cj::bench::register_rows); }
