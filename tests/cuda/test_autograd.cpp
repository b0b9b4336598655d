// The autograd engine on CUDA tensors: a small attention block (layer_norm, linear, attention,
// gelu, softmax, broadcasting, views) run forward and backward on the GPU must give the CPU run's
// loss and parameter gradients (fp32, TF32 off; tolerances of engine.md §4: outputs 1e-5,
// gradients 1e-4 normalised).
#include "autograd/ops.hpp"
#include "tests/cuda/gpu_test.hpp"

using namespace cj;
using namespace cj::test;

namespace {

struct Params {
  Tensor x, ln_w, ln_b, wq, wk, wv, wo, bo;
};

Params make_params(Device device) {
  Params p;
  const int64_t B = 2, L = 5, D = 8;
  p.x = random_cpu({B, L, D}, DType::f32, 1);
  p.ln_w = random_cpu({D}, DType::f32, 2, 0.5f, 1.5f);
  p.ln_b = random_cpu({D}, DType::f32, 3);
  p.wq = random_cpu({D, D}, DType::f32, 4, -0.5f, 0.5f);
  p.wk = random_cpu({D, D}, DType::f32, 5, -0.5f, 0.5f);
  p.wv = random_cpu({D, D}, DType::f32, 6, -0.5f, 0.5f);
  p.wo = random_cpu({D, D}, DType::f32, 7, -0.5f, 0.5f);
  p.bo = random_cpu({D}, DType::f32, 8);
  for (Tensor* t : {&p.x, &p.ln_w, &p.ln_b, &p.wq, &p.wk, &p.wv, &p.wo, &p.bo}) {
    *t = ops::to(*t, device);
    t->requires_grad_();
  }
  return p;
}

// x: (B, L, D) -> scalar
Tensor block_loss(const Params& p) {
  Tensor h = layer_norm(p.x, {8}, p.ln_w, p.ln_b);
  // Two heads of 4: (B, L, D) -> (B, 2, L, 4)
  auto heads = [](const Tensor& t) { return transpose(reshape(t, {2, 5, 2, 4}), 1, 2); };
  Tensor a = scaled_dot_product_attention(heads(linear(h, p.wq)), heads(linear(h, p.wk)), heads(linear(h, p.wv)));
  Tensor merged = reshape(transpose(a, 1, 2), {2, 5, 8});
  Tensor y = linear(gelu(merged, GeluApprox::tanh), p.wo, p.bo) + p.x;  // residual: x used twice
  return mean(softmax(y, -1) * y) + sum(exp(y * 0.1)) / 40.0;
}

}  // namespace

TEST(CudaAutograd, AttentionBlockGradientsMatchTheCpu) {
  CJ_REQUIRE_GPU();
  Params cpu = make_params(Device::cpu()), gpu = make_params(Device::cuda());
  Tensor loss_cpu = block_loss(cpu), loss_gpu = block_loss(gpu);
  ASSERT_TRUE(loss_gpu.is_cuda());
  backward(loss_cpu);
  backward(loss_gpu);
  EXPECT_LE(normalized_error(values(loss_gpu), values(loss_cpu)), 1e-5);
  const char* names[] = {"x", "ln_w", "ln_b", "wq", "wk", "wv", "wo", "bo"};
  const Tensor* c[] = {&cpu.x, &cpu.ln_w, &cpu.ln_b, &cpu.wq, &cpu.wk, &cpu.wv, &cpu.wo, &cpu.bo};
  const Tensor* g[] = {&gpu.x, &gpu.ln_w, &gpu.ln_b, &gpu.wq, &gpu.wk, &gpu.wv, &gpu.wo, &gpu.bo};
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(g[i]->grad().defined()) << names[i];
    EXPECT_TRUE(g[i]->grad().is_cuda()) << names[i];
    EXPECT_LE(normalized_error(values(g[i]->grad()), values(c[i]->grad())), 1e-4) << names[i];
  }
}
