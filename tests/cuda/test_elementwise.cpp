// Pointwise kernels against f64 references on the same (dtype-rounded) inputs: broadcasting,
// non-contiguous operands, the vectorised path with a tail, promotion.
#include "tests/cuda/reference.hpp"

using namespace cj;
using namespace cj::test;

TEST(CudaElementwise, BinaryOpsBroadcastInEveryFloatDtype) {
  CJ_REQUIRE_GPU();
  for (DType t : float_dtypes()) {
    Tensor a = random_cpu({3, 1, 5}, t, 10);
    Tensor b = random_cpu({4, 5}, t, 11, 0.5f, 2.f);  // away from 0 for div
    Tensor ag = to_gpu(a), bg = to_gpu(b);
    expect_close(cuda::add(ag, bg, 1), ref::zip(a, b, [](double x, double y) { return x + y; }), t, "add");
    expect_close(cuda::add(ag, bg, 0.5), ref::zip(a, b, [](double x, double y) { return x + 0.5 * y; }), t, "add alpha");
    expect_close(cuda::sub(ag, bg, 2), ref::zip(a, b, [](double x, double y) { return x - 2 * y; }), t, "sub");
    expect_close(cuda::mul(ag, bg), ref::zip(a, b, [](double x, double y) { return x * y; }), t, "mul");
    expect_close(cuda::div(ag, bg), ref::zip(a, b, [](double x, double y) { return x / y; }), t, "div");
    EXPECT_EQ(cuda::add(ag, bg, 1).shape(), (Shape{3, 4, 5}));
    EXPECT_EQ(cuda::add(ag, bg, 1).dtype(), t);
  }
}

TEST(CudaElementwise, NonContiguousOperandsAndScalars) {
  CJ_REQUIRE_GPU();
  for (DType t : float_dtypes()) {
    Tensor a = ops::transpose(random_cpu({9, 7}, t, 12), 0, 1);      // (7, 9), strided
    Tensor b = ops::slice(random_cpu({7, 18}, t, 13, 0.5f, 2.f), 1, 0, 18, 2);  // (7, 9), step 2
    Tensor ag = ops::transpose(to_gpu(ops::transpose(a, 0, 1)), 0, 1);
    Tensor bg = ops::slice(to_gpu(random_cpu({7, 18}, t, 13, 0.5f, 2.f)), 1, 0, 18, 2);
    ASSERT_FALSE(ag.is_contiguous());
    expect_close(cuda::mul(ag, bg), ref::zip(a, b, [](double x, double y) { return x * y; }), t, "strided mul");
    expect_close(cuda::add_scalar(ag, 2.5), ref::map(a, [](double x) { return x + 2.5; }), t, "add scalar");
    expect_close(cuda::sub_scalar(ag, 1.5), ref::map(a, [](double x) { return x - 1.5; }), t, "sub scalar");
    expect_close(cuda::mul_scalar(ag, -0.75), ref::map(a, [](double x) { return x * -0.75; }), t, "mul scalar");
    expect_close(cuda::div_scalar(ag, 3), ref::map(a, [](double x) { return x / 3; }), t, "div scalar");
  }
}

TEST(CudaElementwise, UnaryMathAndActivations) {
  CJ_REQUIRE_GPU();
  for (DType t : float_dtypes()) {
    Tensor x = ops::transpose(random_cpu({65, 33}, t, 14, -3.f, 3.f), 0, 1);
    Tensor pos = random_cpu({33, 65}, t, 15, 0.1f, 4.f);
    Tensor xg = ops::transpose(to_gpu(ops::transpose(x, 0, 1)), 0, 1), pg = to_gpu(pos);
    expect_close(cuda::neg(xg), ref::map(x, [](double v) { return -v; }), t, "neg");
    expect_close(cuda::exp(xg), ref::map(x, [](double v) { return std::exp(v); }), t, "exp");
    expect_close(cuda::log(pg), ref::map(pos, [](double v) { return std::log(v); }), t, "log");
    expect_close(cuda::sqrt(pg), ref::map(pos, [](double v) { return std::sqrt(v); }), t, "sqrt");
    expect_close(cuda::rsqrt(pg), ref::map(pos, [](double v) { return 1 / std::sqrt(v); }), t, "rsqrt");
    expect_close(cuda::tanh(xg), ref::map(x, [](double v) { return std::tanh(v); }), t, "tanh");
    expect_close(cuda::sigmoid(xg), ref::map(x, [](double v) { return 1 / (1 + std::exp(-v)); }), t, "sigmoid");
    expect_close(cuda::relu(xg), ref::map(x, [](double v) { return v > 0 ? v : 0; }), t, "relu");
    expect_close(cuda::gelu(xg, ops::GeluApprox::none), ref::map(x, ref::gelu_erf), t, "gelu erf");
    expect_close(cuda::gelu(xg, ops::GeluApprox::tanh), ref::map(x, ref::gelu_tanh), t, "gelu tanh");
  }
}

