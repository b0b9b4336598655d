// The README's main job must run end to end on self-made data and leave what it promises.
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/apps/run_cli.hpp"

using cj::test::run_cjepa;

TEST(Demo, RunsEveryExistingStageAndWritesItsFiles) {
  auto dir = std::filesystem::temp_directory_path() / "cj_test_demo";
  std::filesystem::remove_all(dir);
  auto r = run_cjepa("demo --episodes 1 --steps 20 --out " + dir.string());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  for (const char* f : {"pusht/index.json", "slots/slots.pkl", "metrics.jsonl", "dynamics.ckpt.safetensors"})
    EXPECT_TRUE(std::filesystem::exists(dir / f)) << f << "\n" << r.out;
  EXPECT_NE(r.out.find("\"val_mse\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("still_to_come"), std::string::npos) << r.out;
  std::filesystem::remove_all(dir);
}

TEST(Demo, RejectsNonsenseSteps) {
  auto r = run_cjepa("demo --steps 0");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("--steps"), std::string::npos) << r.out;
}
