// Elementwise ops against naive f64 references, in every dtype they take and on contiguous,
// permuted, sliced and broadcast inputs; promotion, in-place rules, 16-bit rounding and errors.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>

#include "tensor/cpu/fast_math.hpp"
#include "tests/tensor/numeric_check.hpp"
#include "tests/tensor/op_test_util.hpp"

using namespace cj;
using cj::test::Layout;

namespace {

const Shape kShape = {3, 5, 4};

// The value a dtype stores for an exact integer result (wrap-around for u8/i32, as C and torch).
double wrap_to(DType dt, double v) {
  switch (dt) {
    case DType::u8: return double(uint8_t(int64_t(v)));
    case DType::i32: return double(int32_t(int64_t(v)));
    case DType::b8: return v != 0;
    default: return v;
  }
}

std::string trace(DType dt, Layout l) { return std::string(dtype_name(dt)) + " " + test::layout_name(l); }

// ---- unary ---------------------------------------------------------------------------------------

enum class UnaryKind {
  float_valued,  // ints promote to f32
  same_dtype,    // keeps the input dtype (bool rejected)
  float_only     // rejects integer inputs
};

struct UnaryCase {
  const char* name;
  std::function<Tensor(const Tensor&)> op;
  std::function<double(double)> ref;
  UnaryKind kind;
  double lo = -4, hi = 4;  // input range
  double abs_scale = 0;    // absolute tolerance in units of the result dtype's relative tolerance
};

double gelu_ref(double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }
double gelu_tanh_ref(double x) {
  return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
}

std::vector<UnaryCase> unary_cases() {
  using K = UnaryKind;
  return {
      {"neg", ops::neg, [](double x) { return -x; }, K::same_dtype},
      {"abs", ops::abs, [](double x) { return std::fabs(x); }, K::same_dtype},
      {"sign", ops::sign, [](double x) { return double((0 < x) - (x < 0)); }, K::same_dtype},
      {"square", ops::square, [](double x) { return x * x; }, K::same_dtype},
      {"relu", ops::relu, [](double x) { return x < 0 ? 0.0 : x; }, K::same_dtype},
      {"exp", ops::exp, [](double x) { return std::exp(x); }, K::float_valued},
      {"log", ops::log, [](double x) { return std::log(x); }, K::float_valued, 0.1, 8},
      {"log1p", ops::log1p, [](double x) { return std::log1p(x); }, K::float_valued, 0, 8},
      {"expm1", ops::expm1, [](double x) { return std::expm1(x); }, K::float_valued},
      {"sqrt", ops::sqrt, [](double x) { return std::sqrt(x); }, K::float_valued, 0, 8},
      {"rsqrt", ops::rsqrt, [](double x) { return 1 / std::sqrt(x); }, K::float_valued, 0.1, 8},
      {"reciprocal", ops::reciprocal, [](double x) { return 1 / x; }, K::float_valued, 0.25, 8},
      {"sin", ops::sin, [](double x) { return std::sin(x); }, K::float_valued, -4, 4, 1},
      {"cos", ops::cos, [](double x) { return std::cos(x); }, K::float_valued, -4, 4, 1},
      {"tanh", ops::tanh, [](double x) { return std::tanh(x); }, K::float_valued},
      {"erf", ops::erf, [](double x) { return std::erf(x); }, K::float_valued},
      {"sigmoid", ops::sigmoid, [](double x) { return 1 / (1 + std::exp(-x)); }, K::float_valued},
      {"gelu", [](const Tensor& x) { return ops::gelu(x); }, gelu_ref, K::float_only, -4, 4, 1},
      {"gelu_tanh", [](const Tensor& x) { return ops::gelu(x, ops::GeluApprox::tanh); }, gelu_tanh_ref,
       K::float_only, -4, 4, 1},
  };
}

void PrintTo(const UnaryCase& c, std::ostream* os) { *os << c.name; }

class Unary : public ::testing::TestWithParam<UnaryCase> {};

TEST_P(Unary, MatchesF64ReferenceInEveryDTypeAndLayout) {
  const UnaryCase& c = GetParam();
  for (DType dt : test::kNumericDTypes) {
    bool integral = !is_floating(dt);
    if (integral && c.kind == UnaryKind::float_only) {
      EXPECT_THROW(c.op(test::make_input(kShape, dt, Layout::contiguous, 1)), Error) << dtype_name(dt);
      continue;
    }
    for (Layout l : test::kLayouts) {
      SCOPED_TRACE(trace(dt, l));
      double lo = dt == DType::u8 ? std::max(c.lo, 0.0) : c.lo;
      double hi = integral ? std::max(c.hi, lo + 2) : c.hi;
      Tensor x = test::make_input(kShape, dt, l, 7, lo, hi);
      Tensor y = c.op(x);
      DType want_dt = c.kind == UnaryKind::float_valued && integral ? DType::f32 : dt;
      ASSERT_EQ(y.dtype(), want_dt);
      ASSERT_EQ(y.shape(), kShape);
      EXPECT_TRUE(y.is_contiguous());
      std::vector<double> want = test::doubles(x);
      for (double& v : want) v = wrap_to(want_dt, c.ref(v));
      test::expect_values(y, want, want_dt, c.abs_scale * test::rel_tol(want_dt));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Elementwise, Unary, ::testing::ValuesIn(unary_cases()),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Elementwise, UnaryEdgeValues) {
  Tensor x = tensor({-INFINITY, -0.0f, NAN, INFINITY});
  EXPECT_TRUE(std::isnan(ops::relu(x).at({2})));
  EXPECT_EQ(test::doubles(ops::sigmoid(x))[0], 0.0);
  EXPECT_EQ(test::doubles(ops::sigmoid(x))[3], 1.0);
  EXPECT_EQ(test::doubles(ops::sign(x)), (std::vector<double>{-1, 0, 0, 1}));  // sign(NaN) = 0 like torch
  EXPECT_EQ(test::doubles(ops::gelu(x))[3], INFINITY);
  EXPECT_TRUE(std::signbit(ops::neg(tensor({0.0f})).at({0})));
  // bool: logical_not, sign keep working; neg/abs do not
  Tensor b = from_vector(std::vector<bool>{true, false}, {2});
  EXPECT_EQ(test::doubles(ops::logical_not(b)), (std::vector<double>{0, 1}));
  EXPECT_EQ(ops::square(b).dtype(), DType::i64);
  EXPECT_NE(test::error_message([&] { ops::neg(b); }).find("neg: not supported for bool"), std::string::npos);
}

TEST(Elementwise, LogicalNotEveryDType) {
  for (DType dt : test::kNumericDTypes) {
    Tensor x = test::make_input({7}, dt, Layout::sliced, 3);
    Tensor y = ops::logical_not(x);
    ASSERT_EQ(y.dtype(), DType::b8);
    std::vector<double> want = test::doubles(x);
    for (double& v : want) v = v == 0;
    EXPECT_EQ(test::doubles(y), want) << dtype_name(dt);
  }
}

TEST(Elementwise, ClampPromotesAndPropagatesNaN) {
  Tensor x = tensor({-3, -1, 0.5f, 2, NAN});
  EXPECT_EQ(test::doubles(ops::clamp(x, -1.5, 1.0)).size(), 5u);
  std::vector<double> got = test::doubles(ops::clamp(x, -1.5, 1.0));
  EXPECT_EQ(got[0], -1.5);
  EXPECT_EQ(got[1], -1);
  EXPECT_EQ(got[2], 0.5);
  EXPECT_EQ(got[3], 1);
  EXPECT_TRUE(std::isnan(got[4]));
  EXPECT_EQ(test::doubles(ops::clamp(x, std::nullopt, 0.0))[3], 0);
  EXPECT_EQ(test::doubles(ops::clamp(tensor({5}), 3.0, 1.0))[0], 1);  // min > max gives max
  // integer tensor: an integer bound keeps i32, a float bound promotes to f32 (torch)
  Tensor xi = ops::to(tensor({1, 5}), DType::i32);
  EXPECT_EQ(ops::clamp(xi, 2, std::nullopt).dtype(), DType::i32);
  Tensor f = ops::clamp(xi, 2.5, std::nullopt);
  EXPECT_EQ(f.dtype(), DType::f32);
  EXPECT_EQ(test::doubles(f), (std::vector<double>{2.5, 5}));
  // in place on a permuted view
  for (DType dt : test::kNumericDTypes) {
    Tensor p = test::make_input(kShape, dt, Layout::permuted, 5);
    std::vector<double> want = test::doubles(p);
    for (double& v : want) v = std::min(std::max(v, 1.0), 3.0);
    ops::clamp_(p, 1, 3);
    test::expect_values(p, want, dt);
  }
  EXPECT_NE(test::error_message([&] { ops::clamp_(xi, 0.5, std::nullopt); }).find("clamp_: result type float32"),
            std::string::npos);
}

// ---- binary -----------------------------------------------------------------------------------------

enum class BinaryKind { keep, to_float };

struct BinaryCase {
  const char* name;
  std::function<Tensor(const Tensor&, const Tensor&)> op;
  std::function<double(double, double)> ref;
  BinaryKind kind;
  double a_lo = -4, a_hi = 4, b_lo = -4, b_hi = 4;
  bool bool_ok = true;
};

double int_pow_ref(double b, double e) {
  if (e < 0) return b == 1 ? 1 : b == -1 ? (int64_t(e) % 2 ? -1 : 1) : 0;
  return std::pow(b, e);
}

std::vector<BinaryCase> binary_cases() {
  using K = BinaryKind;
  return {
      {"add", [](const Tensor& a, const Tensor& b) { return ops::add(a, b); },
       [](double a, double b) { return a + b; }, K::keep},
      {"add_alpha", [](const Tensor& a, const Tensor& b) { return ops::add(a, b, 3); },
       [](double a, double b) { return a + 3 * b; }, K::keep},
      {"sub", [](const Tensor& a, const Tensor& b) { return ops::sub(a, b); },
       [](double a, double b) { return a - b; }, K::keep, -4, 4, -4, 4, false},
      {"sub_alpha", [](const Tensor& a, const Tensor& b) { return ops::sub(a, b, 2); },
       [](double a, double b) { return a - 2 * b; }, K::keep, -4, 4, -4, 4, false},
      {"mul", [](const Tensor& a, const Tensor& b) { return ops::mul(a, b); },
       [](double a, double b) { return a * b; }, K::keep},
      {"div", [](const Tensor& a, const Tensor& b) { return ops::div(a, b); },
       [](double a, double b) { return a / b; }, K::to_float, -4, 4, 1, 4},
      {"pow", [](const Tensor& a, const Tensor& b) { return ops::pow(a, b); },
       [](double a, double b) { return std::pow(a, b); }, K::keep, 0.5, 3, -2, 3},
      {"maximum", [](const Tensor& a, const Tensor& b) { return ops::maximum(a, b); },
       [](double a, double b) { return std::max(a, b); }, K::keep},
      {"minimum", [](const Tensor& a, const Tensor& b) { return ops::minimum(a, b); },
       [](double a, double b) { return std::min(a, b); }, K::keep},
  };
}

void PrintTo(const BinaryCase& c, std::ostream* os) { *os << c.name; }

class Binary : public ::testing::TestWithParam<BinaryCase> {};

// b is broadcast against a in three ways: same shape in a strided layout, an inner-dim broadcast
// (5, 1) and a 0-d tensor.
TEST_P(Binary, MatchesF64ReferenceWithBroadcasting) {
  const BinaryCase& c = GetParam();
  std::vector<DType> dtypes = test::kNumericDTypes;
  if (c.bool_ok) dtypes.push_back(DType::b8);
  for (DType dt : dtypes) {
    bool integral = !is_floating(dt);
    double a_lo = dt == DType::u8 ? std::max(c.a_lo, 0.0) : c.a_lo;
    double b_lo = dt == DType::u8 ? std::max(c.b_lo, 0.0) : c.b_lo;
    if (integral && dt != DType::u8 && c.a_lo > 0) a_lo = -2;  // pow: signed integer bases may be negative
    for (Layout l : test::kLayouts) {
      Tensor a = test::make_input(kShape, dt, l, 11, a_lo, c.a_hi);
      const Tensor bs[] = {test::make_input(kShape, dt, l == Layout::contiguous ? Layout::permuted : Layout::sliced,
                                            12, b_lo, c.b_hi),
                           test::make_input({5, 1}, dt, Layout::contiguous, 13, b_lo, c.b_hi),
                           ops::reshape(test::make_input({1}, dt, Layout::contiguous, 14, b_lo, c.b_hi), {})};
      for (const Tensor& b : bs) {
        SCOPED_TRACE(trace(dt, l) + " b" + shape_str(b.shape()));
        Tensor y = c.op(a, b);
        DType want_dt = c.kind == BinaryKind::to_float && integral ? DType::f32 : dt;
        ASSERT_EQ(y.dtype(), want_dt);
        ASSERT_EQ(y.shape(), kShape);
        std::vector<double> av = test::doubles(a), bv = test::doubles(ops::expand(b, kShape)), want(av.size());
        for (size_t i = 0; i < av.size(); ++i) {
          double r = std::string(c.name) == "pow" && integral ? int_pow_ref(av[i], bv[i]) : c.ref(av[i], bv[i]);
          want[i] = wrap_to(want_dt, r);
        }
        test::expect_values(y, want, want_dt, 8 * test::rel_tol(want_dt));
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Elementwise, Binary, ::testing::ValuesIn(binary_cases()),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Elementwise, MaximumMinimumPropagateNaN) {
  Tensor a = tensor({1, NAN, 3}), b = tensor({NAN, 2, 1});
  for (const Tensor& y : {ops::maximum(a, b), ops::minimum(a, b)}) {
    auto v = test::doubles(y);
    EXPECT_TRUE(std::isnan(v[0]) && std::isnan(v[1]));
  }
  EXPECT_EQ(test::doubles(ops::maximum(a, b))[2], 3);
  EXPECT_EQ(test::doubles(ops::minimum(a, b))[2], 1);
}

TEST(Elementwise, ScalarOpsFollowTorchPromotion) {
  for (DType dt : test::kNumericDTypes) {
    SCOPED_TRACE(dtype_name(dt));
    Tensor x = test::make_input(kShape, dt, Layout::sliced, 21, dt == DType::u8 ? 1 : -4, 5);
    std::vector<double> xv = test::doubles(x);
    DType fdt = is_floating(dt) ? dt : DType::f32;
    auto check = [&](const Tensor& y, DType want_dt, const std::function<double(double)>& ref) {
      ASSERT_EQ(y.dtype(), want_dt);
      std::vector<double> want(xv.size());
      for (size_t i = 0; i < xv.size(); ++i) want[i] = wrap_to(want_dt, ref(xv[i]));
      test::expect_values(y, want, want_dt, 8 * test::rel_tol(want_dt));
    };
    check(ops::add(x, 2), dt, [](double v) { return v + 2; });
    check(ops::add(x, 2.5), fdt, [](double v) { return v + 2.5; });
    check(ops::sub(x, 1), dt, [](double v) { return v - 1; });
    check(ops::rsub(x, 1.5), fdt, [](double v) { return 1.5 - v; });
    check(ops::mul(x, 3), dt, [](double v) { return v * 3; });
    check(ops::mul(x, -0.5), fdt, [](double v) { return v * -0.5; });
    check(ops::div(x, 4), fdt, [](double v) { return v / 4; });
    check(ops::pow(x, 2), dt, [](double v) { return v * v; });
    check(ops::pow(x, 3), dt, [](double v) { return v * v * v; });
    if (is_floating(dt)) {
      Tensor p = ops::abs(x);
      xv = test::doubles(p);
      for (double e : {0.5, -0.5, -1.0, -2.0, 1.7}) {
        Tensor y = ops::pow(p, e);
        ASSERT_EQ(y.dtype(), dt);
        std::vector<double> want(xv.size());
        for (size_t i = 0; i < xv.size(); ++i) want[i] = std::pow(xv[i], e);
        test::expect_values(y, want, dt);
      }
    }
  }
  EXPECT_NE(test::error_message([] { ops::pow(arange(3), -1); }).find("negative integer powers"), std::string::npos);
  EXPECT_EQ(ops::add(from_vector(std::vector<bool>{true}, {1}), 5).dtype(), DType::i64);
}

TEST(Elementwise, ResultTypeMatchesTorch) {
  // Rows: a; columns: b, in the order f32 f64 bf16 f16 i32 i64 u8 bool; from torch.result_type.
  const DType order[] = {DType::f32, DType::f64, DType::bf16, DType::f16, DType::i32, DType::i64, DType::u8, DType::b8};
  const char* table[8][8] = {
      {"f32", "f64", "f32", "f32", "f32", "f32", "f32", "f32"},
      {"f64", "f64", "f64", "f64", "f64", "f64", "f64", "f64"},
      {"f32", "f64", "bf16", "f32", "bf16", "bf16", "bf16", "bf16"},
      {"f32", "f64", "f32", "f16", "f16", "f16", "f16", "f16"},
      {"f32", "f64", "bf16", "f16", "i32", "i64", "i32", "i32"},
      {"f32", "f64", "bf16", "f16", "i64", "i64", "i64", "i64"},
      {"f32", "f64", "bf16", "f16", "i32", "i64", "u8", "u8"},
      {"f32", "f64", "bf16", "f16", "i32", "i64", "u8", "bool"},
  };
  // Scalars True, 2, 2.5 against each tensor dtype.
  const char* scalar_table[8][3] = {{"f32", "f32", "f32"},  {"f64", "f64", "f64"}, {"bf16", "bf16", "bf16"},
                                    {"f16", "f16", "f16"},  {"i32", "i32", "f32"}, {"i64", "i64", "f32"},
                                    {"u8", "u8", "f32"},    {"bool", "i64", "f32"}};
  for (int i = 0; i < 8; ++i) {
    for (int j = 0; j < 8; ++j)
      EXPECT_EQ(ops::result_type(order[i], order[j]), dtype_from_name(table[i][j]))
          << dtype_name(order[i]) << " + " << dtype_name(order[j]);
    EXPECT_EQ(ops::result_type(order[i], Scalar(true)), dtype_from_name(scalar_table[i][0]));
    EXPECT_EQ(ops::result_type(order[i], Scalar(2)), dtype_from_name(scalar_table[i][1]));
    EXPECT_EQ(ops::result_type(order[i], Scalar(2.5)), dtype_from_name(scalar_table[i][2]));
  }
  // ... and the ops use it: u8 + i32 -> i32, i32 + f16 -> f16, float ops on ints -> f32
  Tensor u = ops::to(tensor({200, 100}), DType::u8), i = ops::to(tensor({100, -300}), DType::i32);
  Tensor s = ops::add(u, i);
  EXPECT_EQ(s.dtype(), DType::i32);
  EXPECT_EQ(test::doubles(s), (std::vector<double>{300, -200}));
  EXPECT_EQ(ops::mul(i, ops::to(tensor({0.5f}), DType::f16)).dtype(), DType::f16);
  EXPECT_EQ(ops::div(i, i).dtype(), DType::f32);
  EXPECT_EQ(ops::exp(u).dtype(), DType::f32);
}

// ---- comparisons, logic, where -------------------------------------------------------------------

TEST(Elementwise, ComparisonsInEveryDTypeAndLayout) {
  using Cmp = std::function<Tensor(const Tensor&, const Tensor&)>;
  using Ref = std::function<bool(double, double)>;
  const std::vector<std::tuple<const char*, Cmp, Ref>> cases = {
      {"eq", [](const Tensor& a, const Tensor& b) { return ops::eq(a, b); }, [](double a, double b) { return a == b; }},
      {"ne", [](const Tensor& a, const Tensor& b) { return ops::ne(a, b); }, [](double a, double b) { return a != b; }},
      {"lt", [](const Tensor& a, const Tensor& b) { return ops::lt(a, b); }, [](double a, double b) { return a < b; }},
      {"le", [](const Tensor& a, const Tensor& b) { return ops::le(a, b); }, [](double a, double b) { return a <= b; }},
      {"gt", [](const Tensor& a, const Tensor& b) { return ops::gt(a, b); }, [](double a, double b) { return a > b; }},
      {"ge", [](const Tensor& a, const Tensor& b) { return ops::ge(a, b); }, [](double a, double b) { return a >= b; }},
      {"and", ops::logical_and, [](double a, double b) { return a != 0 && b != 0; }},
      {"or", ops::logical_or, [](double a, double b) { return a != 0 || b != 0; }},
      {"xor", ops::logical_xor, [](double a, double b) { return (a != 0) != (b != 0); }},
  };
  std::vector<DType> dtypes = test::kNumericDTypes;
  dtypes.push_back(DType::b8);
  for (auto& [name, op, ref] : cases) {
    for (DType dt : dtypes) {
      for (Layout l : test::kLayouts) {
        SCOPED_TRACE(std::string(name) + " " + trace(dt, l));
        // small integers so that equal values occur
        Tensor a = test::make_input(kShape, dt, l, 31, 0, 3);
        Tensor b = test::make_input({5, 1}, dt, Layout::sliced, 32, 0, 3);
        Tensor y = op(a, b);
        ASSERT_EQ(y.dtype(), DType::b8);
        std::vector<double> av = test::doubles(a), bv = test::doubles(ops::expand(b, kShape)), want(av.size());
        for (size_t i = 0; i < av.size(); ++i) want[i] = ref(av[i], bv[i]);
        EXPECT_EQ(test::doubles(y), want);
      }
    }
  }
  // mixed dtypes compare in the promoted type; NaN compares unequal to everything
  Tensor i = ops::to(tensor({2, 3}), DType::i32);
  EXPECT_EQ(test::doubles(ops::lt(i, 2.5)), (std::vector<double>{1, 0}));
  EXPECT_EQ(test::doubles(ops::eq(i, 2)), (std::vector<double>{1, 0}));
  EXPECT_EQ(test::doubles(ops::ge(i, tensor({2.5f, 2.5f}))), (std::vector<double>{0, 1}));
  Tensor n = tensor({NAN});
  EXPECT_EQ(test::doubles(ops::eq(n, n))[0], 0);
  EXPECT_EQ(test::doubles(ops::ne(n, NAN))[0], 1);
  EXPECT_EQ(test::doubles(ops::logical_and(n, n))[0], 1);  // NaN is truthy
}

TEST(Elementwise, WhereBroadcastsAllThreeAndPromotes) {
  Tensor cond = from_vector(std::vector<bool>{true, false, true}, {3, 1});
  Tensor a = ops::to(tensor({1, 2}), DType::i64);
  Tensor b = ops::expand(tensor({0.5f}), {1, 2});
  Tensor y = ops::where(cond, a, b);
  EXPECT_EQ(y.dtype(), DType::f32);
  EXPECT_EQ(y.shape(), (Shape{3, 2}));
  EXPECT_EQ(test::doubles(y), (std::vector<double>{1, 2, 0.5, 0.5, 1, 2}));
  for (DType dt : test::kNumericDTypes) {
    Tensor c = ops::gt(test::make_input(kShape, DType::f32, Layout::permuted, 41), 0);
    Tensor x = test::make_input(kShape, dt, Layout::sliced, 42), z = test::make_input({4}, dt, Layout::contiguous, 43);
    std::vector<double> cv = test::doubles(c), xv = test::doubles(x), zv = test::doubles(ops::expand(z, kShape)),
                        want(cv.size());
    for (size_t i = 0; i < cv.size(); ++i) want[i] = cv[i] != 0 ? xv[i] : zv[i];
    EXPECT_EQ(test::doubles(ops::where(c, x, z)), want) << dtype_name(dt);
  }
  EXPECT_NE(test::error_message([&] { ops::where(a, a, a); }).find("where: condition must be a bool tensor"),
            std::string::npos);
}

// ---- in place ------------------------------------------------------------------------------------------

TEST(Elementwise, InPlaceOpsOnViewsMatchOutOfPlace) {
  for (DType dt : test::kFloatDTypes) {
    for (Layout l : {Layout::contiguous, Layout::permuted, Layout::sliced}) {
      SCOPED_TRACE(trace(dt, l));
      Tensor b = test::make_input({5, 1}, dt, Layout::contiguous, 52, 1, 3);
      using InPlace = std::function<void(const Tensor&)>;
      using OutOfPlace = std::function<Tensor(const Tensor&)>;
      auto run = [&](const InPlace& inplace, const OutOfPlace& ref) {
        Tensor x = test::make_input(kShape, dt, l, 51);
        Tensor want = ref(x);
        uint64_t v0 = x.version();
        inplace(x);
        EXPECT_GT(x.version(), v0);
        EXPECT_EQ(test::doubles(x), test::doubles(want));
      };
      run([&](const Tensor& x) { ops::add_(x, b, 2); }, [&](const Tensor& x) { return ops::add(x, b, 2); });
      run([&](const Tensor& x) { ops::sub_(x, b); }, [&](const Tensor& x) { return ops::sub(x, b); });
      run([&](const Tensor& x) { ops::mul_(x, b); }, [&](const Tensor& x) { return ops::mul(x, b); });
      run([&](const Tensor& x) { ops::div_(x, b); }, [&](const Tensor& x) { return ops::div(x, b); });
      run([&](const Tensor& x) { ops::add_(x, 1.5); }, [&](const Tensor& x) { return ops::add(x, 1.5); });
      run([&](const Tensor& x) { ops::mul_(x, -2); }, [&](const Tensor& x) { return ops::mul(x, -2); });
    }
  }
}

TEST(Elementwise, InPlaceCastsRejectsAndReadsOldValues) {
  // a wider result is cast into a 16-bit destination (bf16 params += f32 update)
  Tensor w = ops::to(tensor({1, 2}), DType::bf16);
  ops::add_(w, tensor({0.5f, 0.25f}));
  EXPECT_EQ(w.dtype(), DType::bf16);
  EXPECT_EQ(test::doubles(w), (std::vector<double>{1.5, 2.25}));
  // i32 += i64 is allowed (same category); i32 += f32 is not
  Tensor i = ops::to(tensor({1, 2}), DType::i32);
  ops::add_(i, arange(2));
  EXPECT_EQ(test::doubles(i), (std::vector<double>{1, 3}));
  std::string msg = test::error_message([&] { ops::add_(i, tensor({1.5f, 1})); });
  EXPECT_NE(msg.find("add_: result type float32 can't be cast to the destination type int32"), std::string::npos)
      << msg;
  msg = test::error_message([&] { ops::mul_(i, 0.5); });
  EXPECT_NE(msg.find("mul_: result type float32"), std::string::npos) << msg;
  // the destination must already have the broadcast shape, and no overlapping elements
  msg = test::error_message([] { ops::add_(zeros({3}), zeros({2, 3})); });
  EXPECT_NE(msg.find("add_: output with shape [3] doesn't match the broadcast shape [2, 3]"), std::string::npos) << msg;
  msg = test::error_message([] { ops::add_(ops::expand(zeros({1}), {3}), 1); });
  EXPECT_NE(msg.find("share memory"), std::string::npos) << msg;
  // x[1:] += x[:-1] reads the values from before the op
  Tensor x = tensor({1, 2, 3, 4});
  ops::add_(ops::slice(x, 0, 1, 4), ops::slice(x, 0, 0, 3));
  EXPECT_EQ(test::doubles(x), (std::vector<double>{1, 3, 5, 7}));
  // the same view on both sides is fine
  ops::mul_(x, x);
  EXPECT_EQ(test::doubles(x), (std::vector<double>{1, 9, 25, 49}));
}

// ---- 16-bit rounding through the ops -------------------------------------------------------------------

TEST(Elementwise, SixteenBitResultsRoundToNearestEven) {
  auto bf = [](std::initializer_list<float> v) { return ops::to(tensor(v), DType::bf16); };
  auto hf = [](std::initializer_list<float> v) { return ops::to(tensor(v), DType::f16); };
  // bf16 has 8 significand bits: 1 + 2^-8 is a tie between 1 and 1 + 2^-7 (even: 1); 1 + 3 * 2^-8
  // ties between 1 + 2^-7 (odd) and 1 + 2^-6 (even).
  EXPECT_EQ(test::doubles(ops::add(bf({1, 1 + 0x1p-7f}), bf({0x1p-8f, 0x1p-8f}))),
            (std::vector<double>{1, 1 + 0x1p-6}));
  // f16 has 11: 2048 + 1 ties to 2048, 2050 + 1 to 2052
  EXPECT_EQ(test::doubles(ops::add(hf({2048, 2050}), hf({1, 1}))), (std::vector<double>{2048, 2052}));
  // overflow to inf: f16 max is 65504
  EXPECT_EQ(test::doubles(ops::add(hf({60000, -60000}), hf({10000, -10000}))),
            (std::vector<double>{INFINITY, -INFINITY}));
  EXPECT_EQ(test::doubles(ops::mul(bf({3e38f}), bf({2})))[0], INFINITY);
  // subnormals: f16's smallest is 2^-24; half of it ties to 0 (even), 1.5x ties up to 2^-23
  EXPECT_EQ(test::doubles(ops::mul(hf({0x1p-24f, 0x1p-24f, 0x1p-20f}), 0.5)),
            (std::vector<double>{0, 0, 0x1p-21}));
  EXPECT_EQ(test::doubles(ops::mul(hf({0x1p-24f}), 1.5))[0], 0x1p-23);
  EXPECT_EQ(test::doubles(ops::mul(bf({0x1p-130f}), 0.5))[0], 0x1p-131);  // bf16 keeps float's subnormals
  // NaN stays NaN (0 * inf, and NaN inputs)
  EXPECT_TRUE(std::isnan(ops::mul(bf({0}), bf({INFINITY})).at({0})));
  EXPECT_TRUE(std::isnan(ops::add(hf({NAN}), 1).at({0})));
  EXPECT_TRUE(std::isnan(ops::exp(bf({NAN})).at({0})));
}

// ---- errors name the op and the shapes ---------------------------------------------------------------

TEST(Elementwise, ErrorsNameOpShapesAndDTypes) {
  std::string msg = test::error_message([] { ops::add(zeros({2, 3}), zeros({4})); });
  EXPECT_NE(msg.find("add: shapes [2, 3] and [4] are not broadcastable"), std::string::npos) << msg;
  msg = test::error_message([] { ops::lt(zeros({2}), zeros({3})); });
  EXPECT_NE(msg.find("lt: shapes [2] and [3]"), std::string::npos) << msg;
  msg = test::error_message([] { ops::gelu(arange(3)); });
  EXPECT_NE(msg.find("gelu: expected a floating dtype"), std::string::npos) << msg;
  EXPECT_NE(msg.find("int64"), std::string::npos) << msg;
  Tensor b = from_vector(std::vector<bool>{true}, {1});
  msg = test::error_message([&] { ops::sub(b, b); });
  EXPECT_NE(msg.find("sub: not supported for bool"), std::string::npos) << msg;
  msg = test::error_message([] { ops::add(arange(2), arange(2), 0.5); });
  EXPECT_NE(msg.find("add: for integral inputs (int64), alpha must not be a floating point number"),
            std::string::npos)
      << msg;
  msg = test::error_message([] { ops::mul(Tensor(), zeros({1})); });
  EXPECT_NE(msg.find("mul: got an undefined tensor"), std::string::npos) << msg;
}

// ---- test helpers --------------------------------------------------------------------------------

TEST(Elementwise, AllcloseAndMaxRelError) {
  Tensor a = tensor({1, 2, INFINITY, NAN}), b = tensor({1, 2 + 1e-6f, INFINITY, NAN});
  EXPECT_FALSE(ops::allclose(a, b));  // NaN != NaN by default
  EXPECT_TRUE(ops::allclose(a, b, 1e-5, 1e-8, true));
  EXPECT_FALSE(ops::allclose(tensor({1}), tensor({1.001f})));
  EXPECT_TRUE(ops::allclose(tensor({1}), tensor({1.001f}), 1e-2));
  EXPECT_FALSE(ops::allclose(tensor({INFINITY}), tensor({-INFINITY})));
  EXPECT_TRUE(ops::allclose(tensor({1, 1}), tensor({1})));  // broadcasts like torch
  EXPECT_DOUBLE_EQ(ops::max_rel_error(tensor({1, 2, -4}), tensor({1, 2.5f, -4})), 0.5 / 4);
  EXPECT_TRUE(std::isnan(ops::max_rel_error(tensor({NAN}), tensor({1}))));
  EXPECT_THROW(ops::max_rel_error(zeros({2}), zeros({3})), Error);
}

}  // namespace

// ---- the vectorisable exp used by softmax, sigmoid and tanh-GELU ---------------------------------

namespace {

TEST(Elementwise, FastExpIsWithinTwoUlpOverTheFloatRange) {
  double worst = 0;
  for (double x = -103.0; x <= 88.7; x += 0.0037) {
    const float xf = float(x);
    const double want = std::exp(double(xf));
    const float got = cpu::exp_f32(xf);
    // ulp of the result (subnormal results: the fixed 2^-149 spacing)
    const double ulp = want < 0x1p-126 ? 0x1p-149 : std::ldexp(1.0, std::ilogb(want) - 23);
    worst = std::max(worst, std::fabs(double(got) - want) / ulp);
  }
  EXPECT_LE(worst, 2.0);
  EXPECT_EQ(cpu::exp_f32(0), 1.0f);
  EXPECT_EQ(cpu::exp_f32(-INFINITY), 0.0f);
  EXPECT_EQ(cpu::exp_f32(INFINITY), INFINITY);
  EXPECT_EQ(cpu::exp_f32(89.0f), INFINITY);
  EXPECT_TRUE(std::isnan(cpu::exp_f32(NAN)));
}

// The vectorisable normal CDF behind the exact GELU, against std::erf over a dense sweep: absolute
// error (what matters where Φ is near 1) and error in ulp of Φ itself (what matters in the negative
// tail, where gelu(x) = x Φ(x) is tiny but must keep its relative accuracy).
TEST(Elementwise, NormalCdfForExactGeluMatchesErfDensely) {
  double worst_abs = 0, worst_ulp = 0, worst_gelu_ulp = 0, worst_pdf_rel = 0;
  for (double x = -14.0; x <= 14.0; x += 1.37e-5) {
    const float xf = float(x);
    const double xd = xf;
    const double want = 0.5 * std::erfc(-xd / std::sqrt(2.0));
    const cpu::NormalCdfPdf got = cpu::normal_cdf_pdf_f32(xf);
    const double ulp = std::ldexp(1.0, std::ilogb(want) - 23);  // want >= 1e-44 only in the normal range
    worst_abs = std::max(worst_abs, std::fabs(got.cdf - want));
    if (want > 0x1p-126) worst_ulp = std::max(worst_ulp, std::fabs(got.cdf - want) / ulp);
    const double gelu_want = xd * want;
    if (std::fabs(gelu_want) > 0x1p-126)
      worst_gelu_ulp = std::max(worst_gelu_ulp, std::fabs(cpu::gelu_erf(xf) - gelu_want) /
                                                    std::ldexp(1.0, std::ilogb(std::fabs(gelu_want)) - 23));
    const double pdf_want = std::exp(-0.5 * xd * xd) / std::sqrt(2 * M_PI);
    if (pdf_want > 0x1p-126) worst_pdf_rel = std::max(worst_pdf_rel, std::fabs(got.pdf - pdf_want) / pdf_want);
  }
  std::printf("normal_cdf_pdf_f32: max |err| %.3g, max %.2f ulp (Phi), gelu max %.2f ulp, pdf max rel %.3g\n",
              worst_abs, worst_ulp, worst_gelu_ulp, worst_pdf_rel);
  // measured: 9.2e-8 absolute (1.5 ulp at 1), 5.7 ulp of Phi, 9.7 ulp of gelu (x Phi(x) rounds once
  // more, and a value at the bottom of its binade counts twice the ulps), pdf 2.4e-7 relative
  EXPECT_LE(worst_abs, 1e-7);
  EXPECT_LE(worst_ulp, 7.0);
  EXPECT_LE(worst_gelu_ulp, 12.0);
  EXPECT_LE(worst_pdf_rel, 5e-7);
  EXPECT_EQ(cpu::normal_cdf_pdf_f32(0.0f).cdf, 0.5f);
  EXPECT_EQ(cpu::normal_cdf_pdf_f32(INFINITY).cdf, 1.0f);
  EXPECT_EQ(cpu::normal_cdf_pdf_f32(-INFINITY).cdf, 0.0f);
  EXPECT_EQ(cpu::normal_cdf_pdf_f32(-INFINITY).pdf, 0.0f);
  EXPECT_TRUE(std::isnan(cpu::normal_cdf_pdf_f32(NAN).cdf));
  EXPECT_EQ(cpu::gelu_erf(INFINITY), INFINITY);
}

}  // namespace

// A large contiguous operand against a repeated row (a bias) takes a threaded row path; it must give
// the same bits as the general strided loop (reached through a strided copy of the large operand)
// and match the f64 reference, with the row on either side, a row length that is no multiple of a
// vector width, a leading-1 row shape, 3-d broadcasting, a 16-bit dtype and a strided row (which
// falls back to the general loop).
TEST(Elementwise, RowBroadcastOfLargeTensorsMatchesGeneralLoop) {
  struct Case {
    Shape big, row;
    Layout row_layout;
  };
  const Case cases[] = {{{520, 257}, {257}, Layout::contiguous},
                        {{520, 257}, {1, 257}, Layout::contiguous},
                        {{4, 130, 257}, {130, 257}, Layout::contiguous},
                        {{520, 257}, {257}, Layout::sliced}};
  for (DType dt : {DType::f32, DType::bf16, DType::f64}) {
    for (const Case& c : cases) {
      for (bool row_first : {false, true}) {
        SCOPED_TRACE(std::string(dtype_name(dt)) + " " + shape_str(c.big) + " with row " + shape_str(c.row) + " " +
                     test::layout_name(c.row_layout) + (row_first ? " on the left" : " on the right"));
        Tensor big = test::make_input(c.big, dt, Layout::contiguous, 21, -3, 3);
        Tensor row = test::make_input(c.row, dt, c.row_layout, 22, 0.5, 2);
        Tensor strided_big = test::noncontiguous_copy(big);
        auto sub = [&](const Tensor& b) { return row_first ? ops::sub(row, b) : ops::sub(b, row); };
        Tensor y = sub(big), general = sub(strided_big);
        EXPECT_EQ(test::doubles(y), test::doubles(general));
        std::vector<double> bv = test::doubles(big), rv = test::doubles(ops::expand(row, c.big)), want(bv.size());
        for (size_t i = 0; i < bv.size(); ++i) want[i] = row_first ? rv[i] - bv[i] : bv[i] - rv[i];
        test::expect_values(y, want, dt, 8 * test::rel_tol(dt));
        Tensor q = row_first ? ops::div(row, big) : ops::div(big, row);
        EXPECT_EQ(test::doubles(q), test::doubles(row_first ? ops::div(row, strided_big) : ops::div(strided_big, row)));
      }
    }
  }
}
