// Reductions and the softmax family against f64 references: warp rows (short) and block rows
// (long), reductions over inner and outer dims, non-contiguous inputs; the softmax family's special
// values (-inf, rows of -inf only, NaN) against the CPU op, and attention's empty-row rule.
#include <algorithm>

#include "tests/cuda/reference.hpp"

using namespace cj;
using namespace cj::test;

namespace {

enum class Kind { sum, mean, max };

// Reference: move the reduced dims last on the CPU, then reduce rows in f64.
std::vector<double> reduce_ref(const Tensor& x, const ops::Dims& dims, Kind kind) {
  Shape perm, reduced_perm;
  int64_t cols = 1;
  for (int64_t d = 0; d < x.dim(); ++d) {
    bool r = dims.empty() || std::find(dims.begin(), dims.end(), d) != dims.end();
    (r ? reduced_perm : perm).push_back(d);
    if (r) cols *= x.size(d);
  }
  perm.insert(perm.end(), reduced_perm.begin(), reduced_perm.end());
  std::vector<double> v = values(ops::permute(x, perm)), out(v.size() / cols);
  for (size_t r = 0; r < out.size(); ++r) {
    double acc = kind == Kind::max ? -INFINITY : 0;
    for (int64_t c = 0; c < cols; ++c) acc = kind == Kind::max ? std::fmax(acc, v[r * cols + c]) : acc + v[r * cols + c];
    out[r] = kind == Kind::mean ? acc / cols : acc;
  }
  return out;
}

void check_reductions(const Tensor& x, const Tensor& xg, const ops::Dims& dims, bool keepdim, DType t) {
  std::string what = "dims " + shape_str(dims) + " of " + shape_str(x.shape());
  expect_close(cuda::sum(xg, dims, keepdim), reduce_ref(x, dims, Kind::sum), t, "sum " + what);
  expect_close(cuda::mean(xg, dims, keepdim), reduce_ref(x, dims, Kind::mean), t, "mean " + what);
  expect_close(cuda::amax(xg, dims, keepdim), reduce_ref(x, dims, Kind::max), t, "amax " + what);
}

}  // namespace

TEST(CudaReduce, LastDimShortAndLongRows) {
  CJ_REQUIRE_GPU();
  for (DType t : float_dtypes()) {
    for (Shape shape : {Shape{7, 300}, Shape{5, 3000}, Shape{33}}) {
      Tensor x = random_cpu(shape, t, 30);
      check_reductions(x, to_gpu(x), {-1 + int64_t(shape.size())}, false, t);
    }
  }
}

TEST(CudaReduce, OuterDimsKeepdimAllDimsAndStridedInput) {
  CJ_REQUIRE_GPU();
  for (DType t : float_dtypes()) {
    Tensor base = random_cpu({6, 4, 5}, t, 31);
    Tensor x = ops::permute(base, {1, 2, 0});  // (4, 5, 6), non-contiguous
    Tensor xg = ops::permute(to_gpu(base), {1, 2, 0});
    check_reductions(x, xg, {0, 2}, true, t);
    check_reductions(x, xg, {1}, false, t);
    check_reductions(x, xg, {}, false, t);
    EXPECT_EQ(cuda::sum(xg, {0, 2}, true).shape(), (Shape{1, 5, 1}));
    EXPECT_EQ(cuda::sum(xg, {}, false).shape(), (Shape{}));
  }
  Tensor empty_dim = zeros({3, 0}, {DType::f32, Device::cuda()});
  EXPECT_EQ(values(cuda::sum(empty_dim, {1}, false)), (std::vector<double>{0, 0, 0}));
  EXPECT_THROW(cuda::amax(empty_dim, {1}, false), Error);
  EXPECT_THROW(cuda::sum(empty_dim, {2}, false), Error);
  // a 0-d tensor takes dim 0 / -1 and reduces nothing
  Tensor scalar = to_gpu(full({}, 2.5, DType::f32));
  for (int64_t d : {0, -1})
    for (bool keep : {false, true}) {
      EXPECT_EQ(cuda::sum(scalar, {d}, keep).shape(), (Shape{}));
      EXPECT_EQ(values(cuda::amax(scalar, {d}, keep)), (std::vector<double>{2.5}));
      EXPECT_EQ(values(cuda::mean(scalar, {d}, keep)), (std::vector<double>{2.5}));
    }
}

// Register rows: cols in each values-per-lane class (1, 2, 4, 8, 16, 32 per lane, full and ragged);
// block rows: 1025 and 2500.
const int64_t kSoftmaxCols[] = {1, 7, 32, 33, 64, 112, 128, 197, 256, 300, 512, 777, 1024, 1025, 2500};

TEST(CudaSoftmax, ForwardAndBackwardShortAndLongRows) {
  CJ_REQUIRE_GPU();
  for (DType t : float_dtypes()) {
    for (int64_t cols : kSoftmaxCols) {
      Tensor x = random_cpu({9, cols}, t, 32, -4.f, 4.f), gy = random_cpu({9, cols}, t, 33);
      Tensor xg = to_gpu(x), gyg = to_gpu(gy);
      for (bool log : {false, true}) {
        std::string what = std::string(log ? "log_softmax" : "softmax") + " cols " + std::to_string(cols);
        Tensor y = log ? cuda::log_softmax(xg, -1) : cuda::softmax(xg, -1);
        expect_close(y, ref::softmax_rows(values(x), cols, log), t, what);
        Tensor gx = log ? cuda::log_softmax_backward(y, gyg, -1) : cuda::softmax_backward(y, gyg, -1);
        expect_close(gx, ref::softmax_backward_rows(values(y), values(gy), cols, log), t, what + " backward");
      }
    }
  }
}

