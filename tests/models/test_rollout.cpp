// The slot rollout (models/rollout, reference spec §6) against the reference's rollout_video_slots
// re-implemented in PyTorch (tests/fixtures/models/rollout.safetensors, tools/fixtures/rollout.py):
// the CLEVRER setting (T_h 6, T_p 10, frameskip 2, 128 -> 160) and a general one (T_h 4 > T_p 3,
// frameskip 3, 20 -> 33) must agree to 1e-5 (max|a-b| / max|b|). The weights go through
// load_predictor by the reference's names under a prefix, as a converted checkpoint would. Plus the
// structural properties and the errors.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/temp_path.hpp"
#include "autograd/ops.hpp"
#include "models/predictor_loading.hpp"
#include "models/rollout.hpp"
#include "nn/checkpoint.hpp"
#include "tensor/error.hpp"
#include "tensor/io/safetensors.hpp"
#include "tensor/ops.hpp"
#include "tests/tensor/op_test_util.hpp"

using namespace cj;
using cj::models::RolloutConfig;
using cj::test::error_message;

namespace {

const std::string kFixture = std::string(CJ_FIXTURE_DIR) + "/models/rollout.safetensors";

struct RolloutCase {
  std::shared_ptr<models::MaskedSlotPredictor> model;
  RolloutConfig config;
  Tensor videos, expected;
};

RolloutCase load_case(const std::string& name) {
  auto file = io::read_safetensors(kFixture);
  const nlohmann::json c = nlohmann::json::parse(file.metadata.at("cases")).at(name);
  models::PredictorWeightsOptions options;
  options.prefix = name + ".predictor.";
  options.heads = c.at("heads").get<int64_t>();
  options.history = c.at("history").get<int64_t>();
  RolloutCase rc;
  rc.model = models::load_predictor(kFixture, options).model;
  EXPECT_EQ(rc.model->config().preds, c.at("preds").get<int64_t>());
  EXPECT_EQ(rc.model->config().depth, c.at("depth").get<int64_t>());
  rc.config.obs_frames = c.at("obs_frames");
  rc.config.target_len = c.at("target_len");
  rc.config.frameskip = c.at("frameskip");
  rc.videos = file.tensors.at(name + ".input.videos");
  rc.expected = file.tensors.at(name + ".output.videos");
  return rc;
}


}  // namespace

TEST(Rollout, ClevrerSettingMatchesPyTorch) {
  RolloutCase rc = load_case("clevrer");
  ASSERT_EQ(rc.config.obs_frames, 128);
  ASSERT_EQ(rc.config.target_len, 160);
  const Tensor out = models::rollout_slots(*rc.model, rc.videos, rc.config);
  ASSERT_EQ(out.shape(), rc.expected.shape());
  EXPECT_EQ(out.dtype(), DType::f32);
  const double err = ops::max_rel_error(out, rc.expected);
  EXPECT_LE(err, 1e-5);
  std::printf("rollout parity, CLEVRER setting: max rel error %.3g\n", err);
}

TEST(Rollout, GeneralSettingWithShiftedHistoryMatchesPyTorch) {
  RolloutCase rc = load_case("general");
  ASSERT_GT(rc.model->config().history, rc.model->config().preds);  // the branch that shifts the history
  const Tensor out = models::rollout_slots(*rc.model, rc.videos, rc.config);
  ASSERT_EQ(out.shape(), rc.expected.shape());
  EXPECT_LE(ops::max_rel_error(out, rc.expected), 1e-5);
}

TEST(Rollout, ObservedFramesAreCopiedExactlyAndBatchingDoesNotMatter) {
  RolloutCase rc = load_case("clevrer");
  const Tensor out = models::rollout_slots(*rc.model, rc.videos, rc.config);
  EXPECT_EQ(ops::max_rel_error(cj::slice(out, 1, 0, 128), rc.videos), 0.0);
  // Predicted frames differ from the last observed one (the model is not an identity).
  EXPECT_GT(ops::max_rel_error(cj::select(out, 1, 128), cj::select(rc.videos, 1, 127)), 1e-2);
  for (int64_t b = 0; b < rc.videos.shape()[0]; ++b) {
    const Tensor alone = models::rollout_slots(*rc.model, cj::slice(rc.videos, 0, b, b + 1), rc.config);
    EXPECT_LE(ops::max_rel_error(alone, cj::slice(out, 0, b, b + 1)), 1e-6) << "video " << b;
  }
}

