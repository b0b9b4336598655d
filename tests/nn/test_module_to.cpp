// nn::Module::to: parameters and buffers move/cast IN PLACE, so member handles and optimizers see
// the change; optimizer state follows its parameter; a missing device is one clear error.
#include <gtest/gtest.h>

#include <memory>

#include "autograd/ops.hpp"
#include "nn/layers/basic.hpp"
#include "nn/optim/optimizer.hpp"
#include "tensor/ops.hpp"

using namespace cj;

namespace {

// Two Linear layers and an integer buffer: what the casts must and must not touch.
struct Net : nn::Module {
  std::shared_ptr<nn::Linear> first, second;
  Tensor counts;
  explicit Net(uint64_t seed) {
    Generator gen(seed);
    first = register_module("first", std::make_shared<nn::Linear>(3, 4, true, gen));
    second = register_module("second", std::make_shared<nn::Linear>(4, 2, true, gen));
    counts = register_buffer("counts", from_vector<int64_t>({1, 2}, {2}));
  }
  Tensor forward(const Tensor& x) { return (*second)(cj::gelu((*first)(x))); }  // x: (B, 3) -> (B, 2)
};

Tensor input(DType dtype) {
  return ops::to(from_vector<float>({0.5f, -1.f, 2.f, 0.25f, 1.5f, -0.75f}, {2, 3}), dtype);
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  auto x = to_vector<double>(ops::to(a, DType::f64)), y = to_vector<double>(ops::to(b, DType::f64));
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::abs(x[i] - y[i]));
  return worst;
}

// Gives every parameter the gradient of sum(forward(x)).
void backward_once(Net& net, DType dtype) { cj::backward(cj::sum(net.forward(input(dtype)))); }

}  // namespace

TEST(ModuleTo, CpuOnACpuModelKeepsEveryTensor) {
  Net net(1);
  std::vector<const void*> before;
  for (auto& [_, t] : net.state_dict()) before.push_back(t.storage().get());
  Tensor weight = net.first->weight;
  net.to(Device::cpu());
  std::vector<const void*> after;
  for (auto& [_, t] : net.state_dict()) after.push_back(t.storage().get());
  EXPECT_EQ(before, after);
  EXPECT_TRUE(weight.is_same(net.named_parameters()[0].second));
  EXPECT_EQ(net.device(), Device::cpu());
}

TEST(ModuleTo, F64CastIsInPlaceAndForwardAgrees) {
  Net net(2);
  const nn::StateDict original = [&] {
    nn::StateDict copy;
    for (auto& [k, t] : net.state_dict()) copy[k] = ops::clone(t);
    return copy;
  }();
  Tensor y32 = net.forward(input(DType::f32));
  Tensor weight = net.first->weight;  // a handle taken before the cast, as an optimizer holds it

  net.to(DType::f64);
  EXPECT_EQ(weight.dtype(), DType::f64);
  EXPECT_TRUE(weight.is_same(net.first->weight));
  EXPECT_TRUE(weight.is_same(net.named_parameters()[0].second));
  EXPECT_TRUE(weight.is_leaf());
  EXPECT_TRUE(weight.requires_grad());
  EXPECT_EQ(net.counts.dtype(), DType::i64);  // only floating tensors are cast, as torch's .to(dtype)

  Tensor y64 = net.forward(input(DType::f64));
  EXPECT_EQ(y64.dtype(), DType::f64);
  EXPECT_LT(max_abs_diff(y64, y32), 1e-6);
  for (auto& [key, t] : net.state_dict()) EXPECT_EQ(max_abs_diff(t, original.at(key)), 0.0) << key;
}

TEST(ModuleTo, Bf16CastRoundsEveryParameterAndRuns) {
  Net net(3);
  Tensor bias = net.second->bias;
  Tensor rounded = ops::to(bias, DType::bf16);
  net.to(Device::cpu(), DType::bf16);
  EXPECT_EQ(bias.dtype(), DType::bf16);
  EXPECT_EQ(max_abs_diff(bias, rounded), 0.0);
  Tensor y = net.forward(input(DType::bf16));
  EXPECT_EQ(y.dtype(), DType::bf16);
  EXPECT_EQ(y.shape(), (Shape{2, 2}));
  backward_once(net, DType::bf16);  // still leaves that collect gradients
  ASSERT_TRUE(bias.grad().defined());
  EXPECT_EQ(bias.grad().dtype(), DType::bf16);
}

TEST(ModuleTo, GradientMovesWithItsParameter) {
  Net net(4);
  backward_once(net, DType::f32);
  Tensor grad32 = ops::clone(net.first->weight.grad());
  net.to(DType::f64);
  Tensor grad = net.first->weight.grad();
  ASSERT_TRUE(grad.defined());
  EXPECT_EQ(grad.dtype(), DType::f64);
  EXPECT_EQ(max_abs_diff(grad, grad32), 0.0);
}

// The device rule: state follows its parameter, so building the optimizer before or after the
// move gives the same trajectory.
TEST(ModuleTo, OptimizerBuiltBeforeOrAfterTheCastAgree) {
  Net before(5), after(5);
  nn::AdamW early(before.parameters(), {});
  backward_once(before, DType::f32);
  early.step();
  early.zero_grad();
  before.to(DType::f64);
  backward_once(before, DType::f64);
  early.step();

  // The same two steps with the state of step 1 handed over through a state dict (as a resume).
  backward_once(after, DType::f32);
  nn::AdamW first_half(after.parameters(), {});
  first_half.step();
  first_half.zero_grad();
  nn::StateDict saved = first_half.state_dict();
  after.to(DType::f64);
  nn::AdamW late(after.parameters(), {});
  late.load_state_dict(saved);  // f32 moments for f64 parameters: they follow on the next step
  backward_once(after, DType::f64);
  late.step();

  auto a = before.state_dict(), b = after.state_dict();
  for (auto& [key, t] : a) {
    EXPECT_EQ(t.dtype(), b.at(key).dtype()) << key;
    EXPECT_EQ(max_abs_diff(t, b.at(key)), 0.0) << key;
  }
  for (auto& [key, t] : early.state_dict()) {
    if (key.find("exp_avg") != std::string::npos) {
      EXPECT_EQ(t.dtype(), DType::f64) << key;
    }
  }
}

TEST(ModuleTo, CudaWithoutTheBackendIsOneClearErrorAndChangesNothing) {
  // tests/nn links no CUDA backend, whichever way the build was configured.
  Net net(6);
  Tensor weight = net.first->weight;
  try {
    net.to(Device::cuda());
    FAIL() << "expected cj::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("this build has no CUDA backend"), std::string::npos) << e.what();
  }
  EXPECT_EQ(weight.device(), Device::cpu());
  EXPECT_EQ(net.device(), Device::cpu());
}

TEST(ModuleTo, BadRequestsAreClearErrors) {
  Net net(7);
  EXPECT_THROW(net.to(DType::i64), Error);
  Tensor leaf = from_vector<float>({1.f, 2.f}, {2});
  leaf.requires_grad_(true);
  Tensor produced = cj::mul(leaf, leaf);
  EXPECT_THROW(produced.set_data(from_vector<float>({0.f, 0.f}, {2})), Error);      // not a leaf
  EXPECT_THROW(leaf.set_data(from_vector<int64_t>({0, 0}, {2})), Error);            // ints cannot require grad
  leaf.set_data(from_vector<double>({3.0, 4.0, 5.0}, {3}));
  EXPECT_EQ(leaf.shape(), (Shape{3}));
  EXPECT_TRUE(leaf.requires_grad());
}
