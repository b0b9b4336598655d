// The train-predictor configuration (apps/predictor_config): presets, the reference's YAML keys,
// key=value overrides, and one clear error per unknown key or bad value.
#include <gtest/gtest.h>

#include "apps/predictor_config.hpp"
#include "tests/error_of.hpp"

namespace cj::app {
namespace {

using cj::test::error_of;

TEST(TrainerConfig, PresetsYamlOverridesAndUnknownKeys) {
  TrainerConfig c = preset_config("clevrer");
  EXPECT_EQ(c.batch_size, 256);
  EXPECT_EQ(c.max_epochs, 30);
  EXPECT_EQ(c.num_masked_slots, 4);
  EXPECT_EQ(c.history_size, 6);
  EXPECT_EQ(c.num_preds, 10);
  EXPECT_EQ(c.frameskip, 2);
  EXPECT_EQ(c.num_slots, 7);
  EXPECT_EQ(c.lr_schedule, "constant");
  EXPECT_DOUBLE_EQ(c.predictor_lr, 5e-4);
  EXPECT_DOUBLE_EQ(c.weight_decay, 0.01);
  const TrainerConfig p = preset_config("pusht");
  EXPECT_EQ(p.history_size, 3);
  EXPECT_EQ(p.num_preds, 1);
  EXPECT_EQ(p.frameskip, 5);
  EXPECT_EQ(p.num_masked_slots, 1);
  EXPECT_EQ(p.lr_schedule, "cosine");
  EXPECT_DOUBLE_EQ(p.proprio_encoder_lr, 1e-4);
  EXPECT_TRUE(p.pusht());

  // The reference yaml's shape: unused sections (wandb, hydra, rollout, defaults list, a Hydra
  // interpolation) are accepted; the used keys land in the config.
  apply_yaml(c, R"(
defaults:
  - _self_
  - override hydra/hydra_logging: disabled
hydra:
  output_subdir: null
wandb: {enable: true, project: p}
dataset_name: clevrer
embedding_dir: null
rollout: {save_rollout: true, rollout_batch_size: 64}
trainer: {max_epochs: 100, strategy: ddp, devices: auto, accelerator: gpu, precision: 32, log_every_n_steps: 5}
batch_size: 128
n_steps: ${eval:'${dinowm.num_preds} + ${dinowm.history_size}'}
dinowm: {history_size: 5, num_preds: 3}
predictor: {depth: 2, heads: 8}
videosaur: {NUM_SLOTS: 6, SLOT_DIM: 64, DINO_MODEL: vit}
model: {encoder: {backbone: {name: TimmExtractor}}}
)",
             "test.yaml");
  EXPECT_EQ(c.max_epochs, 100);
  EXPECT_EQ(c.log_every_n_steps, 5);
  EXPECT_EQ(c.batch_size, 128);
  EXPECT_EQ(c.history_size, 5);
  EXPECT_EQ(c.depth, 2);
  EXPECT_EQ(c.num_slots, 6);
  EXPECT_EQ(c.embedding_dir, "");
  apply_override(c, "dinowm.num_preds=7");
  apply_override(c, "cjepa.mask=random");
  apply_override(c, "embedding_dir='a b.pkl'");
  EXPECT_EQ(c.num_preds, 7);
  EXPECT_EQ(c.mask, "random");
  EXPECT_EQ(c.embedding_dir, "a b.pkl");

  EXPECT_EQ(error_of([&] { apply_yaml(c, "predictor:\n  dept: 3\n", "my.yaml"); }),
            "my.yaml: unknown config key 'predictor.dept' (see `cjepa train-predictor --help` for the keys)");
  EXPECT_NE(error_of([&] { apply_override(c, "batchsize=3"); }).find("unknown config key 'batchsize'"),
            std::string::npos);
  EXPECT_EQ(error_of([&] { apply_override(c, "batch_size=many"); }),
            "override 'batch_size=many': config key 'batch_size' expects an integer, got 'many'");
  EXPECT_NE(error_of([&] { apply_yaml(c, "seed: [1, 2]", "s.yaml"); }).find("'seed' expects a single value"),
            std::string::npos);
  EXPECT_NE(error_of([&] { preset_config("movi"); }).find("unknown preset 'movi'"), std::string::npos);
  TrainerConfig bad = preset_config("clevrer");
  bad.embedding_dir = "x.pkl";
  bad.num_masked_slots = 8;
  EXPECT_NE(error_of([&] { bad.validate(); }).find("'num_masked_slots' must lie in [0, 7]"), std::string::npos);
  bad.num_masked_slots = 1;
  bad.precision = "64";
  EXPECT_NE(error_of([&] { bad.validate(); }).find("'trainer.precision'"), std::string::npos);
}

}  // namespace
}  // namespace cj::app
