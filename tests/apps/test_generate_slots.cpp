#include <gtest/gtest.h>

#include <filesystem>

#include "tests/temp_path.hpp"
#include "tests/apps/run_cli.hpp"

using cj::test::run_cjepa;

TEST(GenerateSlots, WritesTheReferenceLayoutFiles) {
  auto dir = cj::test::unique_temp_path("cj_test_generate_slots");
  std::filesystem::remove_all(dir);
  auto r = run_cjepa("generate slots --quiet --train 2 --val 1 --frames 8 --objects 4 --dim 16 --out " + dir.string());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("\"shape\":[8,4,16]"), std::string::npos) << r.out;
  for (const char* f : {"slots.pkl", "states.pkl", "world.json"}) EXPECT_TRUE(std::filesystem::exists(dir / f)) << f;
  EXPECT_GT(std::filesystem::file_size(dir / "slots.pkl"), 3u * 8 * 4 * 16 * 4);
  std::filesystem::remove_all(dir);
}

TEST(GenerateSlots, BadValuesAreOneClearError) {
  auto r = run_cjepa("generate slots --objects 100 --out /nonexistent/x");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("objects must be in 1..32, got 100"), std::string::npos) << r.out;
  r = run_cjepa("generate slots --frames abc");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("expects an integer"), std::string::npos) << r.out;
}
