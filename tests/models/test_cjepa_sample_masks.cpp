// Per-sample slot masks (forward_masked_per_sample with a (B, S) bool mask, for --mask random): each sample of
// a batch must get exactly what the shared-index path gives it alone, and the history loss is the
// mean over every sample's hidden slots.
#include <gtest/gtest.h>

#include <cmath>
#include <type_traits>

#include "autograd/ops.hpp"
#include "models/cjepa_predictor.hpp"
#include "models/cjepa_predictor_pusht.hpp"
#include "tensor/error.hpp"
#include "tensor/ops.hpp"
#include "tests/error_of.hpp"

using namespace cj;
using cj::models::CjepaPredictorConfig;
using cj::models::MaskedSlotPredictor;
using cj::test::error_of;

namespace {

CjepaPredictorConfig small_config() {
  CjepaPredictorConfig c;
  c.depth = 2;
  c.heads = 4;
  c.dim = 16;
  c.ffn = 32;
  c.history = 3;
  c.preds = 2;
  return c;
}

Tensor row_mask(const std::vector<std::vector<int64_t>>& hidden_per_sample, int64_t slots) {
  std::vector<uint8_t> v(hidden_per_sample.size() * static_cast<std::size_t>(slots), 0);
  for (std::size_t b = 0; b < hidden_per_sample.size(); ++b)
    for (int64_t s : hidden_per_sample[b]) v[b * static_cast<std::size_t>(slots) + static_cast<std::size_t>(s)] = 1;
  return ops::to(from_vector(v, {static_cast<int64_t>(hidden_per_sample.size()), slots}), DType::b8);
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  const auto x = to_vector<double>(a), y = to_vector<double>(b);
  double m = 0;
  for (std::size_t i = 0; i < x.size(); ++i) m = std::max(m, std::fabs(x[i] - y[i]));
  return m;
}

TEST(CjepaSampleMasks, EachSampleMatchesTheSharedIndexPath) {
  Generator gen(5);
  MaskedSlotPredictor model(small_config(), gen);
  model.eval();
  const Tensor slots = randn({2, 5, 4, 16}, {}, &gen);
  const auto batch = model.forward_masked_per_sample(slots, row_mask({{0, 2}, {3, 1}}, 4));
  const auto first = model.forward_masked(ops::narrow(slots, 0, 0, 1), std::vector<int64_t>{0, 2});
  const auto second = model.forward_masked(ops::narrow(slots, 0, 1, 1), std::vector<int64_t>{1, 3});
  EXPECT_LT(max_abs_diff(ops::narrow(batch.predictions, 0, 0, 1), first.predictions), 1e-6);
  EXPECT_LT(max_abs_diff(ops::narrow(batch.predictions, 0, 1, 1), second.predictions), 1e-6);
  // equal counts per sample: the batch means are the means of the per-sample means
  EXPECT_NEAR(batch.loss_history.item(), (first.loss_history.item() + second.loss_history.item()) / 2, 1e-6);
  EXPECT_NEAR(batch.loss_future.item(), (first.loss_future.item() + second.loss_future.item()) / 2, 1e-6);
  EXPECT_GT(batch.loss_history.item(), 0.0);

  // with the same row everywhere it is the shared-index forward
  const auto shared = model.forward_masked(slots, std::vector<int64_t>{1, 2});
  const auto rows = model.forward_masked_per_sample(slots, row_mask({{1, 2}, {1, 2}}, 4));
  EXPECT_LT(max_abs_diff(rows.predictions, shared.predictions), 1e-6);
  EXPECT_NEAR(rows.loss.item(), shared.loss.item(), 1e-6);
  // and no hidden slot is the no-mask baseline
  const auto none = model.forward_masked_per_sample(slots, row_mask({{}, {}}, 4));
  EXPECT_EQ(none.loss_history.item(), 0.0);
  EXPECT_LT(max_abs_diff(none.predictions, model.forward_masked(slots, std::vector<int64_t>{}).predictions), 1e-6);
}

TEST(CjepaSampleMasks, GradientsFlowAndBadMasksAreErrors) {
  Generator gen(6);
  MaskedSlotPredictor model(small_config(), gen);
  const Tensor slots = randn({2, 5, 4, 16}, {}, &gen);
  backward(model.forward_masked_per_sample(slots, row_mask({{0}, {3}}, 4)).loss);
  EXPECT_TRUE(model.mask_token.grad().defined());
  EXPECT_GT(ops::sum(ops::abs(model.mask_token.grad())).item(), 0.0);

  try {
    model.forward_masked_per_sample(slots, row_mask({{0}, {1, 2}}, 4));
    FAIL() << "no error for unequal mask counts";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("sample 0 hides 1, sample 1 hides 2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(model.forward_masked_per_sample(slots, row_mask({{0}}, 4)), Error);              // wrong batch
  EXPECT_THROW(model.forward_masked_per_sample(slots, ops::to(row_mask({{0}, {1}}, 4), DType::f32)), Error);  // not bool
}

// A mask counted once (on the host, by the trainer) drives the same forward as the bare mask, which is
// counted on every call; counting checks what it can without the model's shapes.
TEST(CjepaSampleMasks, CountedMasksDriveTheSameForward) {
  const models::SampleMasks masks = models::SampleMasks::counted("test", row_mask({{0, 2}, {3, 1}}, 4));
  EXPECT_EQ(masks.per_row(), 2);
  EXPECT_EQ(models::SampleMasks::counted("test", row_mask({{}, {}}, 4)).per_row(), 0);
  EXPECT_EQ(models::SampleMasks::counted("test", zeros({0, 4}, DType::b8)).per_row(), 0);
  Generator gen(7);
  MaskedSlotPredictor model(small_config(), gen);
  model.eval();
  const Tensor slots = randn({2, 5, 4, 16}, {}, &gen);
  const auto counted = model.forward_masked_per_sample(slots, masks);
  const auto bare = model.forward_masked_per_sample(slots, masks.hidden());
  EXPECT_EQ(max_abs_diff(counted.predictions, bare.predictions), 0.0);
  EXPECT_EQ(counted.loss.item(), bare.loss.item());
  try {
    models::SampleMasks::counted("my_op", row_mask({{0}, {1, 2}}, 4));
    FAIL() << "no error for unequal mask counts";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("my_op: every sample must hide the same number of slots"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(models::SampleMasks::counted("my_op", zeros({2, 4, 1}, DType::b8)), Error);  // not (B, S)
  EXPECT_THROW(models::SampleMasks::counted("my_op", Tensor()), Error);
}

// Only counted() makes a count: a mask paired with any other count (0 where slots are hidden: the
// forward would leave the mask out of the predictor's input while the loss still uses it) cannot be
// built. Appended never-hidden columns (Push-T's proprio and action tokens) keep the count.
TEST(CjepaSampleMasks, ACountComesOnlyFromCountingAndSurvivesVisibleColumns) {
  EXPECT_FALSE(std::is_aggregate_v<models::SampleMasks>);
  EXPECT_FALSE((std::is_constructible_v<models::SampleMasks, Tensor, int64_t>));
  const models::SampleMasks masks = models::SampleMasks::counted("test", row_mask({{0, 2}, {3, 1}}, 4));
  const models::SampleMasks wide = masks.with_visible_columns(2);
  EXPECT_EQ(wide.per_row(), 2);
  EXPECT_EQ(wide.hidden().dtype(), DType::b8);
  EXPECT_EQ(to_vector<int64_t>(ops::to(wide.hidden(), DType::i64)),
            std::vector<int64_t>({1, 0, 1, 0, 0, 0, 0, 1, 0, 1, 0, 0}));
}

// A mask of the wrong shape is reported as such even when its rows also hide different numbers of
// slots: the shape is the mistake (counting the mask first reported the counts instead).
TEST(CjepaSampleMasks, AWrongShapeIsReportedBeforeTheCounts) {
  Generator gen(9);
  MaskedSlotPredictor model(small_config(), gen);
  const Tensor slots = randn({2, 5, 4, 16}, {}, &gen);
  const Tensor three_slots = row_mask({{0}, {1, 2}}, 3);  // S = 3 where the slots have 4, and unequal counts
  for (const std::string& message :
       {error_of([&] { model.forward_masked_per_sample(slots, three_slots); }),
        error_of([&] { model.predict_hidden(ops::slice(slots, 1, 0, 3), three_slots); })})
    EXPECT_NE(message.find("per-sample mask must be bool of shape (B, S) = (2, 4), got [2, 3]"), std::string::npos)
        << message;

  models::PushTPredictorConfig c;
  c.predictor = small_config();
  models::PushTWorldModel pusht(c, gen);
  const Tensor proprio = randn({2, 5, 4}, {}, &gen), actions = randn({2, 3, 10}, {}, &gen);
  for (const Tensor& bad : {row_mask({{0}, {1, 5}}, 6), ops::reshape(row_mask({{0}, {1}}, 4), {8})}) {
    const std::string message = error_of([&] { pusht.forward_masked_per_sample(slots, proprio, actions, bad); });
    EXPECT_NE(message.find("per-sample mask must be (B, 4) over the object slots"), std::string::npos) << message;
  }
}

TEST(CjepaSampleMasks, PushTEachSampleMatchesTheSharedIndexPath) {
  models::PushTPredictorConfig c;
  c.predictor = small_config();  // T_h 3, T_p 2, D 16
  Generator gen(8);
  models::PushTWorldModel model(c, gen);
  model.eval();
  const Tensor slots = randn({2, 5, 4, 16}, {}, &gen), proprio = randn({2, 5, 4}, {}, &gen),
               actions = randn({2, 3, 10}, {}, &gen);
  const auto batch = model.forward_masked_per_sample(slots, proprio, actions, row_mask({{1}, {3}}, 4));
  auto sample = [&](int64_t b) { return [=](const Tensor& x) { return ops::narrow(x, 0, b, 1); }; };
  const auto first = model.forward_masked(sample(0)(slots), sample(0)(proprio), sample(0)(actions), {1});
  const auto second = model.forward_masked(sample(1)(slots), sample(1)(proprio), sample(1)(actions), {3});
  EXPECT_LT(max_abs_diff(ops::narrow(batch.predictions, 0, 0, 1), first.predictions), 1e-6);
  EXPECT_LT(max_abs_diff(ops::narrow(batch.predictions, 0, 1, 1), second.predictions), 1e-6);
  EXPECT_NEAR(batch.loss_history.item(), (first.loss_history.item() + second.loss_history.item()) / 2, 1e-6);
  EXPECT_NEAR(batch.loss_proprio.item(), (first.loss_proprio.item() + second.loss_proprio.item()) / 2, 1e-6);
  EXPECT_GT(batch.loss_history.item(), 0.0);
  // the mask covers the object slots only: a (B, S + 2) mask naming the proprio/action tokens is refused
  EXPECT_THROW(model.forward_masked_per_sample(slots, proprio, actions, row_mask({{4}, {5}}, 6)), Error);
}

}  // namespace
