// bf16 autocast through nn/: a pre-norm self-attention block (LayerNorm + MultiheadAttention +
// residual + mse_loss) against torch.autocast (tests/fixtures/autocast/attention.safetensors, from
// tools/fixtures/autocast.py), two AdamW steps on the fp32 master weights after autocast
// forward/backward, and the fp32 policy of the losses. Tolerances: tests/autograd/autocast_check.hpp.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "autograd/ops.hpp"
#include "nn/nn.hpp"
#include "tests/autograd/autocast_check.hpp"

namespace cj {
namespace {

using test::fixture_at;

struct AttentionBlock {
  int64_t E = 16, heads = 4;
  std::shared_ptr<nn::LayerNorm> norm = std::make_shared<nn::LayerNorm>(E);
  std::shared_ptr<nn::MultiheadAttention> mha =
      std::make_shared<nn::MultiheadAttention>(E, heads);  // sequence-first, as the fixture

  explicit AttentionBlock(const std::map<std::string, Tensor>& f) {
    nn::StateDict norm_state, mha_state;
    for (const auto& [key, t] : f) {
      if (key.rfind("param.norm.", 0) == 0) norm_state[key.substr(11)] = t;
      if (key.rfind("param.mha.", 0) == 0) mha_state[key.substr(10)] = t;
    }
    norm->load_state_dict(norm_state);
    mha->load_state_dict(mha_state);
  }
  std::map<std::string, Tensor> named_parameters() const {
    std::map<std::string, Tensor> out;
    for (const auto& [k, p] : norm->named_parameters()) out["norm." + k] = p;
    for (const auto& [k, p] : mha->named_parameters()) out["mha." + k] = p;
    return out;
  }
  std::vector<Tensor> parameters() const {
    std::vector<Tensor> out;
    for (const auto& [_, p] : named_parameters()) out.push_back(p);
    return out;
  }
  // x: (L, B, E) -> h, a, out and the loss, as the fixture's forward.
  std::map<std::string, Tensor> forward(const Tensor& x, const Tensor& target) {
    AutocastGuard amp(DType::bf16);
    Tensor h = norm->forward(x);
    Tensor a = mha->forward(h, h, h, std::nullopt, /*need_weights=*/false).output;
    Tensor out = cj::add(x, a);
    return {{"h", h}, {"a", a}, {"out", out}, {"loss", nn::mse_loss(out, target)}};
  }
};

// Attention's backward: cjepa's kernel (like FlashAttention) forms D = rowsum(dO * O) from the
// bf16-rounded output O, torch's math backend from its f32 output. The fixture therefore also holds
// the gradients of the same block with that one formula swapped in (flash_backward.*): ours must
// match those at the f32 tolerance, and torch's own within one bf16 ulp (at most 2^-7 of a value).
constexpr double kOneBf16Ulp = 1.0 / 128;

TEST(AutocastNn, AttentionBlockMatchesTorchAutocast) {
  const auto f = test::load_autocast_fixture("attention");
  AttentionBlock block(f);
  Tensor x = ops::clone(fixture_at(f, "input.x"));
  x.requires_grad_(true);
  auto out = block.forward(x, fixture_at(f, "input.target"));
  EXPECT_EQ(out["h"].dtype(), DType::f32);
  EXPECT_EQ(out["a"].dtype(), DType::bf16);
  EXPECT_TRUE(test::bf16_matches(out["a"], fixture_at(f, "output.a")));
  EXPECT_TRUE(test::f32_matches(out["h"], fixture_at(f, "output.h")));
  EXPECT_TRUE(test::f32_matches(out["out"], fixture_at(f, "output.out")));
  EXPECT_TRUE(test::f32_matches(out["loss"], fixture_at(f, "output.loss")));
  backward(out["loss"]);

  std::map<std::string, Tensor> grads{{"grad_input.x", x.grad()}};
  for (const auto& [name, p] : block.named_parameters()) grads["grad_param." + name] = p.grad();
  for (const auto& [key, g] : grads) {
    ASSERT_TRUE(g.defined()) << key;
    EXPECT_EQ(g.dtype(), DType::f32) << key;
    EXPECT_TRUE(test::f32_matches(g, fixture_at(f, "flash_backward." + key), fixture_at(f, "f32." + key))) << key;
    EXPECT_LE(test::max_rel_error(g, fixture_at(f, key)), kOneBf16Ulp) << key;
  }
}

// AdamW (lr 1e-2) on the fp32 master weights, each step after an autocast forward and backward.
// Adam's first steps move a weight by about lr * sign(gradient), so the moves are compared in units
// of lr (observed: at most 6e-6 lr).
TEST(AutocastNn, AdamWStepsFp32MasterWeightsAfterAutocastBackward) {
  const auto f = test::load_autocast_fixture("attention");
  AttentionBlock block(f);
  nn::AdamOptions options;
  options.lr = 1e-2;
  options.weight_decay = 0.01;
  nn::AdamW opt(block.parameters(), options);
  for (int step = 0; step < 2; ++step) {
    const std::string prefix = "adamw." + std::to_string(step) + ".";
    opt.zero_grad();
    Tensor loss = block.forward(fixture_at(f, "input.x"), fixture_at(f, "input.target"))["loss"];
    EXPECT_TRUE(test::f32_matches(loss, fixture_at(f, prefix + "loss"))) << step;
    backward(loss);
    opt.step();
    for (const auto& [name, p] : block.named_parameters()) {
      EXPECT_EQ(p.grad().dtype(), DType::f32) << name;
      EXPECT_EQ(p.dtype(), DType::f32) << name;
      Tensor moved = ops::sub(p, fixture_at(f, "param." + name));
      Tensor torch_moved = ops::sub(fixture_at(f, prefix + "param." + name), fixture_at(f, "param." + name));
      EXPECT_LE(ops::amax(ops::abs(ops::sub(moved, torch_moved))).item<double>(), 1e-4 * options.lr)
          << name << " after step " << step;
    }
  }
}

// The losses are on the fp32 list: a bf16 prediction is cast to f32 before any arithmetic, so the
// loss equals the f32 loss of the same (bf16-valued) prediction exactly.
TEST(AutocastNn, LossesRunInFp32) {
  Tensor pred = ops::to(test::seeded_uniform({4, 5}, 71), DType::bf16);
  Tensor target = test::seeded_uniform({4, 5}, 72, 0.0, 1.0);
  Tensor classes = ops::to(from_vector<int64_t>({0, 4, 2, 1}, {4}), DType::i64);
  Tensor pred32 = ops::to(pred, DType::f32);
  auto same = [](const Tensor& a, const Tensor& b) {
    return a.dtype() == DType::f32 && b.dtype() == DType::f32 && ops::max_rel_error(a, b) == 0.0;
  };
  AutocastGuard amp;
  EXPECT_TRUE(same(nn::mse_loss(pred, target), nn::mse_loss(pred32, target)));
  EXPECT_TRUE(same(nn::cross_entropy(pred, classes), nn::cross_entropy(pred32, classes)));
  EXPECT_TRUE(same(nn::cross_entropy(pred, target), nn::cross_entropy(pred32, target)));  // soft targets
  EXPECT_TRUE(same(nn::bce_with_logits(pred, target), nn::bce_with_logits(pred32, target)));
  EXPECT_TRUE(same(nn::gaussian_kl(pred, pred, target, target), nn::gaussian_kl(pred32, pred32, target, target)));
}

// GRUCell is torch's lower-precision gru_cell: x and h are cast, so the whole cell runs in bf16 (the
// hidden state comes back bf16), while the fp32 weights receive fp32 gradients.
TEST(AutocastNn, GruCellRunsInBf16WithFp32Gradients) {
  nn::GRUCell cell(3, 4);
  Tensor x = test::seeded_uniform({2, 3}, 81), h = test::seeded_uniform({2, 4}, 82);
  Tensor y;
  {
    AutocastGuard amp;
    y = cell.forward(x, h);
  }
  EXPECT_EQ(y.dtype(), DType::bf16);
  // The same cell written out on bf16 copies of everything (PyTorch's GRUCell formulas).
  auto bf = [](const Tensor& t) { return ops::to(t, DType::bf16); };
  auto gi = ops::chunk(ops::linear(bf(x), bf(cell.weight_ih), bf(cell.bias_ih)), 3, 1);
  auto gh = ops::chunk(ops::linear(bf(h), bf(cell.weight_hh), bf(cell.bias_hh)), 3, 1);
  Tensor r = ops::sigmoid(ops::add(gi[0], gh[0])), z = ops::sigmoid(ops::add(gi[1], gh[1]));
  Tensor n = ops::tanh(ops::add(gi[2], ops::mul(r, gh[2])));
  Tensor expected = ops::add(n, ops::mul(z, ops::sub(bf(h), n)));
  EXPECT_EQ(ops::max_rel_error(y, expected), 0.0);
  backward(cj::sum(y));
  for (const auto& [name, p] : cell.named_parameters()) {
    ASSERT_TRUE(p.grad().defined()) << name;
    EXPECT_EQ(p.grad().dtype(), DType::f32) << name;
  }
}

}  // namespace
}  // namespace cj
