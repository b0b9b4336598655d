// Reductions, scans and softmax against naive f64 loops over every dim set, layout and dtype.
#include <algorithm>
#include <functional>
#include <numeric>
#include <string>

#include <omp.h>

#include "tests/tensor/op_test_util.hpp"

using namespace cj;
using cj::test::Layout;

namespace {

const Shape kShape = {3, 5, 4};

// For each output position (kept dims in row-major order), the input values over the reduced dims
// in row-major order. dims empty = all.
// Which of nd dims `dims` reduces (empty = all).
std::vector<bool> reduced_mask(int64_t nd, const ops::Dims& dims) {
  std::vector<bool> red(nd, dims.empty());
  for (int64_t d : dims) red[d < 0 ? d + nd : d] = true;
  return red;
}

std::vector<std::vector<double>> groups(const std::vector<double>& x, const Shape& shape, ops::Dims dims) {
  const int64_t nd = int64_t(shape.size());
  const std::vector<bool> red = reduced_mask(nd, dims);
  Shape kept_shape;
  for (int64_t d = 0; d < nd; ++d)
    if (!red[d]) kept_shape.push_back(shape[d]);
  std::vector<std::vector<double>> out(shape_numel(kept_shape));
  Shape strides = contiguous_strides(kept_shape);
  std::vector<int64_t> idx(nd, 0);
  for (size_t flat = 0; flat < x.size(); ++flat) {
    int64_t o = 0, kd = 0;
    for (int64_t d = 0; d < nd; ++d)
      if (!red[d]) o += idx[d] * strides[kd++];
    out[o].push_back(x[flat]);
    for (int64_t d = nd - 1; d >= 0 && ++idx[d] == shape[d]; --d) idx[d] = 0;
  }
  return out;
}

Shape reduced_shape(const Shape& shape, ops::Dims dims, bool keepdim) {
  const int64_t nd = int64_t(shape.size());
  const std::vector<bool> red = reduced_mask(nd, dims);
  Shape out;
  for (int64_t d = 0; d < nd; ++d)
    if (!red[d]) out.push_back(shape[d]);
    else if (keepdim) out.push_back(1);
  return out;
}

double ref_sum(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0); }
double ref_mean(const std::vector<double>& v) { return ref_sum(v) / double(v.size()); }
double ref_var(const std::vector<double>& v, bool unbiased) {
  double m = ref_mean(v), s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return s / double(v.size() - (unbiased ? 1 : 0));
}

enum class Out { same, widened_int, float_valued };  // result dtype rule

struct ReduceCase {
  const char* name;
  std::function<Tensor(const Tensor&, const ops::Dims&, bool)> op;
  std::function<double(const std::vector<double>&)> ref;
  Out out;
  bool floats_only;
  double lo = -4, hi = 4;
};

std::vector<ReduceCase> reduce_cases() {
  return {
      {"sum", [](const Tensor& x, const ops::Dims& d, bool k) { return ops::sum(x, d, k); }, ref_sum, Out::widened_int,
       false},
      {"mean", [](const Tensor& x, const ops::Dims& d, bool k) { return ops::mean(x, d, k); }, ref_mean,
       Out::float_valued, false},
      {"prod", [](const Tensor& x, const ops::Dims& d, bool k) { return ops::prod(x, d, k); },
       [](const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 1.0, std::multiplies<>()); },
       Out::widened_int, false, -1, 2},
      {"amax", [](const Tensor& x, const ops::Dims& d, bool k) { return ops::amax(x, d, k); },
       [](const std::vector<double>& v) { return *std::max_element(v.begin(), v.end()); }, Out::same, false},
      {"amin", [](const Tensor& x, const ops::Dims& d, bool k) { return ops::amin(x, d, k); },
       [](const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }, Out::same, false},
      {"var", [](const Tensor& x, const ops::Dims& d, bool k) { return ops::var(x, d, true, k); },
       [](const std::vector<double>& v) { return ref_var(v, true); }, Out::same, true},
      {"var_biased", [](const Tensor& x, const ops::Dims& d, bool k) { return ops::var(x, d, false, k); },
       [](const std::vector<double>& v) { return ref_var(v, false); }, Out::same, true},
      {"std", [](const Tensor& x, const ops::Dims& d, bool k) { return ops::std(x, d, true, k); },
       [](const std::vector<double>& v) { return std::sqrt(ref_var(v, true)); }, Out::same, true},
      {"logsumexp", [](const Tensor& x, const ops::Dims& d, bool k) { return ops::logsumexp(x, d, k); },
       [](const std::vector<double>& v) {
         double m = *std::max_element(v.begin(), v.end()), s = 0;
         for (double x : v) s += std::exp(x - m);
         return m + std::log(s);
       },
       Out::float_valued, false},
  };
}