TEST(CudaElementwise, GeluBackwardBothApproximations) {
  CJ_REQUIRE_GPU();
  for (DType t : float_dtypes()) {
    Tensor x = random_cpu({37, 41}, t, 16, -4.f, 4.f), gy = random_cpu({37, 41}, t, 17);
    Tensor xg = to_gpu(x), gyg = to_gpu(gy);
    expect_close(cuda::gelu_backward(gyg, xg, ops::GeluApprox::none),
                 ref::zip(gy, x, [](double g, double v) { return g * ref::gelu_erf_grad(v); }), t, "gelu_backward erf");
    expect_close(cuda::gelu_backward(gyg, xg, ops::GeluApprox::tanh),
                 ref::zip(gy, x, [](double g, double v) { return g * ref::gelu_tanh_grad(v); }), t, "gelu_backward tanh");
  }
}

TEST(CudaElementwise, LongContiguousRunTakesTheVectorPathAndItsTail) {
  CJ_REQUIRE_GPU();
  for (DType t : {DType::f32, DType::bf16}) {
    Tensor x = random_cpu({1000003}, t, 18);
    expect_close(cuda::gelu(to_gpu(x), ops::GeluApprox::none), ref::map(x, ref::gelu_erf), t, "long gelu");
    // an operand that starts 1 element into its storage is not 16-byte aligned: the scalar path
    Tensor shifted = ops::narrow(to_gpu(x), 0, 1, 1000002);
    expect_close(cuda::exp(shifted), ref::map(ops::narrow(x, 0, 1, 1000002), [](double v) { return std::exp(v); }), t,
                 "unaligned exp");
  }
}

TEST(CudaElementwise, PromotionFollowsPyTorch) {
  CJ_REQUIRE_GPU();
  Tensor i = to_gpu(ops::to(random_cpu({4}, DType::f32, 19, 0.f, 50.f), DType::i32));
  Tensor f = to_gpu(random_cpu({4}, DType::f32, 20));
  EXPECT_EQ(cuda::add(i, i, 1).dtype(), DType::i32);
  EXPECT_EQ(values(cuda::add(i, i, 1)), values(cuda::mul_scalar(i, 2)));
  EXPECT_EQ(cuda::add(i, f, 1).dtype(), DType::f32);
  EXPECT_EQ(cuda::add_scalar(i, 2.5).dtype(), DType::f32);
  EXPECT_EQ(cuda::mul_scalar(i, 2).dtype(), DType::i32);
  EXPECT_EQ(cuda::div(i, i).dtype(), DType::f32);
  EXPECT_EQ(cuda::exp(i).dtype(), DType::f32);
  EXPECT_EQ(cuda::add(to_gpu(random_cpu({2}, DType::bf16, 1)), to_gpu(random_cpu({2}, DType::f16, 2)), 1).dtype(),
            DType::f32);
  EXPECT_THROW(cuda::add(f, to_gpu(random_cpu({5}, DType::f32, 3)), 1), Error);  // shapes do not broadcast
  EXPECT_THROW(cuda::add(f, random_cpu({4}, DType::f32, 3), 1), Error);           // one operand on the host
}
