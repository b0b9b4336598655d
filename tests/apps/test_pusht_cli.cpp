// `cjepa generate pusht` and `cjepa pusht play` as a user runs them.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/apps/run_cli.hpp"

using cj::test::run_cjepa;
namespace fs = std::filesystem;

namespace {
fs::path temp_dir(const std::string& name) {
  fs::path p = fs::path(::testing::TempDir()) / ("cj_pusht_" + name + "_" + std::to_string(getpid()));
  fs::remove_all(p);
  return p;
}
}  // namespace

TEST(PushTCli, GenerateWritesVideosArraysAndIndex) {
  fs::path out = temp_dir("gen");
  auto r = run_cjepa("generate pusht --out " + out.string() + " --episodes 2 --length 6 --size 64 --seed 4");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("ep/s"), std::string::npos) << r.out;  // the progress bar's rate
  EXPECT_NE(r.out.find("took"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::file_size(out / "videos" / "ep_000001.mp4") > 0);
  EXPECT_EQ(fs::file_size(out / "episodes" / "ep_000000_state.npy"), 128u + 7 * 7 * 8);  // header + [7, 7] f8
  EXPECT_EQ(fs::file_size(out / "episodes" / "ep_000000_action.npy"), 128u + 6 * 2 * 8);
  auto index = nlohmann::json::parse(std::ifstream(out / "index.json"));
  EXPECT_EQ(index["episodes"].size(), 2u);
  EXPECT_EQ(index["episodes"][1]["seed"], 5);
  EXPECT_EQ(index["summary"]["variant"], "stable-worldmodel");
  fs::remove_all(out);
}

TEST(PushTCli, GenerateMovingVideos) {
  fs::path out = temp_dir("moving");
  auto r = run_cjepa("generate pusht --mode moving --out " + out.string() + " --episodes 1 --length 8 --size 64 --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(fs::exists(out / "videos" / "ep_000000.mp4"));
  fs::remove_all(out);
}

TEST(PushTCli, GenerateRejectsBadValues) {
  auto r = run_cjepa("generate pusht --out /tmp/x --variant dino");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("unknown variant 'dino'"), std::string::npos) << r.out;
  r = run_cjepa("generate pusht --out /tmp/x --policy expert");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("unknown policy 'expert'"), std::string::npos) << r.out;
  r = run_cjepa("generate pusht --out /tmp/x --episodes 0");
  EXPECT_EQ(r.exit_code, 2);
  r = run_cjepa("generate frobs");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("unknown kind 'frobs'"), std::string::npos) << r.out;
  r = run_cjepa("generate --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("pusht"), std::string::npos) << r.out;
}

TEST(PushTCli, PlayWritesAGif) {
  fs::path out = temp_dir("play");
  fs::create_directories(out);
  auto r = run_cjepa("pusht play --seed 2 --steps 5 --size 64 --out " + (out / "p.gif").string());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::ifstream gif(out / "p.gif", std::ios::binary);
  char magic[6] = {};
  gif.read(magic, 6);
  EXPECT_EQ(std::string(magic, 6), "GIF89a");
  EXPECT_NE(r.out.find("6 frames"), std::string::npos) << r.out;
  r = run_cjepa("pusht dance");
  EXPECT_EQ(r.exit_code, 2);
  fs::remove_all(out);
}