TEST(CudaSoftmax, OverAnInnerDimOfAStridedTensor) {
  CJ_REQUIRE_GPU();
  for (DType t : float_dtypes()) {
    Tensor base = random_cpu({6, 9}, t, 34, -4.f, 4.f);
    Tensor xg = ops::transpose(to_gpu(base), 0, 1);  // (9, 6); softmax over dim 0 = rows of base
    Tensor y = cuda::softmax(xg, 0);
    EXPECT_EQ(y.shape(), (Shape{9, 6}));
    expect_close(ops::transpose(y, 0, 1), ref::softmax_rows(values(base), 9, false), t, "softmax dim 0");
    Tensor gy = random_cpu({6, 9}, t, 35);
    Tensor gx = cuda::log_softmax_backward(cuda::log_softmax(xg, 0), ops::transpose(to_gpu(gy), 0, 1), 0);
    std::vector<double> yl = values(ops::transpose(cuda::log_softmax(xg, 0), 0, 1));
    expect_close(ops::transpose(gx, 0, 1), ref::softmax_backward_rows(yl, values(gy), 9, true), t,
                 "log_softmax_backward dim 0");
  }
}

namespace {

// NaN and infinities where the reference has them, the finite values within tol (normalised).
void expect_same_specials(const Tensor& got, const Tensor& want, double tol, const std::string& what) {
  std::vector<double> a = values(got), b = values(want), fa, fb;
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(b[i]) || std::isinf(b[i])) {
      EXPECT_TRUE(std::isnan(b[i]) ? std::isnan(a[i]) : a[i] == b[i]) << what << ": element " << i << " is " << a[i]
                                                                       << ", expected " << b[i];
      continue;
    }
    fa.push_back(a[i]);
    fb.push_back(b[i]);
  }
  EXPECT_LE(normalized_error(fa, fb), tol) << what;
}

// (4, cols): row 0 with some -inf, row 1 all -inf, row 2 with one NaN, row 3 with +inf.
Tensor special_rows(int64_t cols, DType t) {
  std::vector<double> x = values(random_cpu({4, cols}, DType::f64, 36, -4.f, 4.f));
  for (int64_t c = 0; c < cols; c += 3) x[c] = -INFINITY;
  for (int64_t c = 0; c < cols; ++c) x[cols + c] = -INFINITY;
  x[2 * cols + cols / 2] = NAN;
  x[3 * cols + cols - 1] = INFINITY;
  return ops::to(from_vector(x, {4, cols}), t);
}

}  // namespace

TEST(CudaSoftmax, SpecialValuesMatchTheCpuOp) {
  CJ_REQUIRE_GPU();
  for (DType t : float_dtypes())
    for (int64_t cols : {5, 112, 1000, 1025, 2500}) {
      Tensor x = special_rows(cols, t), gy = random_cpu({4, cols}, t, 37);
      const std::string what = std::string(dtype_name(t)) + " cols " + std::to_string(cols);
      for (bool log : {false, true}) {
        Tensor y = log ? ops::log_softmax(x, -1) : ops::softmax(x, -1);
        Tensor yg = log ? cuda::log_softmax(to_gpu(x), -1) : cuda::softmax(to_gpu(x), -1);
        expect_same_specials(yg, y, tolerance(t), what + (log ? " log_softmax" : " softmax"));
        Tensor gx = log ? ops::log_softmax_backward(y, gy, -1) : ops::softmax_backward(y, gy, -1);
        Tensor gxg = log ? cuda::log_softmax_backward(to_gpu(y), to_gpu(gy), -1)
                         : cuda::softmax_backward(to_gpu(y), to_gpu(gy), -1);
        expect_same_specials(gxg, gx, tolerance(t), what + (log ? " log_softmax_backward" : " softmax_backward"));
      }
    }
}

// softmax_last_dim_with_lse: lse = m + log Σ exp(x - m); with zero_empty_rows a row of -inf only
// gives zeros and lse = -inf (attention's fully masked query), without it NaN as softmax.
TEST(CudaSoftmax, LogSumExpAndEmptyRows) {
  CJ_REQUIRE_GPU();
  for (DType t : float_dtypes())
    for (int64_t cols : {5, 112, 1000, 2500}) {
      Tensor x = special_rows(cols, t);
      const std::string what = std::string(dtype_name(t)) + " cols " + std::to_string(cols);
      std::vector<double> xv = values(x), want_lse;
      for (int64_t r = 0; r < 4; ++r) {
        double m = -INFINITY, s = 0;
        for (int64_t c = 0; c < cols; ++c) m = std::fmax(m, xv[r * cols + c]);
        for (int64_t c = 0; c < cols; ++c) s += std::exp(xv[r * cols + c] - m);
        want_lse.push_back(m + std::log(s));
      }
      for (bool zero_empty : {false, true}) {
        Tensor lse = Tensor::empty({4}, {DType::f32, Device::cuda()});
        Tensor y = cuda::softmax_last_dim_with_lse(to_gpu(x), lse, zero_empty);
        std::vector<double> l = values(lse), yv = values(y);
        EXPECT_NEAR(l[0], want_lse[0], 1e-5 * std::fabs(want_lse[0])) << what;
        EXPECT_TRUE(std::isnan(l[2]) && std::isnan(l[3])) << what << ": NaN and +inf rows give NaN";
        if (zero_empty) {
          EXPECT_EQ(l[1], -INFINITY) << what;
          for (int64_t c = 0; c < cols; ++c) ASSERT_EQ(yv[cols + c], 0.0) << what << " column " << c;
        } else {
          EXPECT_TRUE(std::isnan(l[1])) << what;
          for (int64_t c = 0; c < cols; ++c) ASSERT_TRUE(std::isnan(yv[cols + c])) << what << " column " << c;
        }
      }
    }
}
