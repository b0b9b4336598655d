// The C-JEPA Push-T AP world model (models/cjepa_predictor_pusht) against PyTorch
// (tests/fixtures/models/cjepa_predictor_pusht.safetensors, written by
// tools/fixtures/cjepa_predictor_pusht.py from the reference's formulas): parameters load strictly by
// CausalWM_AP's names; predictions, the three losses, inference outputs and 3 steps of the three
// AdamW optimisers agree to 1e-5 and parameter gradients to 1e-4 (max|a-b| / max|b|). Plus the token
// layout, the masking pool, the unused future action, the reference's parameter count and the errors.
#include <gtest/gtest.h>

#include <iostream>
#include <map>
#include <memory>
#include <string>

#include "autograd/ops.hpp"
#include "models/cjepa_predictor_pusht.hpp"
#include "tensor/ops.hpp"
#include "tests/models/predictor_fixture.hpp"

using namespace cj;
using namespace cj::test;
using cj::models::PushTPredictorConfig;
using cj::models::PushTWorldModel;

namespace {

PredictorFixture load_pusht_fixture() { return load_predictor_fixture("cjepa_predictor_pusht.safetensors"); }

std::unique_ptr<PushTWorldModel> load_fixture_model(const PredictorFixture& f) {
  auto model = std::make_unique<PushTWorldModel>(pusht_config_of(f.json()));
  model->eval();
  model->load_state_dict(f.with_prefix("param."), /*strict=*/true);
  return model;
}

// A one-block model at D = 8 for the tests that need no fixture: 3 slots, proprio 2, action 3.
PushTPredictorConfig tiny_config() {
  PushTPredictorConfig config;
  config.predictor.depth = 1;
  config.predictor.heads = 2;
  config.predictor.dim = 8;
  config.predictor.ffn = 16;
  config.predictor.history = 2;
  config.predictor.preds = 1;
  config.predictor.dropout = 0.0;
  config.object_slots = 3;
  config.proprio_dim = 2;
  config.action_dim = 3;
  return config;
}

bool identical(const Tensor& a, const Tensor& b) { return a.shape() == b.shape() && ops::allclose(a, b, 0.0, 0.0); }

PushTWorldModel::MaskedOutput run_fixture_forward(PushTWorldModel& model, const PredictorFixture& f,
                                                  const std::vector<int64_t>& masked) {
  return model.forward_masked(f.at("input.slots"), f.at("input.proprio"), f.at("input.actions"), masked);
}

}  // namespace

TEST(CjepaPredictorPushT, ParityWithPyTorch) {
  PredictorFixture f = load_pusht_fixture();
  auto model = load_fixture_model(f);
  const std::vector<int64_t> masked = to_indices(f.at("input.masked_indices"));
  ASSERT_EQ(masked, models::fixed_mask_indices(f.json().at("slots"), f.json().at("masked")));  // {1, 3}

  auto out = run_fixture_forward(*model, f, masked);
  const double worst_out = expect_outputs_match({{"predictions", out.predictions},
                                                 {"loss_history", out.loss_history},
                                                 {"loss_future", out.loss_future},
                                                 {"loss_proprio", out.loss_proprio},
                                                 {"loss", out.loss}},
                                                f, "output.");
  cj::backward(out.loss);
  const double worst_grad = expect_gradients_match(*model, f);
  std::cout << "[cjepa_predictor_pusht] worst output rel error " << worst_out << ", worst gradient rel error "
            << worst_grad << "\n";
}

TEST(CjepaPredictorPushT, NoMaskHasNoHistoryLoss) {
  PredictorFixture f = load_pusht_fixture();
  auto model = load_fixture_model(f);
  auto out = run_fixture_forward(*model, f, {});
  EXPECT_EQ(out.loss_history.item<double>(), 0.0);
  expect_outputs_match({{"loss_future", out.loss_future}, {"loss_proprio", out.loss_proprio}, {"loss", out.loss}}, f,
                       "nomask.");
}

TEST(CjepaPredictorPushT, ThreeAdamWOptimisersMatchPyTorch) {
  PredictorFixture f = load_pusht_fixture();
  auto model = load_fixture_model(f);
  const std::vector<int64_t> masked = to_indices(f.at("input.masked_indices"));
  nn::AdamW optimizer(model->optimizer_groups(5e-4, 1e-4, 5e-4));  // weight decay: AdamW's default 0.01
  ASSERT_EQ(optimizer.num_groups(), 3u);
  expect_adamw_steps_match(*model, optimizer, f, [&] { return run_fixture_forward(*model, f, masked).loss; });
}

