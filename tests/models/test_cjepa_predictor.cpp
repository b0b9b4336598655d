// The C-JEPA masked slot predictor (models/cjepa_predictor) against PyTorch
// (tests/fixtures/models/cjepa_predictor.safetensors, written by tools/fixtures/cjepa_predictor.py):
// the fixture's parameters load strictly by the reference's names, predictions, losses and
// inference outputs must agree to 1e-5 and parameter gradients of the total loss to 1e-4
// (max|a-b| / max|b|), and 3 AdamW steps follow PyTorch's. Plus the fixed masking of spec §5.3, the token grid of §5.2 against a
// naive per-token construction, and the shape errors.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "autograd/ops.hpp"
#include "models/cjepa_predictor.hpp"
#include "tensor/ops.hpp"
#include "tests/models/predictor_fixture.hpp"

using namespace cj;
using namespace cj::test;
using cj::models::CjepaPredictorConfig;
using cj::models::MaskedSlotPredictor;

namespace {

PredictorFixture load_clevrer_fixture() { return load_predictor_fixture("cjepa_predictor.safetensors"); }

// A one-block model at D = 8 (2 heads of width 4) for the tests that need no fixture.
CjepaPredictorConfig tiny_config(int64_t history, int64_t preds, double dropout) {
  CjepaPredictorConfig config;
  config.depth = 1;
  config.heads = 2;
  config.dim = 8;
  config.ffn = 16;
  config.history = history;
  config.preds = preds;
  config.dropout = dropout;
  return config;
}

// A model built for the fixture's config, in eval mode, with the fixture's parameters (strict).
std::unique_ptr<MaskedSlotPredictor> load_fixture_model(const PredictorFixture& f) {
  auto model = std::make_unique<MaskedSlotPredictor>(predictor_config_of(f.json()));
  model->eval();
  model->load_state_dict(f.with_prefix("param."), /*strict=*/true);
  return model;
}

}  // namespace

TEST(CjepaPredictor, ParityWithPyTorch) {
  PredictorFixture f = load_clevrer_fixture();
  auto model_ptr = load_fixture_model(f);
  MaskedSlotPredictor& model = *model_ptr;

  const std::vector<int64_t> masked = to_indices(f.at("input.masked_indices"));
  ASSERT_EQ(masked, models::fixed_mask_indices(f.json().at("slots"), f.json().at("masked")));

  auto out = model.forward_masked(f.at("input.slots"), masked);
  const double worst_out = expect_outputs_match({{"predictions", out.predictions},
                                                 {"loss_future", out.loss_future},
                                                 {"loss_history", out.loss_history},
                                                 {"loss", out.loss}},
                                                f, "output.");
  cj::backward(out.loss);
  const double worst_grad = expect_gradients_match(model, f);
  std::cout << "[cjepa_predictor] worst output rel error " << worst_out << ", worst gradient rel error "
            << worst_grad << "\n";
}

// The model under bf16 autocast (what train-predictor --precision bf16 runs): every op accepts the
// mixed dtypes, the losses come back f32, the fp32 parameters get fp32 gradients, and the results
// stay within bf16 precision of the fp32 reference: two bf16 ulps (2^-6) of each tensor's scale, for
// 8 significant bits compounded over the blocks (observed: loss 1e-4, gradients at most 7.3e-3).
TEST(CjepaPredictor, Bf16AutocastKeepsFp32LossesAndGradients) {
  PredictorFixture f = load_clevrer_fixture();
  auto model_ptr = load_fixture_model(f);
  MaskedSlotPredictor& model = *model_ptr;
  const std::vector<int64_t> masked = to_indices(f.at("input.masked_indices"));
  MaskedSlotPredictor::MaskedOutput out;
  {
    AutocastGuard amp(DType::bf16);
    out = model.forward_masked(f.at("input.slots"), masked);
  }
  EXPECT_EQ(out.loss.dtype(), DType::f32);
  EXPECT_LE(rel_error(out.loss, f.at("output.loss")), 1.0 / 64);
  cj::backward(out.loss);
  for (const auto& [name, p] : model.named_parameters()) {
    ASSERT_TRUE(p.grad().defined()) << name;
    EXPECT_EQ(p.grad().dtype(), DType::f32) << name;
    EXPECT_LE(rel_error(p.grad(), f.at("grad_param." + name)), 1.0 / 64) << name;
  }
}

