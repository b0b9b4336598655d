// The public ops on CUDA tensors (forwarded through tensor's dispatch) against the same public ops
// on the CPU, on the same inputs: elementwise, gelu_backward, layer_norm, GEMMs and attention.
#include "tests/cuda/gpu_test.hpp"

using namespace cj;
using namespace cj::test;

namespace {
void expect_same(const Tensor& gpu, const Tensor& cpu, const std::string& what) {
  ASSERT_TRUE(gpu.is_cuda()) << what;
  EXPECT_EQ(gpu.shape(), cpu.shape()) << what;
  EXPECT_EQ(gpu.dtype(), cpu.dtype()) << what;
  EXPECT_LE(normalized_error(values(gpu), values(cpu)), tolerance(cpu.dtype())) << what << " " << dtype_name(cpu.dtype());
}
}  // namespace

TEST(CudaVsCpuOps, ElementwiseAndActivations) {
  CJ_REQUIRE_GPU();
  for (DType t : float_dtypes()) {
    Tensor a = random_cpu({4, 1, 6}, t, 80), b = random_cpu({5, 6}, t, 81, 0.5f, 2.f);
    Tensor ag = to_gpu(a), bg = to_gpu(b);
    expect_same(ops::add(ag, bg, 0.5), ops::add(a, b, 0.5), "add");
    expect_same(ops::sub(ag, bg), ops::sub(a, b), "sub");
    expect_same(ops::mul(ag, bg), ops::mul(a, b), "mul");
    expect_same(ops::div(ag, bg), ops::div(a, b), "div");
    expect_same(ops::mul(ag, 1.5), ops::mul(a, 1.5), "mul scalar");
    Tensor x = ops::transpose(random_cpu({7, 9}, t, 82), 0, 1), xg = ops::transpose(to_gpu(ops::transpose(x, 0, 1)), 0, 1);
    expect_same(ops::exp(xg), ops::exp(x), "exp");
    expect_same(ops::tanh(xg), ops::tanh(x), "tanh");
    expect_same(ops::sigmoid(xg), ops::sigmoid(x), "sigmoid");
    expect_same(ops::relu(xg), ops::relu(x), "relu");
    expect_same(ops::gelu(xg), ops::gelu(x), "gelu");
    expect_same(ops::gelu(xg, ops::GeluApprox::tanh), ops::gelu(x, ops::GeluApprox::tanh), "gelu tanh");
    Tensor gy = random_cpu({9, 7}, t, 83);
    expect_same(ops::gelu_backward(to_gpu(gy), xg), ops::gelu_backward(gy, x), "gelu_backward");
  }
}

TEST(CudaVsCpuOps, LayerNormGemmAndAttention) {
  CJ_REQUIRE_GPU();
  for (DType t : {DType::f32, DType::bf16}) {
    Tensor x = random_cpu({3, 5, 32}, t, 84), w = random_cpu({32}, t, 85), b = random_cpu({32}, t, 86);
    auto ln = ops::layer_norm(x, {32}, w, b);
    auto lng = ops::layer_norm(to_gpu(x), {32}, to_gpu(w), to_gpu(b));
    expect_same(lng.out, ln.out, "layer_norm");
    Tensor gy = random_cpu({3, 5, 32}, t, 87);
    auto g = ops::layer_norm_backward(gy, x, ln.mean, ln.rstd, {32}, w, true);
    auto gg = ops::layer_norm_backward(to_gpu(gy), to_gpu(x), lng.mean, lng.rstd, {32}, to_gpu(w), true);
    expect_same(gg.gx, g.gx, "layer_norm_backward gx");
    expect_same(gg.gweight, g.gweight, "layer_norm_backward gweight");
    expect_same(gg.gbias, g.gbias, "layer_norm_backward gbias");

    Tensor lw = random_cpu({24, 32}, t, 88), lb = random_cpu({24}, t, 89);
    expect_same(ops::linear(to_gpu(x), to_gpu(lw), to_gpu(lb)), ops::linear(x, lw, lb), "linear");
    Tensor m = random_cpu({3, 32, 8}, t, 90);
    expect_same(ops::matmul(to_gpu(x), to_gpu(m)), ops::matmul(x, m), "matmul");

    Tensor q = random_cpu({2, 4, 6, 8}, t, 91), k = random_cpu({2, 4, 9, 8}, t, 92), v = random_cpu({2, 4, 9, 8}, t, 93);
    auto att = ops::scaled_dot_product_attention(q, k, v);
    auto attg = ops::scaled_dot_product_attention(to_gpu(q), to_gpu(k), to_gpu(v));
    expect_same(attg.out, att.out, "sdpa out");
    Tensor go = random_cpu({2, 4, 6, 8}, t, 94);
    auto ag = ops::scaled_dot_product_attention_backward(go, q, k, v, att.out, att.lse, std::nullopt, std::nullopt);
    auto agg = ops::scaled_dot_product_attention_backward(to_gpu(go), to_gpu(q), to_gpu(k), to_gpu(v), attg.out,
                                                          attg.lse, std::nullopt, std::nullopt);
    expect_same(agg.gq, ag.gq, "sdpa gq");
    expect_same(agg.gk, ag.gk, "sdpa gk");
    expect_same(agg.gv, ag.gv, "sdpa gv");
  }
}
