// Backward through the ops the models use beyond the attention block: indexing (gather's backward
// is scatter_add, index_select's and embedding's index_add), masks, where, pow, clamp, max,
// cumsum, topk, joins, moments. Loss and gradients on the GPU must match the CPU run.
#include "autograd/ops.hpp"
#include "tests/cuda/op_check.hpp"

using namespace cj;
using namespace cj::test;

namespace {

struct Inputs {
  Tensor x, w, idx, gidx, sel, mask;
};

Inputs make_inputs(Device device) {
  Inputs in;
  in.x = ops::to(random_cpu({4, 6}, DType::f32, 1), device);
  in.w = ops::to(random_cpu({5, 6}, DType::f32, 2), device);
  in.idx = ops::to(from_vector<int64_t>({1, 3, 3, 0, 4, 1}, {2, 3}), device);                           // repeats
  in.gidx = ops::to(from_vector<int64_t>({0, 3, 3, 1, 2, 0, 2, 2, 1, 0, 3, 3}, {2, 6}), device);
  in.sel = ops::to(from_vector<int64_t>({5, 0, 5}, {3}), device);
  in.mask = ops::to(ops::gt(random_cpu({4, 6}, DType::f32, 3), 0.5f), device);
  in.x.requires_grad_();
  in.w.requires_grad_();
  return in;
}

// -> scalar
Tensor loss_of(const Inputs& in) {
  const Tensor& x = in.x;
  Tensor e = embedding(in.w, in.idx);                                          // (2, 3, 6)
  Tensor g = gather(x, 0, in.gidx);                                            // (2, 6)
  Tensor s = index_select(x, 1, in.sel);                                       // (4, 3)
  Tensor m = masked_fill(x, in.mask, 0.5);                                     // (4, 6)
  Tensor wh = where(in.mask, pow(abs(x) + 0.5, 1.5), clamp(x, -0.5, 0.8));   // (4, 6)
  Tensor mx = max(x, 1).first;                                                 // (4)
  Tensor cs = cumsum(x, 0);                                                    // (4, 6)
  Tensor tv = topk(x, 2, 1).first;                                             // (4, 2)
  Tensor joined = pad(cat({x, m}, 0), {1, 1});                                 // (8, 8)
  Tensor st = stack({x, transpose(repeat(mx, {6, 1}), 0, 1)}, 0);             // (2, 4, 6)
  return sum(e * 0.3) + mean(g * g) + sum(sin(s)) + mean(wh) + sum(mx) + mean(cs * cs) * 0.1 + sum(tv) +
         mean(joined * joined) + sum(var(x, {1})) + sum(logsumexp(x, {1})) + mean(st * x) + sum(maximum(x, m));
}

}  // namespace

TEST(CudaAutograd, IndexMaskAndReductionGradientsMatchTheCpu) {
  CJ_REQUIRE_GPU();
  Inputs cpu = make_inputs(Device::cpu()), gpu = make_inputs(Device::cuda());
  Tensor loss_cpu = loss_of(cpu), loss_gpu = loss_of(gpu);
  ASSERT_TRUE(loss_gpu.is_cuda());
  backward(loss_cpu);
  backward(loss_gpu);
  EXPECT_LE(normalized_error(values(loss_gpu), values(loss_cpu)), 1e-5);
  for (auto [n, c, g] : {std::tuple{"x", &cpu.x, &gpu.x}, std::tuple{"w", &cpu.w, &gpu.w}}) {
    ASSERT_TRUE(g->grad().defined()) << n;
    EXPECT_TRUE(g->grad().is_cuda()) << n;
    EXPECT_LE(normalized_error(values(g->grad()), values(c->grad())), 1e-4) << n;
  }
}
