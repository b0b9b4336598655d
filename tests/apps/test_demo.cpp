// The README's main job must run end to end on self-made data and leave what it promises.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>

#include "tests/temp_path.hpp"
#include "tensor/io/load.hpp"
#include "tensor/io/safetensors.hpp"

#include "tests/apps/run_cli.hpp"

using cj::test::run_cjepa;

TEST(Demo, RunsEveryStageAndWritesItsFiles) {
  auto dir = cj::test::unique_temp_path("cj_test_demo");
  std::filesystem::remove_all(dir);
  auto r = run_cjepa("demo --quick --episodes 1 --epochs 2 --out " + dir.string());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  for (const char* f : {"pusht/index.json", "features.safetensors", "slots/slots.pkl", "predictor/metrics.jsonl",
                        "predictor/last.safetensors", "predictor/demo_predictor.safetensors", "rollout_slots.pkl"})
    EXPECT_TRUE(std::filesystem::exists(dir / f)) << f << "\n" << r.out;
  // the features of the 9 rendered frames (reset + 8 steps) at 56x56: 4x4 patches of a 384-wide ViT-S
  const auto features = cj::io::read_safetensors((dir / "features.safetensors").string()).tensors;
  EXPECT_EQ(features.at("last_hidden_state").shape(), cj::Shape({9, 16, 384}));
  // 3 videos rolled out from 128 to 160 frames of 7 slots of dim 16
  const auto rollout = cj::io::load_tensors((dir / "rollout_slots.pkl").string());
  ASSERT_EQ(rollout.size(), 3u);
  for (const auto& [name, video] : rollout) EXPECT_EQ(video.shape(), cj::Shape({160, 7, 16})) << name;
  EXPECT_NE(r.out.find("\"val_future_mse_last_epoch\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"val_future_mse_copy_last_frame\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("still_to_come"), std::string::npos) << r.out;
  std::filesystem::remove_all(dir);
}

TEST(Demo, RejectsNonsenseEpochs) {
  auto r = run_cjepa("demo --epochs 0");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("--epochs"), std::string::npos) << r.out;
}
