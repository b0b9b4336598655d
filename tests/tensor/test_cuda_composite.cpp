// cuda/composite.hpp builds the CUDA backend's index, mask, moment and in-place ops from other ops.
// Its code is device-agnostic, so here it runs on CPU tensors and must agree with the CPU ops (and
// raise their errors): what the GPU then adds is only the kernels it calls, tested in tests/cuda.
// The convolution composites have their own suite, test_conv_composite.cpp.
#include "cuda/composite.hpp"
#include "cuda/interpolate_separable.hpp"

#include <cmath>

#include "index_test_util.hpp"

using namespace cj;
using namespace cj::testing;

namespace {

const std::vector<DType> kDTypes{DType::f32, DType::f64, DType::bf16, DType::f16, DType::i32, DType::i64, DType::u8};

void expect_close(const Tensor& got, const Tensor& want, double tol, const std::string& what) {
  ASSERT_EQ(got.shape(), want.shape()) << what;
  ASSERT_EQ(got.dtype(), want.dtype()) << what;
  std::vector<double> g = to_vector<double>(got), w = to_vector<double>(want);
  for (size_t i = 0; i < g.size(); ++i) {
    if (std::isnan(w[i]) || std::isinf(w[i])) {
      EXPECT_EQ(std::isnan(g[i]), std::isnan(w[i])) << what << " at " << i;
      if (std::isinf(w[i])) {
        EXPECT_EQ(g[i], w[i]) << what << " at " << i;
      }
      continue;
    }
    EXPECT_NEAR(g[i], w[i], tol * std::max(1.0, std::fabs(w[i]))) << what << " at " << i;
  }
}

}  // namespace

TEST(CudaComposite, IndexSelectAndEmbeddingMatchTheCpuOps) {
  const Shape shape{3, 4, 5};
  for_each_case(kDTypes, {0, 1, -1}, 3, [&](const Case& c) {
    Tensor x = with_layout(sample(shape, c.dtype, 1), c.layout);
    for (DType index_dt : {DType::i64, DType::i32}) {
      Tensor index = sample_index({7}, shape[size_t(c.d)], 2, index_dt);
      expect_same_values(composite::index_select(x, c.dim, index), ops::index_select(x, c.dim, index));
    }
  });
  Tensor w = sample({6, 3}, DType::f32, 4);
  Tensor idx = sample_index({2, 5}, 6, 5);
  expect_same_values(composite::embedding(w, idx), ops::embedding(w, idx));
  Tensor scalar_x = sample({}, DType::f32, 6);
  expect_same_values(composite::index_select(scalar_x, 0, from_vector<int64_t>({0}, {1})),
                     ops::index_select(scalar_x, 0, from_vector<int64_t>({0}, {1})));
}

TEST(CudaComposite, IndexAddAndEmbeddingBackwardAccumulateRepeats) {
  const Shape shape{3, 4, 5};
  for_each_case({DType::f32, DType::f64, DType::i32, DType::i64}, {0, 1, 2}, 3, [&](const Case& c) {
    Tensor x = with_layout(sample(shape, c.dtype, 7), c.layout);
    Tensor index = sample_index({6}, shape[size_t(c.d)], 8);  // repeats are likely
    Shape src_shape = shape;
    src_shape[size_t(c.d)] = 6;
    Tensor src = sample(src_shape, c.dtype, 9);
    expect_same_values(composite::index_add(x, c.dim, index, src), ops::index_add(x, c.dim, index, src));
  });
  for (DType dt : {DType::f32, DType::f64, DType::bf16}) {
    Tensor gy = sample({2, 5, 3}, dt, 10);
    Tensor idx = sample_index({2, 5}, 4, 11);
    expect_close(composite::embedding_backward(gy, idx, 4), ops::embedding_backward(gy, idx, 4), 0,
                 std::string("embedding_backward ") + dtype_name(dt));
  }
}

TEST(CudaComposite, IndexRangeErrorsAreTheCpuOnes) {
  Tensor x = sample({3, 4}, DType::f32, 1);
  Tensor bad = from_vector<int64_t>({0, 2, 4, -1}, {4});
  expect_error([&] { composite::index_select(x, 1, bad); }, {"index_select", "index 4", "dim 1", "size 4"});
  expect_error([&] { composite::index_select(x, 0, bad); }, {"index_select", "index 4", "dim 0", "size 3"});
  expect_error([&] { composite::embedding_backward(sample({4, 2}, DType::f32, 2), bad, 3); },
               {"embedding_backward", "index 4"});
  expect_error([&] { composite::index_select(x, 0, ops::to(bad, DType::f32)); }, {"index_select", "int64 or int32"});
  expect_error([&] { composite::one_hot(bad, 5); }, {"one_hot", "non-negative", "-1"});
  expect_error([&] { composite::one_hot(from_vector<int64_t>({1, 5}, {2}), 5); }, {"one_hot", "5", "num_classes 5"});
  // an expanded index is checked through one copy of its repeated values, with the same message
  Tensor expanded = ops::expand(from_vector<int64_t>({0, 5}, {2, 1}), {2, 1000});
  expect_error([&] { composite::check_index_range(expanded, 4, "gather", 1); }, {"gather", "index 5", "size 4"});
  // in range: no error, and the check reads nothing when the index is empty
  EXPECT_NO_THROW(composite::check_index_range(from_vector<int64_t>({0, 3}, {2}), 4, "op", 0));
  EXPECT_NO_THROW(composite::check_index_range(Tensor::empty({0}, DType::i64), 0, "op", 0));
}