void PrintTo(const ReduceCase& c, std::ostream* os) { *os << c.name; }

class Reduce : public ::testing::TestWithParam<ReduceCase> {};

TEST_P(Reduce, MatchesF64ReferenceOverEveryDimSet) {
  const ReduceCase& c = GetParam();
  const std::vector<ops::Dims> dim_sets = {{}, {0}, {1}, {2}, {-1}, {0, 2}, {2, 1}, {0, 1, 2}};
  for (DType dt : c.floats_only ? test::kFloatDTypes : test::kNumericDTypes) {
    for (Layout l : test::kLayouts) {
      double lo = dt == DType::u8 ? std::max(c.lo, 0.0) : c.lo;
      Tensor x = test::make_input(kShape, dt, l, 61, lo, c.hi);
      std::vector<double> xv = test::doubles(x);
      for (const ops::Dims& dims : dim_sets) {
        for (bool keepdim : {false, true}) {
          SCOPED_TRACE(std::string(dtype_name(dt)) + " " + test::layout_name(l) + " dims " + shape_str(dims) +
                       (keepdim ? " keepdim" : ""));
          Tensor y = c.op(x, dims, keepdim);
          DType want_dt = is_floating(dt)          ? dt
                          : c.out == Out::same        ? dt
                          : c.out == Out::widened_int ? DType::i64
                                                      : DType::f32;
          ASSERT_EQ(y.dtype(), want_dt);
          ASSERT_EQ(y.shape(), reduced_shape(kShape, dims, keepdim));
          std::vector<double> want;
          for (const auto& g : groups(xv, kShape, dims)) want.push_back(c.ref(g));
          test::expect_values(y, want, want_dt, dt == DType::f64 ? 1e-12 : is_floating(want_dt) ? 1e-4 : 0);
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Reduction, Reduce, ::testing::ValuesIn(reduce_cases()),
                         [](const auto& info) { return std::string(info.param.name); });

// Shapes large enough that the sums split across threads: rows (dim 2), column tiles of one outer
// index with a partial last tile (dim 0), and several outer indices (dim 1). The result must match
// the f64 reference and not depend on the thread count.
TEST(Reduction, ThreadedSumsMatchReferenceAndOneThread) {
  const Shape shape = {3, 70, 1100};
  const std::vector<std::string> names = {"sum", "mean", "var", "logsumexp"};
  const int threads = omp_get_max_threads();
  for (const ReduceCase& c : reduce_cases()) {
    if (std::find(names.begin(), names.end(), c.name) == names.end()) continue;
    for (DType dt : {DType::f32, DType::f64}) {
      Tensor x = test::make_input(shape, dt, Layout::contiguous, 71, c.lo, c.hi);
      std::vector<double> xv = test::doubles(x);
      for (const ops::Dims& dims : std::vector<ops::Dims>{{0}, {1}, {2}, {0, 2}}) {
        SCOPED_TRACE(std::string(c.name) + " " + dtype_name(dt) + " dims " + shape_str(dims));
        Tensor y = c.op(x, dims, false);
        std::vector<double> want;
        for (const auto& g : groups(xv, shape, dims)) want.push_back(c.ref(g));
        test::expect_values(y, want, dt, dt == DType::f64 ? 1e-12 : 1e-4);
        omp_set_num_threads(1);
        Tensor y1 = c.op(x, dims, false);
        omp_set_num_threads(threads);
        EXPECT_EQ(test::doubles(y1), test::doubles(y));
      }
    }
  }
}

TEST(Reduction, SumsOfLongF32VectorsStayAccurate) {
  // A sequential f32 sum of 10^7 copies of 0.1f is off by several percent; the cascade is not.
  const int64_t n = 10'000'000;
  Tensor x = full({n}, 0.1f);
  double exact = double(n) * double(0.1f);
  EXPECT_NEAR(ops::sum(x).item<double>() / exact, 1.0, 1e-6);
  EXPECT_NEAR(ops::mean(x).item<double>() / double(0.1f), 1.0, 1e-6);
  // columns: a reduction over the outer dim of (n / 8, 8)
  Tensor cols = ops::sum(ops::view(x, {n / 8, 8}), {0});
  for (double v : test::doubles(cols)) EXPECT_NEAR(v / (exact / 8), 1.0, 1e-6);
  // bf16 input accumulates in float
  Tensor b = full({100000}, 0.1f, DType::bf16);
  EXPECT_NEAR(ops::sum(b).item<double>() / (100000 * double(bf16(0.1f))), 1.0, 4e-3);
}

TEST(Reduction, EdgeCases) {
  Tensor x = tensor({1, NAN, 3, -INFINITY}, {2, 2});
  auto mx = test::doubles(ops::amax(x, {1}));
  EXPECT_TRUE(std::isnan(mx[0]));
  EXPECT_EQ(mx[1], 3);
  EXPECT_EQ(ops::amax(full({3}, -INFINITY)).item<double>(), -INFINITY);
  EXPECT_EQ(ops::logsumexp(full({3}, -INFINITY), {0}).item<double>(), -INFINITY);
  EXPECT_EQ(ops::logsumexp(tensor({1, INFINITY}), {0}).item<double>(), INFINITY);
  EXPECT_NEAR(ops::logsumexp(tensor({1000, 1000}), {0}).item<double>(), 1000 + std::log(2.0), 1e-3);
  // empty reductions: sum 0, prod 1, mean NaN, amax an error
  Tensor e = zeros({2, 0});
  EXPECT_EQ(test::doubles(ops::sum(e, {1})), (std::vector<double>{0, 0}));
  EXPECT_EQ(test::doubles(ops::prod(e, {1})), (std::vector<double>{1, 1}));
  EXPECT_TRUE(std::isnan(ops::mean(e).item<double>()));
  EXPECT_NE(test::error_message([&] { ops::amax(e, {1}); }).find("amax: cannot reduce over a zero-size dimension"),
            std::string::npos);
  // 0-d input: reducing "all dims" or dim 0 gives the value back
  Tensor s = scalar_tensor(2.5);
  EXPECT_EQ(ops::sum(s).item<double>(), 2.5);
  EXPECT_EQ(ops::sum(s, {0}).shape(), Shape{});
  EXPECT_TRUE(std::isnan(ops::var(tensor({1})).item<double>()));  // one sample, unbiased
  EXPECT_EQ(ops::var(tensor({1}), {}, false).item<double>(), 0);
  // bool sum counts
  Tensor b = from_vector(std::vector<bool>{true, true, false}, {3});
  EXPECT_EQ(ops::sum(b).dtype(), DType::i64);
  EXPECT_EQ(ops::sum(b).item<int64_t>(), 2);
}

TEST(Reduction, ErrorsNameOpAndDims) {
  std::string msg = test::error_message([] { ops::sum(zeros({2, 3}), {2}); });
  EXPECT_NE(msg.find("sum: dimension 2 out of range for a tensor of 2 dims"), std::string::npos) << msg;
  msg = test::error_message([] { ops::mean(zeros({2, 3}), {1, -1}); });
  EXPECT_NE(msg.find("mean: dim 1 appears multiple times in the list of dims [1, -1]"), std::string::npos) << msg;
  msg = test::error_message([] { ops::var(arange(3)); });
  EXPECT_NE(msg.find("var: expected a floating dtype"), std::string::npos) << msg;
  msg = test::error_message([] { ops::softmax(arange(3), 0); });
  EXPECT_NE(msg.find("softmax: expected a floating dtype"), std::string::npos) << msg;
  msg = test::error_message([] { ops::max(zeros({2, 0}), 1); });
  EXPECT_NE(msg.find("max: cannot reduce over dim 1 of size 0"), std::string::npos) << msg;
  msg = test::error_message([] { ops::softmax_backward(zeros({2}), zeros({3}), 0); });
  EXPECT_NE(msg.find("softmax_backward: output Tensor[2]"), std::string::npos) << msg;
}

// ---- max/min with indices, argmax/argmin -----------------------------------------------------------

TEST(Reduction, MaxMinWithIndicesTakeFirstTieAndNaN) {
  std::vector<DType> dtypes = test::kNumericDTypes;
  dtypes.push_back(DType::b8);
  for (DType dt : dtypes) {
    for (Layout l : test::kLayouts) {
      // few distinct values so that ties are common
      Tensor x = test::make_input(kShape, dt, l, 71, 0, 3);
      std::vector<double> xv = test::doubles(x);
      for (int64_t dim : {0, 1, 2, -1}) {
        for (bool keepdim : {false, true}) {
          SCOPED_TRACE(std::string(dtype_name(dt)) + " " + test::layout_name(l) + " dim " + std::to_string(dim));
          auto [vmax, imax] = ops::max(x, dim, keepdim);
          auto [vmin, imin] = ops::min(x, dim, keepdim);
          ASSERT_EQ(vmax.dtype(), dt);
          ASSERT_EQ(imax.dtype(), DType::i64);
          ASSERT_EQ(imax.shape(), reduced_shape(kShape, {dim}, keepdim));
          std::vector<double> want_vmax, want_imax, want_vmin, want_imin;
          for (const auto& g : groups(xv, kShape, {dim})) {
            auto mx = std::max_element(g.begin(), g.end()), mn = std::min_element(g.begin(), g.end());  // first
            want_vmax.push_back(*mx), want_imax.push_back(double(mx - g.begin()));
            want_vmin.push_back(*mn), want_imin.push_back(double(mn - g.begin()));
          }
          EXPECT_EQ(test::doubles(vmax), want_vmax);
          EXPECT_EQ(test::doubles(imax), want_imax);
          EXPECT_EQ(test::doubles(vmin), want_vmin);
          EXPECT_EQ(test::doubles(imin), want_imin);
          EXPECT_EQ(test::doubles(ops::argmax(x, dim, keepdim)), want_imax);
          EXPECT_EQ(test::doubles(ops::argmin(x, dim, keepdim)), want_imin);
        }
      }
    }
  }
  Tensor n = tensor({1, NAN, 5, NAN, 0, 7}, {2, 3});
  auto [v, i] = ops::max(n, 1);
  EXPECT_TRUE(std::isnan(v.at({0})));
  EXPECT_EQ(test::doubles(i), (std::vector<double>{1, 0}));
  EXPECT_EQ(test::doubles(ops::argmin(n, 0)), (std::vector<double>{1, 0, 0}));  // the NaN in column 0 wins
}

// ---- cumsum, all, any ---------------------------------------------------------------------------------

TEST(Reduction, CumsumEveryDimDTypeAndLayout) {
  for (DType dt : test::kNumericDTypes) {
    for (Layout l : test::kLayouts) {
      Tensor x = test::make_input(kShape, dt, l, 81);
      std::vector<double> xv = test::doubles(x);
      for (int64_t dim : {0, 1, 2}) {
        SCOPED_TRACE(std::string(dtype_name(dt)) + " " + test::layout_name(l) + " dim " + std::to_string(dim));
        Tensor y = ops::cumsum(x, dim);
        DType want_dt = is_floating(dt) ? dt : DType::i64;
        ASSERT_EQ(y.dtype(), want_dt);
        ASSERT_EQ(y.shape(), kShape);
        Shape st = contiguous_strides(kShape);
        std::vector<double> want(xv.size());
        for (size_t i = 0; i < xv.size(); ++i) {
          int64_t pos = (int64_t(i) / st[dim]) % kShape[dim];
          want[i] = xv[i] + (pos > 0 ? want[i - st[dim]] : 0.0);
        }
        test::expect_values(y, want, want_dt, dt == DType::f64 ? 1e-12 : 1e-5);
      }
    }
  }
}

TEST(Reduction, AllAny) {
  for (DType dt : test::kNumericDTypes) {
    Tensor z = zeros({3, 4}, dt), o = ones({3, 4}, dt);
    EXPECT_FALSE(ops::all(z).item<bool>());
    EXPECT_FALSE(ops::any(z).item<bool>());
    EXPECT_TRUE(ops::all(ops::transpose(o, 0, 1)).item<bool>());
    ops::fill_(ops::select(ops::select(z, 0, 2), 0, 3), 1);
    EXPECT_TRUE(ops::any(z).item<bool>());
    EXPECT_FALSE(ops::all(ops::slice(z, 1, 0, 4, 3)).item<bool>());
    EXPECT_EQ(ops::all(z).dtype(), DType::b8);
    EXPECT_EQ(ops::all(z).shape(), Shape{});
  }
  EXPECT_TRUE(ops::all(zeros({0})).item<bool>());
  EXPECT_FALSE(ops::any(zeros({0})).item<bool>());
  EXPECT_TRUE(ops::all(tensor({NAN})).item<bool>());
}

// ---- softmax / log_softmax and their backward kernels -------------------------------------------------------

TEST(Reduction, SoftmaxForwardBackwardEveryDimLayoutDType) {
  for (DType dt : test::kFloatDTypes) {
    for (Layout l : test::kLayouts) {
      Tensor x = test::make_input(kShape, dt, l, 91, -6, 6);
      Tensor gy = test::make_input(kShape, dt, l, 92);
      std::vector<double> xv = test::doubles(x), gv = test::doubles(gy);
      for (int64_t dim : {0, 1, 2, -1}) {
        SCOPED_TRACE(std::string(dtype_name(dt)) + " " + test::layout_name(l) + " dim " + std::to_string(dim));
        const int64_t d = dim < 0 ? dim + 3 : dim;
        Shape st = contiguous_strides(kShape);
        // reference forward: per element, walk its line along dim
        std::vector<double> want_sm(xv.size()), want_lsm(xv.size());
        for (size_t i = 0; i < xv.size(); ++i) {
          int64_t pos = (int64_t(i) / st[d]) % kShape[d];
          size_t first = i - size_t(pos * st[d]);
          double m = -INFINITY, s = 0;
          for (int64_t r = 0; r < kShape[d]; ++r) m = std::max(m, xv[first + r * st[d]]);
          for (int64_t r = 0; r < kShape[d]; ++r) s += std::exp(xv[first + r * st[d]] - m);
          want_sm[i] = std::exp(xv[i] - m) / s;
          want_lsm[i] = xv[i] - m - std::log(s);
        }
        Tensor y = ops::softmax(x, dim), ly = ops::log_softmax(x, dim);
        ASSERT_EQ(y.dtype(), dt);
        test::expect_values(y, want_sm, dt, dt == DType::f64 ? 1e-14 : 1e-7);
        test::expect_values(ly, want_lsm, dt, dt == DType::f64 ? 1e-12 : 1e-6);
        // backward from our (rounded) outputs, against the formulas in f64
        std::vector<double> yv = test::doubles(y), lyv = test::doubles(ly), want_g(xv.size()), want_lg(xv.size());
        for (size_t i = 0; i < xv.size(); ++i) {
          int64_t pos = (int64_t(i) / st[d]) % kShape[d];
          size_t first = i - size_t(pos * st[d]);
          double dot = 0, gsum = 0;
          for (int64_t r = 0; r < kShape[d]; ++r) {
            size_t j = first + r * st[d];
            dot += gv[j] * yv[j];
            gsum += gv[j];
          }
          want_g[i] = yv[i] * (gv[i] - dot);
          want_lg[i] = gv[i] - std::exp(lyv[i]) * gsum;
        }
        test::expect_values(ops::softmax_backward(y, gy, dim), want_g, dt, dt == DType::f64 ? 1e-13 : 1e-5);
        test::expect_values(ops::log_softmax_backward(ly, gy, dim), want_lg, dt, dt == DType::f64 ? 1e-12 : 1e-5);
      }
    }
  }
}

TEST(Reduction, SoftmaxIsStableAndMatchesTorchOnExtremes) {
  // torch.softmax(torch.tensor([1000., 1001.]), 0) = [0.2689, 0.7311]
  auto v = test::doubles(ops::softmax(tensor({1000, 1001}), 0));
  EXPECT_NEAR(v[0], 0.26894142, 1e-7);
  EXPECT_NEAR(v[1], 0.73105858, 1e-7);
  auto lv = test::doubles(ops::log_softmax(tensor({-1000, 0}), 0));
  EXPECT_NEAR(lv[0], -1000, 1e-4);
  EXPECT_EQ(lv[1], 0);
  // a masked (-inf) entry gets exactly 0; an all -inf row is NaN as in torch
  auto m = test::doubles(ops::softmax(tensor({0, -INFINITY, 0}), 0));
  EXPECT_EQ(m[1], 0);
  EXPECT_NEAR(m[0], 0.5, 1e-7);
  EXPECT_TRUE(std::isnan(ops::softmax(full({2}, -INFINITY), 0).at({0})));
  // rows sum to 1 at a model shape (inner path, D = 2048) and on the outer path
  Tensor x = test::make_input({8, 2048}, DType::f32, Layout::contiguous, 5, -20, 20);
  for (double s : test::doubles(ops::sum(ops::softmax(x, 1), {1}))) EXPECT_NEAR(s, 1, 1e-5);
  for (double s : test::doubles(ops::sum(ops::softmax(x, 0), {0}))) EXPECT_NEAR(s, 1, 1e-5);
}

}  // namespace