TEST(CjepaPredictor, NoMaskLossIsFutureOnly) {
  PredictorFixture f = load_clevrer_fixture();
  auto model_ptr = load_fixture_model(f);
  MaskedSlotPredictor& model = *model_ptr;
  auto out = model.forward_masked(f.at("input.slots"), {});
  EXPECT_LE(rel_error(out.loss_future, f.at("nomask.loss_future")), kOutputTol);
  EXPECT_EQ(out.loss_history.item<double>(), 0.0);
  EXPECT_LE(rel_error(out.loss, f.at("nomask.loss")), kOutputTol);
}

TEST(CjepaPredictor, InferenceMatchesPyTorch) {
  PredictorFixture f = load_clevrer_fixture();
  auto model_ptr = load_fixture_model(f);
  MaskedSlotPredictor& model = *model_ptr;
  const int64_t preds = f.json().at("preds");
  // full history, and one step shorter (aligned to the end of time_pos_embed)
  for (const std::string which : {"full", "short"}) {
    Tensor got = model.inference(f.at("inference." + which + ".history"), preds);
    EXPECT_LE(rel_error(got, f.at("inference." + which + ".out")), kOutputTol) << which;
  }
}

TEST(CjepaPredictor, ThreeAdamWStepsMatchPyTorch) {
  PredictorFixture f = load_clevrer_fixture();
  auto model = load_fixture_model(f);
  const std::vector<int64_t> masked = to_indices(f.at("input.masked_indices"));
  nn::AdamOptions options;
  options.lr = 5e-4;  // weight decay: AdamW's default 0.01, as the reference
  nn::AdamW optimizer(model->parameters(), options);
  expect_adamw_steps_match(*model, optimizer, f, [&] { return model->forward_masked(f.at("input.slots"), masked).loss; });
}

TEST(CjepaPredictor, FixedMaskIndicesAreTheReferenceTable) {
  // spec §5.3: RandomState(42).choice(n, M, replace=False)
  EXPECT_EQ(models::fixed_mask_indices(7, 1), (std::vector<int64_t>{0}));
  EXPECT_EQ(models::fixed_mask_indices(7, 2), (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(models::fixed_mask_indices(7, 3), (std::vector<int64_t>{0, 1, 5}));
  EXPECT_EQ(models::fixed_mask_indices(7, 4), (std::vector<int64_t>{0, 1, 5, 2}));
  EXPECT_EQ(models::fixed_mask_indices(4, 1), (std::vector<int64_t>{1}));
  EXPECT_EQ(models::fixed_mask_indices(4, 2), (std::vector<int64_t>{1, 3}));
  EXPECT_TRUE(models::fixed_mask_indices(7, 0).empty());
  EXPECT_NE(error_of([] { models::fixed_mask_indices(4, 5); }).find("fixed_mask_indices"), std::string::npos);
}

TEST(CjepaPredictor, TokenGridVisibleAndQueryPositions) {
  const CjepaPredictorConfig config = tiny_config(3, 2, 0.0);
  Generator gen(7);
  MaskedSlotPredictor model(config, gen);
  const int64_t b = 2, s = 5, d = 8, t_h = 3, t_tot = 5;
  Tensor history = randn({b, t_h, s, d}, {}, &gen);
  const std::vector<int64_t> masked = {1, 4};
  NoGradGuard no_grad;
  Tensor grid = model.build_tokens(history, model.time_pos_embed, config.preds, masked);
  ASSERT_EQ(grid.shape(), (Shape{b, t_tot, s, d}));
  Tensor anchor_query = model.id_projector->forward(ops::select(history, 1, 0));  // (B, S, D)
  for (int64_t t = 0; t < t_tot; ++t) {
    Tensor pe = ops::reshape(ops::select(model.time_pos_embed, 1, t), {d});
    for (int64_t slot = 0; slot < s; ++slot) {
      const bool is_masked = slot == 1 || slot == 4;
      const bool visible = t == 0 || (t < t_h && !is_masked);
      Tensor expected = visible ? ops::add(ops::select(ops::select(history, 1, t), 1, slot), pe)
                                : ops::add(ops::add(ops::reshape(model.mask_token, {d}), pe),
                                           ops::select(anchor_query, 1, slot));
      Tensor got = ops::select(ops::select(grid, 1, t), 1, slot);  // (B, D)
      EXPECT_TRUE(ops::allclose(got, expected, 1e-6, 1e-6)) << "t " << t << " slot " << slot
                                                            << (visible ? " (visible)" : " (query)");
    }
  }
}

// The masked-history loss against an f64 loop: the mean over the history steps of the listed slots
// (in any order) only; its gradient reaches exactly those slots and steps.
TEST(CjepaPredictor, MaskedHistoryLossMatchesALoopAndTouchesOnlyMaskedSlots) {
  const int64_t B = 2, T = 5, S = 4, D = 3, history = 3;
  Generator gen(4);
  Tensor pred = cj::rand({B, T, S, D}, {DType::f32, Device::cpu()}, &gen);
  pred.requires_grad_(true);
  const Tensor target = cj::rand({B, T, S, D}, {DType::f32, Device::cpu()}, &gen);
  const std::vector<int64_t> masked = {3, 0};
  const Tensor loss = models::masked_history_loss(pred, target, history, masked);
  double want = 0;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < history; ++t)
      for (int64_t s : masked)
        for (int64_t d = 0; d < D; ++d) {
          const double e = pred.at({b, t, s, d}) - target.at({b, t, s, d});
          want += e * e;
        }
  want /= double(B * history * int64_t(masked.size()) * D);
  EXPECT_NEAR(loss.item(), want, 1e-6 * want);
  backward(loss);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t s = 0; s < S; ++s)
        for (int64_t d = 0; d < D; ++d) {
          const bool counted = t < history && (s == 0 || s == 3);
          const double g = counted ? 2 * (pred.at({b, t, s, d}) - target.at({b, t, s, d})) / double(B * history * 2 * D) : 0;
          EXPECT_NEAR(pred.grad().at({b, t, s, d}), g, 1e-6) << b << " " << t << " " << s << " " << d;
        }
  EXPECT_THROW(models::masked_history_loss(pred, target, history, {4}), Error);
}