TEST(Rollout, BadInputIsOneClearError) {
  RolloutCase rc = load_case("clevrer");
  const Tensor short_videos = cj::slice(rc.videos, 1, 0, 100);
  EXPECT_NE(error_message([&] { models::rollout_slots(*rc.model, short_videos, rc.config); })
                .find("videos have 100 frames (shape [3, 100, 3, 8]), the rollout needs exactly 128"),
            std::string::npos);
  const Tensor wrong_dim = zeros({1, 128, 3, 4});
  EXPECT_NE(error_message([&] { models::rollout_slots(*rc.model, wrong_dim, rc.config); })
                .find("slot dim is 4 (shape [1, 128, 3, 4]), the predictor's is 8"),
            std::string::npos);
  RolloutConfig tiny = rc.config;
  tiny.obs_frames = 10;  // 6 history frames x frameskip 2 = 12 > 10
  EXPECT_NE(error_message([&] { models::rollout_slots(*rc.model, cj::slice(rc.videos, 1, 0, 10), tiny); })
                .find("10 observed frames are fewer than the 6 history frames x frameskip 2"),
            std::string::npos);
  RolloutConfig backwards = rc.config;
  backwards.target_len = 128;
  EXPECT_NE(error_message([&] { models::rollout_slots(*rc.model, rc.videos, backwards); })
                .find("target length (128) must exceed the observed frames (128)"),
            std::string::npos);
}

TEST(PredictorLoading, NamesTheProblemWithAWeightsFile) {
  EXPECT_NE(error_message([&] { models::load_predictor(kFixture); }).find("holds 2 C-JEPA predictors"), std::string::npos);
  EXPECT_NE(error_message([&] {
              models::PredictorWeightsOptions o;
              o.prefix = "nothing.";
              models::load_predictor(kFixture, o);
            }).find("no tensor 'nothing.mask_token'"),
            std::string::npos);
  EXPECT_NE(error_message([&] { models::load_predictor("/nonexistent/weights.ckpt"); }).find("/nonexistent/weights.ckpt"),
            std::string::npos);
  models::PredictorWeightsOptions o;
  o.prefix = "clevrer.predictor.";
  o.heads = 3;  // 8 is not a multiple of 3
  EXPECT_NE(error_message([&] { models::load_predictor(kFixture, o); }).find("slot dim 8 is not a multiple of 3 heads"),
            std::string::npos);
}

TEST(PredictorLoading, ReadsOurCheckpointWithItsConfig) {
  models::CjepaPredictorConfig c;
  c.depth = 1;
  c.heads = 2;
  c.dim = 8;
  c.ffn = 16;
  c.history = 3;
  c.preds = 4;
  Generator gen(7);
  models::MaskedSlotPredictor model(c, gen);
  const auto path = (cj::test::unique_temp_path("cj_test_rollout_checkpoint.ckpt")).string();
  nn::save_checkpoint(path, model, nullptr, 5, gen,
                      R"({"predictor_lr": 0.0005, "num_masked_slots": 2, "frameskip": 3, "dinowm": {"history_size": 3},)"
                      R"( "predictor": {"heads": 2}})");
  models::LoadedPredictor loaded = models::load_predictor(path);
  std::filesystem::remove(path);
  EXPECT_EQ(loaded.kind, "cjepa checkpoint");
  EXPECT_EQ(loaded.prefix, "model.");
  EXPECT_EQ(loaded.model->config().heads, 2);
  EXPECT_EQ(loaded.model->config().history, 3);
  EXPECT_EQ(loaded.model->config().preds, 4);
  ASSERT_TRUE(loaded.lr && loaded.masked_slots);
  EXPECT_DOUBLE_EQ(*loaded.lr, 0.0005);
  EXPECT_EQ(*loaded.masked_slots, 2);
  EXPECT_EQ(loaded.frameskip, std::optional<int64_t>(3));
  const Tensor history = randn({2, 3, 5, 8}, {}, &gen);
  model.eval();
  EXPECT_EQ(ops::max_rel_error(loaded.model->inference(history, 4), model.inference(history, 4)), 0.0);
}
