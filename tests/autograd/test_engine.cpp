// The graph and the engine: recording rules, accumulation into leaves, retain_graph, errors that
// name the op and leave .grad untouched, graph lifetime, and very deep graphs.
#include <gtest/gtest.h>

#include <cmath>
#include <thread>

#include "tests/autograd/autograd_test_util.hpp"
#include "tests/tensor/op_test_util.hpp"

using namespace cj;
using cj::test::leaf;
using cj::test::doubles;
using cj::test::error_message;
using cj::test::seeded_uniform;

namespace {

// A deliberately wrong op for testing the checks: y = x², with a backward that claims 3x.
Tensor bad_square(const Tensor& x) {
  Tensor y = ops::mul(x, x);
  record("bad_square", y, {x}, {x},
         [](Node& n, const Tensor& gy) -> Grads { return {ops::mul(gy, ops::mul(n.saved(0), 3.0))}; });
  return y;
}

// An op whose backward returns a gradient of the wrong shape.
Tensor bad_shape(const Tensor& x) {
  Tensor y = ops::clone(x);
  record("bad_shape", y, {x}, {}, [](Node&, const Tensor& gy) -> Grads { return {ops::reshape(gy, {-1})}; });
  return y;
}

}  // namespace

TEST(Autograd, LeafUsedSeveralTimesAccumulates) {
  Tensor x = leaf({2, 3}, 1);
  Tensor loss = sum(x * x + x - 2.0 * x);  // d/dx = 2x - 1
  backward(loss);
  std::vector<double> xv = doubles(x), g = doubles(x.grad());
  for (size_t i = 0; i < xv.size(); ++i) EXPECT_DOUBLE_EQ(g[i], 2 * xv[i] - 1);
  // A second graph adds to the same .grad.
  backward(sum(x * 3.0));
  g = doubles(x.grad());
  for (size_t i = 0; i < xv.size(); ++i) EXPECT_DOUBLE_EQ(g[i], 2 * xv[i] - 1 + 3);
}

TEST(Autograd, RepeatedUseInALoopAccumulates) {
  Tensor x = leaf({3}, 2), h = x;
  for (int i = 0; i < 5; ++i) h = h * x;  // x^6
  backward(sum(h));
  std::vector<double> xv = doubles(x), g = doubles(x.grad());
  for (size_t i = 0; i < xv.size(); ++i) EXPECT_NEAR(g[i], 6 * std::pow(xv[i], 5), 1e-14);
}

TEST(Autograd, BackwardWithOutputGradient) {
  Tensor x = leaf({2, 2}, 3);
  Tensor y = x * 3.0;
  Tensor gy = tensor({1, 2, 3, 4}, {2, 2});  // f32: cast to the output's dtype
  backward(y, gy);
  EXPECT_EQ(doubles(x.grad()), (std::vector<double>{3, 6, 9, 12}));
  EXPECT_EQ(x.grad().dtype(), DType::f64);
}

TEST(Autograd, GradIsAFreshTensorNotTheIncomingOne) {
  Tensor x = leaf({3}, 4);
  Tensor g = ops::to(tensor({1, 2, 3}), DType::f64);
  backward(x, g);  // the root is the leaf itself
  EXPECT_NE(x.grad().storage(), g.storage());
  ops::fill_(g, 0);
  EXPECT_EQ(doubles(x.grad()), (std::vector<double>{1, 2, 3}));
}

TEST(Autograd, OpsRecordNothingWithoutGradOrUnderNoGradGuard) {
  Tensor c = seeded_uniform({3}, 5, -1, 1, DType::f64);  // does not require grad
  Tensor y = exp(c);
  EXPECT_FALSE(y.requires_grad());
  EXPECT_EQ(y.grad_fn(), nullptr);

  Tensor x = leaf({3}, 6);
  EXPECT_TRUE(is_grad_enabled());
  {
    NoGradGuard no_grad;
    EXPECT_FALSE(is_grad_enabled());
    Tensor z = exp(x) * 2.0;
    EXPECT_FALSE(z.requires_grad());
    EXPECT_EQ(z.grad_fn(), nullptr);
    {
      EnableGradGuard enable;  // nests
      Tensor w = exp(x);
      ASSERT_NE(w.grad_fn(), nullptr);
      EXPECT_EQ(w.grad_fn()->name(), "exp");
    }
    EXPECT_FALSE(is_grad_enabled());
    // Grad mode is per thread: another thread records as usual.
    bool other_thread_records = false;
    std::thread([&] { other_thread_records = is_grad_enabled() && exp(x).requires_grad(); }).join();
    EXPECT_TRUE(other_thread_records);
  }
  EXPECT_TRUE(is_grad_enabled());
  Tensor i = ops::argmax(x, 0);  // integer results never record
  EXPECT_FALSE(i.requires_grad());
}