TEST(CjepaPredictor, ReferenceParameterNamesAndCount) {
  CjepaPredictorConfig config;  // CLEVRER: depth 6, D 128, ffn 2048, 16 steps
  MaskedSlotPredictor model(config);
  EXPECT_EQ(model.num_parameters(), 3592064);  // spec §5.6
  auto state = model.state_dict();
  for (const char* key : {"mask_token", "time_pos_embed", "id_projector.weight", "to_out.bias",
                          "transformer.norm.weight", "transformer.layers.0.0.in_proj_weight",
                          "transformer.layers.0.0.out_proj.weight", "transformer.layers.5.1.0.weight",
                          "transformer.layers.5.1.1.weight", "transformer.layers.5.1.4.bias"})
    EXPECT_TRUE(state.count(key)) << key;
  EXPECT_EQ(state.at("mask_token").shape(), (Shape{1, 1, 128}));
  EXPECT_EQ(state.at("time_pos_embed").shape(), (Shape{1, 16, 1, 128}));
}

TEST(CjepaPredictor, BadInputsGiveClearErrors) {
  CjepaPredictorConfig config = tiny_config(3, 2, 0.1);
  MaskedSlotPredictor model(config);
  expect_has(error_of([&] { model.forward_masked(zeros({2, 4, 3, 8}), {}); }), "forward_masked: got 4 time steps");
  expect_has(error_of([&] { model.forward_masked(zeros({2, 5, 3, 6}), {}); }), "slot dim is 6");
  expect_has(error_of([&] { model.forward_masked(zeros({5, 3, 8}), {}); }), "expected slots of shape (B, T, S, D)");
  expect_has(error_of([&] { model.forward_masked(zeros({2, 5, 3, 8}), {3}); }), "masked slot index 3 out of range");
  expect_has(error_of([&] { model.forward_masked(zeros({2, 5, 3, 8}), {1, 1}); }), "given twice");
  expect_has(error_of([&] { model.inference(zeros({2, 4, 3, 8}), 2); }), "inference: got 4 time steps");
  expect_has(error_of([&] { model.inference(zeros({2, 3, 3, 8}), 0); }), "num_preds must lie in");
  config.heads = 3;
  expect_has(error_of([&] { MaskedSlotPredictor bad(config); }), "multiple of heads");
}

TEST(CjepaPredictor, TrainingDropoutChangesOutputAndStillBackpropagates) {
  const CjepaPredictorConfig config = tiny_config(2, 1, 0.5);
  Generator gen(3);
  MaskedSlotPredictor model(config, gen);
  Tensor slots = randn({2, 3, 3, 8}, {}, &gen);
  model.eval();
  Tensor eval_pred = model.forward_masked(slots, {0}).predictions;
  model.train();
  auto out = model.forward_masked(slots, {0});
  EXPECT_GT(max_rel_error(out.predictions, eval_pred), 1e-3);  // dropout active in training
  cj::backward(out.loss);
  for (const auto& [name, p] : model.named_parameters()) EXPECT_TRUE(p.grad().defined()) << name;
}