TEST(CudaComposite, OneHotMatchesTheCpuOp) {
  Tensor idx = sample_index({2, 3}, 5, 12);
  expect_same_values(composite::one_hot(idx, 5), ops::one_hot(idx, 5));
  expect_same_values(composite::one_hot(idx, -1), ops::one_hot(idx, -1));
  EXPECT_EQ(composite::one_hot(idx, 7).dtype(), DType::i64);
}

TEST(CudaComposite, MaskedFillAndSelectMatchTheCpuOps) {
  for (DType dt : {DType::f32, DType::bf16, DType::i64, DType::u8, DType::b8}) {
    SCOPED_TRACE(dtype_name(dt));
    Tensor x = sample({3, 4}, dt, 13);
    Tensor mask = sample({4}, DType::b8, 14);             // broadcasts along dim 0
    Tensor mask_big = sample({2, 3, 4}, DType::b8, 15);  // x broadcasts to it
    expect_same_values(composite::masked_fill(x, mask, 3), ops::masked_fill(x, mask, 3));
    expect_same_values(composite::masked_fill(x, mask_big, 1), ops::masked_fill(x, mask_big, 1));
    expect_same_values(composite::masked_select(x, mask), ops::masked_select(x, mask));
    expect_same_values(composite::masked_select(x, mask_big), ops::masked_select(x, mask_big));
  }
  Tensor none = composite::masked_select(sample({3}, DType::f32, 1), zeros({3}, DType::b8));
  EXPECT_EQ(none.shape(), Shape{0});
  expect_error([&] { composite::masked_fill(sample({3}, DType::f32, 1), ones({3}, DType::u8), 0); },
               {"masked_fill", "bool"});
}

TEST(CudaComposite, MomentsLogsumexpAndTruthMatchTheCpuOps) {
  for (DType dt : {DType::f32, DType::f64, DType::bf16}) {
    const double tol = dt == DType::bf16 ? 1e-2 : 1e-5;
    Tensor x = ops::div(sample({3, 4, 5}, dt, 16), 3);
    for (const ops::Dims& dims : std::vector<ops::Dims>{{}, {1}, {0, 2}, {-1}})
      for (bool keep : {false, true}) {
        const std::string what = std::string(dtype_name(dt)) + " dims " + std::to_string(dims.size());
        expect_close(composite::var(x, dims, true, keep), ops::var(x, dims, true, keep), tol, "var " + what);
        expect_close(composite::std(x, dims, false, keep), ops::std(x, dims, false, keep), tol, "std " + what);
        expect_close(composite::logsumexp(x, dims, keep), ops::logsumexp(x, dims, keep), tol, "logsumexp " + what);
      }
  }
  // one element with unbiased: NaN, as the CPU op
  expect_close(composite::var(ones({1}), {}, true, false), ops::var(ones({1}), {}, true, false), 0, "var of one");
  // rows of -inf and +inf: the max is not subtracted
  Tensor inf = from_vector<float>({-INFINITY, -INFINITY, INFINITY, 1.f}, {2, 2});
  expect_close(composite::logsumexp(inf, {1}, false), ops::logsumexp(inf, {1}, false), 0, "logsumexp inf");
  expect_close(composite::logsumexp(sample({4}, DType::i32, 3), {0}, false),
               ops::logsumexp(sample({4}, DType::i32, 3), {0}, false), 1e-6, "logsumexp i32");
  // a zero-size reduced dim: -inf as the CPU op (the max of no elements must not throw); a 0-d x
  // with dim 0 / -1 reduces nothing
  for (const Shape& s : std::vector<Shape>{{3, 0}, {0}, {0, 2}})
    for (bool keep : {false, true}) {
      Tensor e = Tensor::empty(s, DType::f32);
      expect_close(composite::logsumexp(e, {-1}, keep), ops::logsumexp(e, {-1}, keep), 0, "logsumexp empty");
      expect_close(composite::var(e, {-1}, false, keep), ops::var(e, {-1}, false, keep), 0, "var empty");
    }
  Tensor scalar = full({}, 2.5, DType::f32);
  for (int64_t d : {0, -1})
    for (bool keep : {false, true}) {
      expect_close(composite::logsumexp(scalar, {d}, keep), ops::logsumexp(scalar, {d}, keep), 0, "logsumexp 0-d");
      expect_close(composite::var(scalar, {d}, false, keep), ops::var(scalar, {d}, false, keep), 0, "var 0-d");
    }
  for (const Tensor& t : {from_vector<float>({1, 0, 2}, {3}), from_vector<float>({1, NAN, 2}, {3}),
                          zeros({2, 2}), Tensor::empty({0}, DType::f32), sample({5}, DType::b8, 2)}) {
    expect_same_values(composite::all(t), ops::all(t));
    expect_same_values(composite::any(t), ops::any(t));
  }
}

