// cuBLASLt GEMMs against f64 loops: mm/bmm/matmul/linear in f32 (TF32 off), f64, bf16 and f16,
// with transposed and sliced operands, the bias epilogue, and the TF32 switch.
#include "tests/cuda/reference.hpp"

using namespace cj;
using namespace cj::test;

TEST(CudaGemm, MmWithContiguousTransposedAndSlicedOperands) {
  CJ_REQUIRE_GPU();
  const int64_t M = 67, K = 45, N = 33;
  for (DType t : float_dtypes()) {
    Tensor a = random_cpu({M, K}, t, 50), b = random_cpu({K, N}, t, 51);
    auto want = ref::matmul(values(a), values(b), 1, M, K, N);
    Tensor ag = to_gpu(a), bg = to_gpu(b);
    Tensor at = ops::transpose(to_gpu(ops::contiguous(ops::transpose(a, 0, 1))), 0, 1);  // stride 1 along rows
    Tensor bt = ops::transpose(to_gpu(ops::contiguous(ops::transpose(b, 0, 1))), 0, 1);
    expect_close(cuda::mm(ag, bg), want, t, "mm");
    expect_close(cuda::mm(at, bg), want, t, "mm transposed a");
    expect_close(cuda::mm(ag, bt), want, t, "mm transposed b");
    expect_close(cuda::mm(at, bt), want, t, "mm both transposed");
    // a view with a leading dim larger than its width, starting mid-storage
    Tensor wide = to_gpu(random_cpu({M, K + 7}, t, 52));
    Tensor sub = ops::narrow(wide, 1, 3, K);
    expect_close(cuda::mm(sub, bg), ref::matmul(values(sub), values(b), 1, M, K, N), t, "mm sliced a");
  }
}

TEST(CudaGemm, BmmAndMatmulBroadcasting) {
  CJ_REQUIRE_GPU();
  for (DType t : float_dtypes()) {
    Tensor a = random_cpu({3, 17, 19}, t, 53), b = random_cpu({3, 19, 23}, t, 54);
    auto want = ref::matmul(values(a), values(b), 3, 17, 19, 23);
    Tensor bt = ops::transpose(to_gpu(ops::contiguous(ops::transpose(b, 1, 2))), 1, 2);
    expect_close(cuda::bmm(to_gpu(a), to_gpu(b)), want, t, "bmm");
    expect_close(cuda::bmm(to_gpu(a), bt), want, t, "bmm transposed b");
    expect_close(cuda::matmul(to_gpu(a), to_gpu(b)), want, t, "matmul 3-D");
    // (2, 3, 4, 5) · (5, 6): batch folded into rows
    Tensor x = random_cpu({2, 3, 4, 5}, t, 55), w = random_cpu({5, 6}, t, 56);
    Tensor r = cuda::matmul(to_gpu(x), to_gpu(w));
    EXPECT_EQ(r.shape(), (Shape{2, 3, 4, 6}));
    expect_close(r, ref::matmul(values(x), values(w), 1, 24, 5, 6), t, "matmul fold");
    // (2, 1, 4, 5) · (3, 5, 6): broadcast batch
    Tensor p = random_cpu({2, 1, 4, 5}, t, 57), q = random_cpu({3, 5, 6}, t, 58);
    Tensor pq = cuda::matmul(to_gpu(p), to_gpu(q));
    EXPECT_EQ(pq.shape(), (Shape{2, 3, 4, 6}));
    auto pv = values(ops::expand(p, {2, 3, 4, 5})), qv = values(ops::expand(q, {2, 3, 5, 6}));
    expect_close(pq, ref::matmul(pv, qv, 6, 4, 5, 6), t, "matmul broadcast");
    // vectors
    Tensor v = random_cpu({5}, t, 59);
    expect_close(cuda::matmul(to_gpu(v), to_gpu(w)), ref::matmul(values(v), values(w), 1, 1, 5, 6), t, "vec · mat");
    expect_close(cuda::matmul(to_gpu(ops::transpose(w, 0, 1)), to_gpu(v)),
                 ref::matmul(values(ops::transpose(w, 0, 1)), values(v), 1, 6, 5, 1), t, "mat · vec");
    Tensor dot = cuda::matmul(to_gpu(v), to_gpu(v));
    EXPECT_EQ(dot.shape(), (Shape{}));
    expect_close(dot, ref::matmul(values(v), values(v), 1, 1, 5, 1), t, "dot");
  }
}