TEST(Autograd, DetachSharesStorageAndStopsGradient) {
  Tensor x = leaf({3}, 7);
  Tensor d = detach(x);
  EXPECT_EQ(d.storage(), x.storage());
  EXPECT_FALSE(d.requires_grad());
  EXPECT_TRUE(d.is_leaf());
  backward(sum(d * x));  // d is a constant: d/dx = d
  EXPECT_EQ(doubles(x.grad()), doubles(x));
}

TEST(Autograd, RequiresGradRules) {
  Tensor x = leaf({2}, 8);
  Tensor y = x * 2.0;
  EXPECT_TRUE(y.requires_grad());
  EXPECT_FALSE(y.is_leaf());
  EXPECT_THROW(y.requires_grad_(false), Error);  // only leaves
  Tensor i = arange(3);
  EXPECT_THROW(i.requires_grad_(), Error);  // only floating dtypes
}

TEST(Autograd, IdentityKernelsKeepTheLeafALeaf) {
  Tensor x = leaf({2, 2}, 9);
  Tensor c = contiguous(x);  // the kernel hands back x itself
  Tensor t = to(x, DType::f64);
  EXPECT_TRUE(x.is_leaf());
  backward(sum(c * t));
  EXPECT_EQ(doubles(x.grad()), doubles(x * 2.0));
}

TEST(Autograd, RetainGraphAllowsASecondBackward) {
  Tensor x = leaf({4}, 10);
  Tensor loss = sum(exp(x));
  backward(loss, {}, /*retain_graph=*/true);
  backward(loss);
  std::vector<double> xv = doubles(x), g = doubles(x.grad());
  for (size_t i = 0; i < xv.size(); ++i) EXPECT_NEAR(g[i], 2 * std::exp(xv[i]), 1e-14);
}

TEST(Autograd, SecondBackwardThroughAFreedGraphFailsAndKeepsGrad) {
  Tensor x = leaf({4}, 11);
  Tensor loss = sum(exp(x));
  backward(loss);
  std::vector<double> before = doubles(x.grad());
  std::string msg = error_message([&] { backward(loss); });
  EXPECT_NE(msg.find("sum: trying to backward through the graph a second time"), std::string::npos) << msg;
  EXPECT_EQ(doubles(x.grad()), before);
}

TEST(Autograd, NonScalarWithoutGradientFails) {
  Tensor x = leaf({2, 3}, 12);
  Tensor y = x * x;
  std::string msg = error_message([&] { backward(y); });
  EXPECT_NE(msg.find("backward: the gradient can be omitted only for a one-element output, but the output of mul "
                     "has shape [2, 3]"),
            std::string::npos)
      << msg;
  EXPECT_FALSE(x.grad().defined());
  Tensor c = seeded_uniform({1}, 1, -1, 1, DType::f64);
  EXPECT_NE(error_message([&] { backward(c); }).find("does not require grad"), std::string::npos);
}

TEST(Autograd, InPlaceChangeOfASavedTensorFails) {
  Tensor x = leaf({3}, 13);
  backward(sum(x));  // some gradient already there
  std::vector<double> before = doubles(x.grad());

  Tensor y = exp(x);  // exp saves its output
  Tensor loss = sum(y) + sum(x * 2.0);
  uint64_t v = y.version();
  ops::fill_(y, 1.0);
  std::string msg = error_message([&] { backward(loss); });
  EXPECT_NE(msg.find("exp: a tensor saved for backward was modified in place (version " + std::to_string(v + 1) +
                     ", expected " + std::to_string(v) + ")"),
            std::string::npos)
      << msg;
  EXPECT_EQ(doubles(x.grad()), before);  // the sum(x * 2) branch was not half-applied

  Tensor a = leaf({3}, 14), b = leaf({3}, 15);
  Tensor p = a * b;  // mul saves both inputs
  b.bump_version();
  msg = error_message([&] { backward(sum(p)); });
  EXPECT_NE(msg.find("mul: a tensor saved for backward was modified in place"), std::string::npos) << msg;
  EXPECT_FALSE(a.grad().defined());
}

TEST(Autograd, GradientOfTheWrongShapeFails) {
  Tensor x = leaf({2, 3}, 16);
  Tensor y = x * 2.0;
  std::string msg = error_message([&] { backward(y, ones({3, 2}, DType::f64)); });
  EXPECT_NE(msg.find("backward: gradient of shape [3, 2] given for the output of mul, which has shape [2, 3]"),
            std::string::npos)
      << msg;

  Tensor loss = sum(x * 3.0) + sum(bad_shape(x));
  msg = error_message([&] { backward(loss); });
  EXPECT_NE(msg.find("bad_shape: backward produced a gradient of shape [6] for input 0, which has shape [2, 3]"),
            std::string::npos)
      << msg;
  EXPECT_FALSE(x.grad().defined());
}

