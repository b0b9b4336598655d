// End to end: a 2-layer tanh MLP trained with plain SGD on a synthetic regression problem must
// follow PyTorch's loss curve. Data and initial weights are closed-form formulas, identical to
// tools/mlp_sgd_reference.py, whose output (torch 2.15.0, CPU, f32) was:
//
//   step   0: loss 0.30106413
//   step   1: loss 0.23206472
//   step  10: loss 0.09594902
//   step 100: loss 0.05249581
//   step 300: loss 0.02139276
//
// The tolerance (1e-4 relative) covers f32 summation-order differences over 300 steps; a wrong
// gradient anywhere moves the curve by far more (one wrong factor of 2 changes step 1 by ~10%).
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "autograd/ops.hpp"

using namespace cj;

namespace {

constexpr int64_t N = 64, D = 4, H = 16;

template <typename F>
Tensor from_formula(const Shape& shape, F f) {  // f(row, col) for 2-D shapes, f(0, i) for 1-D
  std::vector<float> v;
  int64_t rows = shape.size() == 2 ? shape[0] : 1, cols = shape.back();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) v.push_back(float(f(double(r), double(c))));
  return from_vector(v, shape);
}

}  // namespace

TEST(EndToEnd, TwoLayerMlpFollowsPyTorchUnderSgd) {
  Tensor x = from_formula({N, D}, [](double i, double j) { return std::sin(0.37 * (i + 1) * (j + 1) + 0.1 * j); });
  Tensor y = unsqueeze(sin(select(x, 1, 0)) * cos(select(x, 1, 1)) + 0.5 * select(x, 1, 2) * select(x, 1, 3), 1);
  Tensor w1 = from_formula({H, D}, [](double h, double j) { return 0.5 * std::sin(1.3 * h + 0.7 * j + 0.2); });
  Tensor b1 = from_formula({H}, [](double, double h) { return 0.1 * std::cos(h); });
  Tensor w2 = from_formula({1, H}, [](double, double h) { return 0.3 * std::cos(0.9 * h + 0.4); });
  Tensor b2 = zeros({1});
  std::vector<Tensor> params = {w1, b1, w2, b2};
  for (Tensor& p : params) p.requires_grad_();

  const std::map<int, double> torch_loss = {
      {0, 0.30106413}, {1, 0.23206472}, {10, 0.09594902}, {100, 0.05249581}, {300, 0.02139276}};
  const double lr = 0.1;
  for (int step = 0; step <= 300; ++step) {
    Tensor out = linear(tanh(linear(x, w1, b1)), w2, b2);
    Tensor loss = mean(square(out - y));
    if (auto it = torch_loss.find(step); it != torch_loss.end()) {
      EXPECT_NEAR(loss.item(), it->second, 1e-4 * it->second) << "step " << step;
    }
    if (step == 300) {
      EXPECT_LT(loss.item(), 0.025);  // from 0.301: the net really learns
      break;
    }
    for (Tensor& p : params) p.set_grad({});
    backward(loss);
    NoGradGuard no_grad;
    for (Tensor& p : params) ops::sub_(p, p.grad(), lr);
  }
}