TEST(CjepaPredictorPushT, InferenceMatchesPyTorch) {
  PredictorFixture f = load_pusht_fixture();
  auto model = load_fixture_model(f);
  const int64_t history = f.json().at("history"), preds = f.json().at("preds");
  // Histories of 1..T_h steps (planning starts with one frame): the last rows of time_pos_embed.
  for (int64_t n = 1; n <= history; ++n) {
    const std::string key = "inference." + std::to_string(n);
    EXPECT_LE(rel_error(model->inference(f.at(key + ".tokens"), preds), f.at(key + ".out")), kOutputTol) << key;
  }
  Tensor raw = model->inference(ops::slice(f.at("input.slots"), 1, 0, history), f.at("inference.raw.proprio"),
                                f.at("inference.raw.actions"), preds);
  EXPECT_LE(rel_error(raw, f.at("inference.raw.out")), kOutputTol);
  EXPECT_FALSE(raw.requires_grad());
}

TEST(CjepaPredictorPushT, TokensAreSlotsThenProprioThenActionEmbeddings) {
  const PushTPredictorConfig config = tiny_config();
  Generator gen(11);
  PushTWorldModel model(config, gen);
  const int64_t b = 2, t = 3, s = 3, d = 8;
  Tensor slots = randn({b, t, s, d}, {}, &gen), proprio = randn({b, t, 2}, {}, &gen), actions = randn({b, t, 3}, {}, &gen);
  NoGradGuard no_grad;
  Tensor tokens = model.encode_tokens(slots, proprio, actions);
  ASSERT_EQ(tokens.shape(), (Shape{b, t, s + 2, d}));
  EXPECT_TRUE(identical(ops::slice(tokens, 2, 0, s), slots));
  // Embedder = per-step Linear with weight (D, in, 1): a naive f64 loop.
  auto naive_embed = [&](const models::Embedder& e, const Tensor& x, int64_t b_, int64_t t_, int64_t out) {
    const Tensor w = e.patch_embed->weight, bias = e.patch_embed->bias;
    double acc = ops::select(bias, 0, out).item<double>();
    for (int64_t i = 0; i < e.in_dim(); ++i)
      acc += ops::select(ops::select(ops::select(w, 0, out), 0, i), 0, 0).item<double>() *
             ops::select(ops::select(ops::select(x, 0, b_), 0, t_), 0, i).item<double>();
    return acc;
  };
  double worst = 0;
  for (int64_t bi = 0; bi < b; ++bi)
    for (int64_t ti = 0; ti < t; ++ti)
      for (int64_t o = 0; o < d; ++o) {
        auto token = [&](int64_t k) { return ops::select(ops::select(ops::select(ops::select(tokens, 0, bi), 0, ti), 0, k), 0, o).item<double>(); };
        worst = std::max(worst, std::abs(token(s) - naive_embed(*model.proprio_encoder, proprio, bi, ti, o)));
        worst = std::max(worst, std::abs(token(s + 1) - naive_embed(*model.action_encoder, actions, bi, ti, o)));
      }
  EXPECT_LE(worst, 1e-6);
  // with_actions replaces the action token only.
  Tensor other_actions = randn({b, t, 3}, {}, &gen);
  Tensor replaced = model.with_actions(tokens, other_actions);
  EXPECT_TRUE(identical(ops::slice(replaced, 2, 0, s + 1), ops::slice(tokens, 2, 0, s + 1)));
  EXPECT_TRUE(ops::allclose(ops::select(replaced, 2, s + 1), model.action_encoder->forward(other_actions), 0, 0));
}