TEST(CudaGemm, LinearWithAndWithoutBiasEpilogue) {
  CJ_REQUIRE_GPU();
  for (DType t : float_dtypes()) {
    Tensor x = random_cpu({2, 7, 16}, t, 60), w = random_cpu({24, 16}, t, 61), b = random_cpu({24}, t, 62);
    auto xw = ref::matmul(values(x), values(ops::transpose(w, 0, 1)), 1, 14, 16, 24);
    auto bv = values(b);
    auto with_bias = xw;
    for (size_t i = 0; i < with_bias.size(); ++i) with_bias[i] += bv[i % 24];
    Tensor y = cuda::linear(to_gpu(x), to_gpu(w), to_gpu(b));
    EXPECT_EQ(y.shape(), (Shape{2, 7, 24}));
    expect_close(y, with_bias, t, "linear + bias");
    expect_close(cuda::linear(to_gpu(x), to_gpu(w), std::nullopt), xw, t, "linear");
  }
}

TEST(CudaGemm, Tf32IsAVisibleSwitchOffByDefault) {
  CJ_REQUIRE_GPU();
  EXPECT_FALSE(cuda::allow_tf32());
  Tensor a = random_cpu({64, 256}, DType::f32, 63), b = random_cpu({256, 48}, DType::f32, 64);
  auto want = ref::matmul(values(a), values(b), 1, 64, 256, 48);
  cuda::set_allow_tf32(true);
  EXPECT_TRUE(cuda::allow_tf32());
  Tensor tf32 = cuda::mm(to_gpu(a), to_gpu(b));
  cuda::set_allow_tf32(false);
  EXPECT_LE(normalized_error(values(tf32), want), 1e-2);  // TF32 keeps 10 mantissa bits
  expect_close(cuda::mm(to_gpu(a), to_gpu(b)), want, DType::f32, "mm after TF32 is off again");
}

TEST(CudaGemm, EmptyInnerDimAndBadShapes) {
  CJ_REQUIRE_GPU();
  Tensor a = zeros({3, 0}, {DType::f32, Device::cuda()}), b = zeros({0, 4}, {DType::f32, Device::cuda()});
  EXPECT_EQ(values(cuda::mm(a, b)), std::vector<double>(12, 0.0));
  EXPECT_THROW(cuda::mm(zeros({3, 4}, {DType::f32, Device::cuda()}), zeros({5, 2}, {DType::f32, Device::cuda()})), Error);
  EXPECT_THROW(cuda::mm(zeros({3, 4}, {DType::f32, Device::cuda()}), zeros({4, 2}, {DType::bf16, Device::cuda()})), Error);
}

// Empty rows, columns, inner dims and batches through matmul/bmm/linear give the CPU op's shapes
// and (zero) values: the batch is never inferred with a -1 (which fails for 0 elements).
TEST(CudaGemm, EmptyOperandsGiveTheCpuResult) {
  CJ_REQUIRE_GPU();
  const std::vector<std::pair<Shape, Shape>> products = {
      {{2, 0, 3}, {2, 3, 4}}, {{2, 5, 0}, {2, 0, 4}}, {{3, 2, 5, 3}, {2, 3, 0}}, {{0, 2, 5, 3}, {2, 3, 4}}};
  for (const auto& [sa, sb] : products) {
    Tensor a = random_cpu(sa, DType::f32, 1), b = random_cpu(sb, DType::f32, 2);
    Tensor want = ops::matmul(a, b), got = cuda::matmul(to_gpu(a), to_gpu(b));
    EXPECT_EQ(got.shape(), want.shape()) << sa << " x " << sb;
    EXPECT_EQ(values(got), values(want)) << sa << " x " << sb;
  }
  Tensor x = random_cpu({0, 3, 5}, DType::f32, 3), w = random_cpu({4, 5}, DType::f32, 4);
  EXPECT_EQ(cuda::linear(to_gpu(x), to_gpu(w), std::nullopt).shape(), ops::linear(x, w, std::nullopt).shape());
  Tensor a = random_cpu({2, 0, 3}, DType::f32, 5), b = random_cpu({2, 3, 4}, DType::f32, 6);
  EXPECT_EQ(cuda::bmm(to_gpu(a), to_gpu(b)).shape(), ops::bmm(a, b).shape());
}
