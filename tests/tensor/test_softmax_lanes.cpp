// The register-row softmax kernels' maths (tensor/softmax_lanes.hpp), replayed as cuda/softmax.cu
// runs it: 32 lanes × P values, each lane's loop in order, then the butterfly across lanes (lane l
// takes lane l ^ o, o = 16 .. 1) — against the CPU softmax/log_softmax and their backward, in every
// float dtype, at row lengths in each values-per-lane class, with -inf entries, rows of -inf only,
// NaN and +inf; and attention's empty-row rule (zeros, lse = -inf).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "tensor/dispatch.hpp"
#include "tensor/ops.hpp"
#include "tensor/softmax_lanes.hpp"
#include "tests/tensor/numeric_check.hpp"

using namespace cj;
namespace lanes = cj::softmax_lanes;

namespace {

// The warp's butterfly over 32 lane values (every lane ends with lane 0's value).
template <typename A, typename Combine>
A butterfly(A (&v)[lanes::kLanes], Combine combine) {
  for (int o = lanes::kLanes / 2; o > 0; o >>= 1) {
    A next[lanes::kLanes];
    for (int l = 0; l < lanes::kLanes; ++l) next[l] = combine(v[l], v[l ^ o]);
    for (int l = 0; l < lanes::kLanes; ++l) v[l] = next[l];
  }
  return v[0];
}

// softmax_forward_registers on one row of `cols` values; lse gets the row's log-sum-exp.
template <typename T, int P, bool LOG>
void forward_row(const T* x, T* y, int cols, bool zero_empty_rows, float& lse) {
  using A = acc_t<T>;
  A v[lanes::kLanes][P], partial[lanes::kLanes];
  for (int l = 0; l < lanes::kLanes; ++l)
    for (int n = 0; n < P; ++n) v[l][n] = lanes::column(l, n) < cols ? A(x[lanes::column(l, n)]) : A(0);
  for (int l = 0; l < lanes::kLanes; ++l) partial[l] = lanes::lane_max(v[l], l, cols);
  const A m = butterfly(partial, lanes::MaxSkipNan{});
  for (int l = 0; l < lanes::kLanes; ++l) partial[l] = lanes::lane_exp_sum<A, P, LOG>(v[l], m, l, cols);
  const lanes::RowScale<A> r = lanes::row_scale(m, butterfly(partial, lanes::Plus{}), zero_empty_rows);
  for (int l = 0; l < lanes::kLanes; ++l)
    for (int n = 0; n < P; ++n)
      if (lanes::column(l, n) < cols) y[lanes::column(l, n)] = T(lanes::forward_value<A, LOG>(v[l][n], r));
  lse = float(lanes::log_sum_exp(r));
}

// softmax_backward_registers on one row.
template <typename T, int P, bool LOG>
void backward_row(const T* y, const T* gy, T* gx, int cols) {
  using A = acc_t<T>;
  A yv[lanes::kLanes][P], gv[lanes::kLanes][P], partial[lanes::kLanes];
  for (int l = 0; l < lanes::kLanes; ++l)
    for (int n = 0; n < P; ++n) {
      const int c = lanes::column(l, n);
      yv[l][n] = c < cols ? A(y[c]) : A(0);
      gv[l][n] = c < cols ? A(gy[c]) : A(0);
    }
  for (int l = 0; l < lanes::kLanes; ++l) partial[l] = lanes::lane_grad_sum<A, P, LOG>(yv[l], gv[l], l, cols);
  const A s = butterfly(partial, lanes::Plus{});
  for (int l = 0; l < lanes::kLanes; ++l)
    for (int n = 0; n < P; ++n)
      if (lanes::column(l, n) < cols) gx[lanes::column(l, n)] = T(lanes::backward_value<A, LOG>(yv[l][n], gv[l][n], s));
}

struct Emulated {
  Tensor y, lse;
};

// x: (rows, cols) contiguous -> y like x, lse (rows) in f32
Emulated emulate_forward(const Tensor& x, bool log, bool zero_empty_rows) {
  const int64_t cols = x.size(-1), rows = x.numel() / cols;
  Emulated e{Tensor::empty(x.shape(), x.dtype()), Tensor::empty({rows}, DType::f32)};
  dispatch_floating(x.dtype(), "emulate_forward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    lanes::with_per_lane(cols, [&](auto per_lane) {
      constexpr int P = decltype(per_lane)::value;
      for (int64_t r = 0; r < rows; ++r) {
        const T* in = x.data<T>() + r * cols;
        T* out = e.y.data<T>() + r * cols;
        float& lse = e.lse.data<float>()[r];
        if (log) forward_row<T, P, true>(in, out, int(cols), zero_empty_rows, lse);
        else forward_row<T, P, false>(in, out, int(cols), zero_empty_rows, lse);
      }
    });
  });
  return e;
}

Tensor emulate_backward(const Tensor& y, const Tensor& gy, bool log) {
  const int64_t cols = y.size(-1), rows = y.numel() / cols;
  Tensor gx = Tensor::empty(y.shape(), y.dtype());
  dispatch_floating(y.dtype(), "emulate_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    lanes::with_per_lane(cols, [&](auto per_lane) {
      constexpr int P = decltype(per_lane)::value;
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t at = r * cols;
        if (log) backward_row<T, P, true>(y.data<T>() + at, gy.data<T>() + at, gx.data<T>() + at, int(cols));
        else backward_row<T, P, false>(y.data<T>() + at, gy.data<T>() + at, gx.data<T>() + at, int(cols));
      }
    });
  });
  return gx;
}