TEST(Autograd, GradReturnsGradientsWithoutTouchingLeaves) {
  Tensor x = leaf({3}, 17);
  Tensor h = x * x;
  Tensor loss = sum(h * 3.0);
  std::vector<Tensor> g = grad({loss}, {x, h});
  std::vector<double> xv = doubles(x);
  std::vector<double> gx = doubles(g[0]), gh = doubles(g[1]);
  for (size_t i = 0; i < xv.size(); ++i) {
    EXPECT_DOUBLE_EQ(gx[i], 6 * xv[i]);
    EXPECT_DOUBLE_EQ(gh[i], 3);
  }
  EXPECT_FALSE(x.grad().defined());
  Tensor unused = leaf({2}, 18);
  EXPECT_FALSE(grad({sum(x * 1.0)}, {unused})[0].defined());
}

TEST(Autograd, SumToReducesBroadcastDims) {
  Tensor g = ops::to(arange(24), DType::f64);
  Tensor r = sum_to(ops::reshape(g, {2, 3, 4}), {3, 1});
  // r[j] = sum over i, k of 12i + 4j + k = 2*4*4j + (4*12 + 2*6) ... checked against a loop
  std::vector<double> want(3, 0);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) want[j] += 12 * i + 4 * j + k;
  EXPECT_EQ(r.shape(), (Shape{3, 1}));
  EXPECT_EQ(doubles(r), want);
  EXPECT_THROW(sum_to(ops::reshape(g, {2, 3, 4}), {2, 1}), Error);
}

TEST(Autograd, DeepGraphsNeedNoRecursion) {
  // 50,000 nodes in a chain: backward and the graph's destruction must both be iterative.
  Tensor x = leaf({1}, 19, 0.5, 0.6);
  Tensor h = x;
  const int n = 50000;
  for (int i = 0; i < n; ++i) h = h * 1.00001;
  backward(sum(h));
  EXPECT_NEAR(x.grad().item(), std::pow(1.00001, n), 1e-9);
  h = Tensor();
}

TEST(Autograd, GraphIsFreedAfterBackward) {
  const int64_t base = Storage::live_count();
  Tensor x = leaf({64}, 20), w = leaf({64}, 21);
  Tensor loss;
  {
    Tensor h = tanh(x * w);
    loss = sum(exp(h) * h);
  }
  // tanh's and exp's saved outputs (and more) are alive, held by the graph only.
  EXPECT_GE(Storage::live_count(), base + 2 + 1 + 2);
  backward(loss);
  // Left: x, w, loss, x.grad, w.grad.
  EXPECT_EQ(Storage::live_count(), base + 5);

  // With retain_graph the saved tensors stay until the graph's last handle goes.
  {
    Tensor loss2 = sum(exp(tanh(x * w)));
    backward(loss2, {}, /*retain_graph=*/true);
    EXPECT_GT(Storage::live_count(), base + 6);
  }
  EXPECT_EQ(Storage::live_count(), base + 5);
}

TEST(Autograd, NoGradRegionsAllocateNoGraph) {
  Tensor x = leaf({64}, 22), w = leaf({64}, 23);
  const int64_t base = Storage::live_count();
  Tensor y;
  {
    NoGradGuard no_grad;
    y = exp(tanh(x * w));
  }
  EXPECT_EQ(Storage::live_count(), base + 1);  // y only: no intermediate is kept
  EXPECT_EQ(y.grad_fn(), nullptr);
}

TEST(Gradcheck, FindsAWrongBackwardAndNamesTheElement) {
  Tensor x = leaf({2, 3}, 24, 0.5, 1.0);
  GradcheckResult r = gradcheck([](const std::vector<Tensor>& in) { return bad_square(in[0]); }, {x});
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.message.find("gradcheck: input 0 (shape [2, 3]) element ["), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("6 of 6 elements out of tolerance"), std::string::npos) << r.message;
  // The same function with the right backward passes.
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return in[0] * in[0]; }, {x});
}

TEST(Gradcheck, SkipsInputsThatDoNotRequireGrad) {
  Tensor x = leaf({3}, 25);
  Tensor c = seeded_uniform({3}, 26, -1, 1, DType::f32);  // converted to f64, not checked
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return in[0] * in[1]; }, {x, c});
  EXPECT_THROW(gradcheck([](const std::vector<Tensor>& in) { return in[0] * 2.0; }, {c}), Error);
}
