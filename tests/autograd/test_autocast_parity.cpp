// Parity of bf16 autocast with torch.autocast on a functional pre-norm MLP block (fixture
// tests/fixtures/autocast/mlp.safetensors, tools/fixtures/autocast.py): output dtypes and values,
// and the fp32 gradients of the parameters and the input. Tolerances: tests/autograd/autocast_check.hpp.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "autograd/ops.hpp"
#include "tests/autograd/autocast_check.hpp"

namespace cj {
namespace {

using test::fixture_at;

Tensor mse(const Tensor& a, const Tensor& b) { return mean(square(sub(a, b))); }  // F.mse_loss, mean

TEST(AutocastParity, MlpBlockMatchesTorchAutocast) {
  const auto f = test::load_autocast_fixture("mlp");
  std::map<std::string, Tensor> p;
  for (const char* name :
       {"ln1.weight", "ln1.bias", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "ln2.weight", "ln2.bias"}) {
    p[name] = ops::clone(fixture_at(f, std::string("param.") + name));
    p[name].requires_grad_(true);
  }
  Tensor x = ops::clone(fixture_at(f, "input.x"));
  x.requires_grad_(true);
  const Tensor& target = fixture_at(f, "input.target");
  const int64_t C = x.size(-1);

  std::map<std::string, Tensor> out;
  {
    AutocastGuard amp(DType::bf16);
    out["h0"] = layer_norm(x, {C}, p["ln1.weight"], p["ln1.bias"]);        // f32 input: stays f32
    out["h1"] = linear(out["h0"], p["fc1.weight"], p["fc1.bias"]);         // bf16
    out["h2"] = gelu(out["h1"]);                                           // not listed: bf16
    out["y"] = linear(out["h2"], p["fc2.weight"], p["fc2.bias"]);          // bf16
    out["r"] = add(x, out["y"]);                                           // promotes to f32
    out["z"] = layer_norm(out["y"], {C}, p["ln2.weight"], p["ln2.bias"]);  // fp32 policy
    out["loss"] = add(add(mse(out["r"], target), mse(out["z"], target)), mse(out["y"], target));
  }
  backward(out["loss"]);

  for (const char* k : {"h1", "h2", "y"})
    EXPECT_TRUE(test::bf16_matches(out[k], fixture_at(f, std::string("output.") + k))) << k;
  EXPECT_TRUE(test::f32_matches(out["h0"], fixture_at(f, "output.h0")));
  for (const char* k : {"r", "z"}) {
    const std::string key = std::string("output.") + k;
    EXPECT_TRUE(test::f32_matches(out[k], fixture_at(f, key), fixture_at(f, "f32." + key))) << k;
  }
  EXPECT_TRUE(test::f32_matches(out["loss"], fixture_at(f, "output.loss")));
  EXPECT_TRUE(test::f32_matches(x.grad(), fixture_at(f, "grad_input.x"), fixture_at(f, "f32.grad_input.x")));
  for (auto& [name, param] : p) {
    ASSERT_TRUE(param.grad().defined()) << name;
    EXPECT_EQ(param.grad().dtype(), DType::f32) << name;  // the master weights' gradients stay fp32
    EXPECT_TRUE(test::f32_matches(param.grad(), fixture_at(f, "grad_param." + name),
                                  fixture_at(f, "f32.grad_param." + name)))
        << name;
  }
}

}  // namespace
}  // namespace cj
