// gradcheck of every differentiable elementwise op, on contiguous, permuted, sliced and broadcast
// inputs. Inputs stay away from the points where an op is not differentiable (0 for abs/relu,
// the clamp bounds) and inside each op's domain.
#include <gtest/gtest.h>

#include <cmath>

#include "tests/autograd/autograd_test_util.hpp"

using namespace cj;
using cj::test::leaf;
using cj::test::random_shape;

namespace {

struct UnaryCase {
  const char* name;
  Tensor (*op)(const Tensor&);
  double lo, hi;  // input range
};

Tensor gelu_exact(const Tensor& x) { return gelu(x, GeluApprox::none); }
Tensor gelu_tanh(const Tensor& x) { return gelu(x, GeluApprox::tanh); }
Tensor clamp_both(const Tensor& x) { return clamp(x, -0.5, 0.5); }
Tensor clamp_min(const Tensor& x) { return clamp(x, 0.2, std::nullopt); }

const UnaryCase kUnary[] = {
    {"neg", neg, -1, 1},
    {"abs", abs, -1, 1},
    {"exp", exp, -1, 1},
    {"log", log, 0.5, 2},
    {"log1p", log1p, -0.5, 2},
    {"expm1", expm1, -1, 1},
    {"sqrt", sqrt, 0.5, 2},
    {"rsqrt", rsqrt, 0.5, 2},
    {"reciprocal", reciprocal, 0.5, 2},
    {"square", square, -1, 1},
    {"sin", sin, -2, 2},
    {"cos", cos, -2, 2},
    {"tanh", tanh, -2, 2},
    {"erf", erf, -2, 2},
    {"sigmoid", sigmoid, -3, 3},
    {"relu", relu, -1, 1},
    {"gelu", gelu_exact, -3, 3},
    {"gelu_tanh", gelu_tanh, -3, 3},
    {"clamp", clamp_both, -1, 1},
    {"clamp_min", clamp_min, -1, 1},
};

}  // namespace

TEST(GradElementwise, UnaryOpsOnContiguousAndStridedInputs) {
  std::mt19937 rng(10);
  uint64_t seed = 1000;
  for (const UnaryCase& c : kUnary) {
    SCOPED_TRACE(c.name);
    auto op = c.op;
    Tensor x = leaf(random_shape(rng, 2, 5), ++seed, c.lo, c.hi);
    EXPECT_GRADCHECK([op](const std::vector<Tensor>& in) { return op(in[0]); }, {x});
    Tensor big = leaf({4, 6, 3}, ++seed, c.lo, c.hi);
    EXPECT_GRADCHECK(
        [op](const std::vector<Tensor>& in) {
          return op(slice(permute(in[0], {2, 0, 1}), 2, 1, 6, 2));
        },
        {big});
  }
}

TEST(GradElementwise, SignHasAZeroGradient) {
  Tensor x = leaf({4}, 1100);
  Tensor y = sign(x);
  ASSERT_TRUE(y.requires_grad());
  backward(sum(y * 3.0));
  EXPECT_EQ(to_vector<double>(x.grad()), (std::vector<double>(4, 0.0)));
}

TEST(GradElementwise, BinaryOpsWithBroadcasting) {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 2; ++trial) {
    Shape s = random_shape(rng, 3, 3);
    Tensor a = leaf({s[0], 1, s[2]}, 1200 + trial, 0.5, 2);  // positive: a valid base for pow
    Tensor b = leaf({s[1], s[2]}, 1210 + trial, 0.5, 1.5);   // away from 0 for div
    auto check = [&](const char* name, test::Fn fn) {
      SCOPED_TRACE(name);
      EXPECT_GRADCHECK(fn, {a, b});
    };
    check("add", [](const std::vector<Tensor>& in) { return add(in[0], in[1], 2.5); });
    check("sub", [](const std::vector<Tensor>& in) { return sub(in[0], in[1], 0.5); });
    check("mul", [](const std::vector<Tensor>& in) { return in[0] * in[1]; });
    check("div", [](const std::vector<Tensor>& in) { return in[0] / in[1]; });
    check("pow", [](const std::vector<Tensor>& in) { return pow(in[0], in[1]); });
    check("maximum", [](const std::vector<Tensor>& in) { return maximum(in[0], in[1]); });
    check("minimum", [](const std::vector<Tensor>& in) { return minimum(in[0], in[1]); });
    check("operators", [](const std::vector<Tensor>& in) { return (in[0] + in[1]) * (in[0] - in[1]) / in[1]; });
  }
}

TEST(GradElementwise, BinaryOpsOnPermutedOperands) {
  Tensor a = leaf({3, 4}, 1300), b = leaf({4, 3}, 1301, 0.5, 1.5);
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return in[0] * transpose(in[1], 0, 1); }, {a, b});
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return transpose(in[0], 0, 1) / in[1]; }, {a, b});
}

TEST(GradElementwise, OnlyOneOperandRequiringGrad) {
  Tensor a = leaf({3}, 1400);
  Tensor b = cj::test::seeded_uniform({2, 3}, 1401, 0.5, 1.5, DType::f64);  // constant
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return in[0] * in[1] + in[1] / in[0]; }, {a, b});
}

TEST(GradElementwise, ScalarOperandsInBothOrders) {
  Tensor x = leaf({2, 3}, 1500, 0.5, 2);
  EXPECT_GRADCHECK(
      [](const std::vector<Tensor>& in) {
        const Tensor& x = in[0];
        return (x + 2.0) * (x - 1) * (3.0 - x) * (2 * x) / 4.0 + 1.0 / x + (-x) + rsub(x, 0.5);
      },
      {x});
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return pow(in[0], 2.5) + pow(in[0], 3) + pow(in[0], 0); }, {x});
}

TEST(GradElementwise, PowOfZeroBaseHasAFiniteExponentGradient) {
  Tensor a = ops::to(tensor({0.0f, 2.0f}), DType::f64);
  Tensor b = leaf({2}, 1600, 1.5, 2.5);
  backward(sum(pow(a, b)));
  std::vector<double> g = to_vector<double>(b.grad());
  EXPECT_EQ(g[0], 0.0);  // d/db 0^b = 0 for b > 0 (log 0 is masked out)
  EXPECT_NEAR(g[1], std::pow(2.0, to_vector<double>(b)[1]) * std::log(2.0), 1e-12);
}

TEST(GradElementwise, WhereRoutesTheGradient) {
  Tensor a = leaf({3, 4}, 1700), b = leaf({4}, 1701);
  Tensor cond = ops::gt(cj::test::seeded_uniform({3, 4}, 1702), 0.0);
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return where(in[2], in[0], in[1]) * in[0]; }, {a, b, cond});
}

TEST(GradElementwise, TiesInMaximumShareTheGradient) {
  Tensor a = ops::to(tensor({1, 2, 3}), DType::f64), b = ops::to(tensor({3, 2, 1}), DType::f64);
  a.requires_grad_();
  b.requires_grad_();
  backward(sum(maximum(a, b)));
  EXPECT_EQ(to_vector<double>(a.grad()), (std::vector<double>{0, 0.5, 1}));
  EXPECT_EQ(to_vector<double>(b.grad()), (std::vector<double>{1, 0.5, 0}));
}