TEST(CjepaPredictorPushT, FutureActionIsNotAnInputAndNaNsBecomeZero) {
  const PushTPredictorConfig config = tiny_config();
  Generator gen(5);
  PushTWorldModel model(config, gen);
  model.eval();
  Tensor slots = randn({2, 3, 3, 8}, {}, &gen), proprio = randn({2, 3, 2}, {}, &gen), actions = randn({2, 3, 3}, {}, &gen);
  const auto base = model.forward_masked(slots, proprio, actions, {1});
  // Another future action, or none at all (history rows only): identical predictions and losses.
  Tensor changed = ops::clone(actions);
  ops::fill_(ops::select(changed, 1, 2), Scalar(123.0));
  for (const Tensor& a : {changed, ops::slice(actions, 1, 0, 2)}) {
    const auto out = model.forward_masked(slots, proprio, a, {1});
    EXPECT_TRUE(identical(out.predictions, base.predictions));
    EXPECT_EQ(out.loss.item<double>(), base.loss.item<double>());
  }
  // A NaN proprio value counts as 0 (torch.nan_to_num in the reference's forward).
  Tensor with_nan = ops::clone(proprio), with_zero = ops::clone(proprio);
  ops::fill_(ops::select(ops::select(ops::select(with_nan, 0, 1), 0, 1), 0, 0), Scalar(NAN));
  ops::fill_(ops::select(ops::select(ops::select(with_zero, 0, 1), 0, 1), 0, 0), Scalar(0.0));
  EXPECT_TRUE(identical(model.forward_masked(slots, with_nan, actions, {1}).predictions,
                         model.forward_masked(slots, with_zero, actions, {1}).predictions));
}

TEST(CjepaPredictorPushT, ReferenceParameterNamesShapesAndCount) {
  PushTWorldModel model(PushTPredictorConfig{});  // released: D 128, depth 6, T_h 3 + T_p 1, 4 slots
  EXPECT_EQ(model.num_parameters(), 3592576);     // spec §5.7: 3,590,528 + 1,408 + 640
  EXPECT_EQ(model.predictor->num_parameters(), 3590528);
  const auto state = model.state_dict();
  const std::map<std::string, Shape> expected = {
      {"predictor.mask_token", {1, 1, 128}},
      {"predictor.time_pos_embed", {1, 4, 1, 128}},
      {"predictor.id_projector.weight", {128, 128}},
      {"predictor.transformer.layers.5.0.in_proj_weight", {384, 128}},
      {"predictor.transformer.layers.5.1.1.weight", {2048, 128}},
      {"predictor.to_out.bias", {128}},
      {"action_encoder.patch_embed.weight", {128, 10, 1}},
      {"action_encoder.patch_embed.bias", {128}},
      {"proprio_encoder.patch_embed.weight", {128, 4, 1}},
      {"proprio_encoder.patch_embed.bias", {128}}};
  for (const auto& [key, shape] : expected) {
    ASSERT_TRUE(state.count(key)) << key;
    EXPECT_EQ(state.at(key).shape(), shape) << key;
  }
  const auto groups = model.optimizer_groups();
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(*groups[0].lr, 5e-4);
  EXPECT_EQ(*groups[1].lr, 1e-4);
  EXPECT_EQ(*groups[2].lr, 5e-4);
  EXPECT_EQ(groups[1].params.size(), 2u);  // proprio_encoder.patch_embed.{weight, bias}
}

TEST(CjepaPredictorPushT, BadInputsGiveClearErrors) {
  PushTWorldModel model(tiny_config());
  const Tensor slots = zeros({2, 3, 3, 8}), proprio = zeros({2, 3, 2}), actions = zeros({2, 3, 3});
  expect_has(error_of([&] { model.forward_masked(slots, proprio, actions, {3}); }),
             "masked index 3 is not an object slot (0..2)");
  expect_has(error_of([&] { model.forward_masked(zeros({2, 3, 4, 8}), proprio, actions, {}); }),
             "slots have 4 objects");
  expect_has(error_of([&] { model.forward_masked(slots, zeros({2, 2, 2}), actions, {}); }),
             "proprio has 2 time steps");
  expect_has(error_of([&] { model.forward_masked(slots, proprio, zeros({2, 1, 3}), {}); }),
             "actions has 1 time steps (shape [2, 1, 3]), expected 2..3");
  expect_has(error_of([&] { model.forward_masked(slots, zeros({2, 3, 4}), actions, {}); }),
             "proprio has shape [2, 3, 4], expected (2, T, 2)");
  expect_has(error_of([&] { model.inference(zeros({2, 2, 3, 8}), 1); }), "expected 5 tokens per step");
  expect_has(error_of([&] { model.inference(zeros({2, 3, 5, 8}), 1); }), "inference: got 3 time steps");
  expect_has(error_of([&] { model.with_actions(zeros({2, 2, 5, 8}), zeros({2, 3, 3})); }), "actions has 3 time steps");
  expect_has(error_of([&] { model.action_encoder->forward(zeros({2, 3})); }), "Embedder: expected input of shape (B, T, 3)");
}