// Normalised error over the finite reference values; NaN and infinities must sit where the
// reference has them (infinite when they do not).
double error_with_specials(const Tensor& got, const Tensor& want) {
  std::vector<double> a = to_vector<double>(got), b = to_vector<double>(want);
  double worst = 0, scale = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(b[i]) != std::isnan(a[i])) return INFINITY;
    if (std::isnan(b[i])) continue;
    if (std::isinf(b[i]) || std::isinf(a[i])) {
      if (a[i] != b[i]) return INFINITY;
      continue;
    }
    worst = std::max(worst, std::abs(a[i] - b[i]));
    scale = std::max(scale, std::abs(b[i]));
  }
  return worst / std::max(scale, 1e-300);
}

// Bounds on the normalised error against the CPU op: last-bit differences of exp (and of the
// final rounding for 16-bit outputs).
double tolerance(DType t) {
  switch (t) {
    case DType::f64: return 1e-14;
    case DType::f32: return 1e-6;
    case DType::f16: return 1e-3;
    default: return 8e-3;
  }
}

const DType kDtypes[] = {DType::f32, DType::f64, DType::bf16, DType::f16};
// every values-per-lane class, full and ragged
const int64_t kCols[] = {1, 7, 32, 33, 64, 112, 128, 197, 256, 300, 512, 777, 1000, 1024};

// (6, cols): rows 0-1 random, row 2 with -inf every third column, row 3 all -inf, row 4 with one
// NaN, row 5 with one +inf.
Tensor rows_with_specials(int64_t cols, DType t) {
  std::vector<double> x = to_vector<double>(test::seeded_uniform({6, cols}, uint64_t(cols), -6, 6, DType::f64));
  for (int64_t c = 0; c < cols; c += 3) x[2 * cols + c] = -INFINITY;
  for (int64_t c = 0; c < cols; ++c) x[3 * cols + c] = -INFINITY;
  x[4 * cols + cols / 2] = NAN;
  x[5 * cols + cols - 1] = INFINITY;
  return ops::to(from_vector(x, {6, cols}), t);
}

}  // namespace

TEST(SoftmaxLanes, PerLaneCoversTheRowWithTheSmallestPowerOfTwo) {
  EXPECT_EQ(lanes::per_lane(1), 1);
  EXPECT_EQ(lanes::per_lane(32), 1);
  EXPECT_EQ(lanes::per_lane(33), 2);
  EXPECT_EQ(lanes::per_lane(112), 4);
  EXPECT_EQ(lanes::per_lane(197), 8);
  EXPECT_EQ(lanes::per_lane(512), 16);
  EXPECT_EQ(lanes::per_lane(513), 32);
  EXPECT_EQ(lanes::per_lane(lanes::kMaxCols), lanes::kMaxPerLane);
}

TEST(SoftmaxLanes, ForwardAndBackwardMatchTheCpuOpWithSpecialValues) {
  for (DType t : kDtypes)
    for (int64_t cols : kCols) {
      Tensor x = rows_with_specials(cols, t);
      Tensor gy = test::seeded_uniform({6, cols}, uint64_t(cols) + 1, -1, 1, t);
      for (bool log : {false, true}) {
        const std::string what = std::string(dtype_name(t)) + (log ? " log_softmax" : " softmax") + " cols " +
                                 std::to_string(cols);
        Tensor want = log ? ops::log_softmax(x, -1) : ops::softmax(x, -1);
        Emulated got = emulate_forward(x, log, false);
        EXPECT_LE(error_with_specials(got.y, want), tolerance(t)) << what;
        // the backward from the CPU's y, so both sides start from the same values
        Tensor want_g = log ? ops::log_softmax_backward(want, gy, -1) : ops::softmax_backward(want, gy, -1);
        EXPECT_LE(error_with_specials(emulate_backward(want, gy, log), want_g), tolerance(t)) << what << " backward";
      }
    }
}

TEST(SoftmaxLanes, LogSumExpAndAttentionsEmptyRowRule) {
  for (DType t : kDtypes)
    for (int64_t cols : {5, 112, 1000}) {
      const std::string what = std::string(dtype_name(t)) + " cols " + std::to_string(cols);
      Tensor x = rows_with_specials(cols, t);
      std::vector<double> xv = to_vector<double>(x);
      for (bool zero_empty : {false, true}) {
        Emulated e = emulate_forward(x, false, zero_empty);
        std::vector<double> lse = to_vector<double>(e.lse), y = to_vector<double>(e.y);
        for (int64_t r : {0, 1, 2}) {  // finite rows: lse against f64
          double m = -INFINITY, s = 0;
          for (int64_t c = 0; c < cols; ++c) m = std::max(m, xv[r * cols + c]);
          for (int64_t c = 0; c < cols; ++c) s += std::exp(xv[r * cols + c] - m);
          EXPECT_NEAR(lse[r], m + std::log(s), 2e-7 * std::abs(m + std::log(s)) + 1e-7) << what << " row " << r;
        }
        EXPECT_TRUE(std::isnan(lse[4]) && std::isnan(lse[5])) << what << ": NaN and +inf rows";
        if (zero_empty) {
          EXPECT_EQ(lse[3], -INFINITY) << what;
          for (int64_t c = 0; c < cols; ++c) ASSERT_EQ(y[3 * cols + c], 0.0) << what << " column " << c;
        } else {
          EXPECT_TRUE(std::isnan(lse[3])) << what;
          for (int64_t c = 0; c < cols; ++c) ASSERT_TRUE(std::isnan(y[3 * cols + c])) << what << " column " << c;
        }
        // the rule only touches empty rows: every other row is softmax's
        Tensor plain = emulate_forward(x, false, false).y;
        for (int64_t r : {0, 1, 2, 4, 5})
          EXPECT_EQ(error_with_specials(ops::select(e.y, 0, r), ops::select(plain, 0, r)), 0.0) << what << " row " << r;
      }
    }
}