TEST(CudaComposite, InPlaceChecksAreTheCpuOnes) {
  Tensor i32 = sample({2, 3}, DType::i32, 1);
  expect_error([&] { composite::check_binary_("add_", i32, ones({2, 3}, DType::f32)); },
               {"add_", "result type float32", "int32"});
  expect_error([&] { composite::check_binary_("div_", i32, sample({2, 3}, DType::i32, 2), true); },
               {"div_", "float32", "int32"});
  expect_error([&] { composite::check_binary_("mul_", ones({3}), ones({2, 3})); }, {"mul_", "broadcast shape"});
  expect_error([&] { composite::check_binary_("add_", ops::expand(ones({1, 3}), {2, 3}), ones({2, 3})); },
               {"add_", "share memory"});
  expect_error([&] { composite::check_binary_("add_", zeros({2}, DType::b8), ones({2}, DType::u8)); },
               {"add_", "bool"});
  EXPECT_NO_THROW(composite::check_binary_("add_", ones({2, 3}, DType::bf16), ones({3}, DType::f32)));
  // the assignment casts once and bumps the version, as the CPU op
  Tensor self = ones({3}, DType::bf16);
  const auto before = self.version();
  composite::assign(self, from_vector<float>({1.5f, 2.25f, 3.f}, {3}));
  EXPECT_GT(self.version(), before);
  EXPECT_EQ(to_vector<float>(self), (std::vector<float>{1.5f, 2.25f, 3.f}));
}

TEST(CudaComposite, SeparableInterpolateMatchesTheCpuOpForwardAndBackward) {
  struct Case {
    InterpMode mode;
    bool align_corners, antialias;
    int64_t out_h, out_w;
    std::optional<double> scale_h;
  };
  const Case cases[] = {{InterpMode::nearest, false, false, 7, 3, std::nullopt},
                        {InterpMode::bilinear, false, false, 9, 11, std::nullopt},
                        {InterpMode::bilinear, true, false, 3, 8, std::nullopt},
                        {InterpMode::bicubic, false, false, 13, 4, std::nullopt},
                        {InterpMode::bicubic, true, false, 6, 6, std::nullopt},
                        {InterpMode::bilinear, false, true, 2, 3, std::nullopt},   // antialiased downsampling
                        {InterpMode::bicubic, false, true, 3, 2, std::nullopt},
                        {InterpMode::bicubic, false, false, 8, 9, 0.71}};  // DINOv2's scale_factor path
  for (const Case& c : cases)
    for (DType dt : {DType::f32, DType::f64, DType::bf16}) {
      SCOPED_TRACE(std::string(dtype_name(dt)) + " mode " + std::to_string(int(c.mode)) + " out " +
                   std::to_string(c.out_h) + "x" + std::to_string(c.out_w));
      InterpolateParams p;
      p.mode = c.mode, p.align_corners = c.align_corners, p.antialias = c.antialias;
      p.out_h = c.out_h, p.out_w = c.out_w, p.scale_h = c.scale_h;
      Tensor x = ops::to(ops::div(sample({2, 3, 5, 7}, DType::f32, 1), 3), dt);
      const double tol = dt == DType::bf16 ? 1e-2 : 1e-5;
      expect_close(composite::separable_interpolate(x, p), ops::interpolate(x, p), tol, "forward");
      Tensor gy = ops::to(ops::div(sample({2, 3, c.out_h, c.out_w}, DType::f32, 2), 3), dt);
      expect_close(composite::separable_interpolate_backward(gy, x.shape(), p),
                   ops::interpolate_backward(gy, x.shape(), p), tol, "backward");
    }
  InterpolateParams p;
  p.out_h = p.out_w = 2;
  expect_error([&] { composite::separable_interpolate(sample({2, 3, 4}, DType::f32, 1), p); },
               {"interpolate", "(N, C, H, W)"});
  p.out_h = 0;
  expect_error([&] { composite::separable_interpolate(sample({1, 1, 4, 4}, DType::f32, 1), p); },
               {"interpolate", "output size must be positive"});
}
