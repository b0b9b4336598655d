// cjepa rollout end to end: a slot pickle with two splits made from the rollout fixture's videos
// (tests/fixtures/models/rollout.safetensors, tools/fixtures/rollout.py), rolled out with the
// fixture's weights by their reference names, must come back as rollout_<name>_lr<lr>_mask<M>.pkl in
// the same layout, equal to the PyTorch rollout to 1e-5 (max|a-b| / max|b|). Then the errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "tests/temp_path.hpp"
#include "tensor/io/load.hpp"
#include "tensor/io/pickle_writer.hpp"
#include "tensor/io/safetensors.hpp"
#include "tensor/ops.hpp"
#include "tests/apps/run_cli.hpp"

using namespace cj;
using cj::test::run_cjepa;

namespace {

const std::string kWeights = std::string(CJ_FIXTURE_DIR) + "/models/rollout.safetensors";
const std::string kModel = " --weights " + kWeights + " --prefix clevrer.predictor. --heads 2 --history 6 --quiet";

struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& name) : path(cj::test::unique_temp_path(name)) {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

// {train: {0_pixels.mp4, 1_pixels.mp4}, val: {0_pixels.mp4}} from the fixture's three videos
// (each sliced to `frames` frames and `dim` features).
void write_slots(const std::string& path, const Tensor& videos, int64_t frames, int64_t dim) {
  io::PickleDict root;
  auto video = [&](int64_t i) { return ops::contiguous(ops::slice(ops::slice(ops::select(videos, 0, i), 0, 0, frames), 2, 0, dim)); };
  root.dicts["train"].arrays["0_pixels.mp4"] = video(0);
  root.dicts["train"].arrays["1_pixels.mp4"] = video(1);
  root.dicts["val"].arrays["0_pixels.mp4"] = video(2);
  io::write_pickle_numpy_tree(path, root);
}

}  // namespace

TEST(RolloutCli, WritesTheReferenceNameAndLayoutAndMatchesPyTorch) {
  TempDir dir("cj_test_rollout_cli");
  auto fixture = io::read_safetensors(kWeights);
  const Tensor videos = fixture.tensors.at("clevrer.input.videos"), expected = fixture.tensors.at("clevrer.output.videos");
  write_slots(dir.file("clevrer_slots.pkl"), videos, 128, 8);
  auto r = run_cjepa("rollout " + dir.file("clevrer_slots.pkl") + kModel + " --lr 5e-4 --masked-slots 4 --batch 2");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const std::string out = dir.file("rollout_clevrer_slots_lr0.0005_mask4.pkl");
  ASSERT_TRUE(std::filesystem::exists(out)) << r.out;
  EXPECT_NE(r.out.find("\"videos\":3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"shape\":[160,3,8]"), std::string::npos) << r.out;
  auto rolled = io::load_tensors(out);
  ASSERT_EQ(rolled.size(), 3u);
  const std::pair<const char*, int64_t> keys[] = {{"train.0_pixels.mp4", 0}, {"train.1_pixels.mp4", 1}, {"val.0_pixels.mp4", 2}};
  for (const auto& [key, index] : keys) {
    ASSERT_TRUE(rolled.count(key)) << key;
    EXPECT_EQ(rolled.at(key).dtype(), DType::f32);
    EXPECT_LE(ops::max_rel_error(rolled.at(key), ops::select(expected, 0, index)), 1e-5) << key;
  }
  // Python's repr of the lr in the name: 5e-05 below 1e-4.
  r = run_cjepa("rollout " + dir.file("clevrer_slots.pkl") + kModel + " --lr 0.00005 --masked-slots 0");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(std::filesystem::exists(dir.file("rollout_clevrer_slots_lr5e-05_mask0.pkl"))) << r.out;
}

TEST(RolloutCli, BadInputIsOneClearError) {
  TempDir dir("cj_test_rollout_cli_errors");
  const Tensor videos = io::read_safetensors(kWeights).tensors.at("clevrer.input.videos");
  auto r = run_cjepa("rollout " + dir.file("missing.pkl") + kModel + " --out " + dir.file("o.pkl"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("missing.pkl: no such slot file"), std::string::npos) << r.out;

  write_slots(dir.file("short.pkl"), videos, 100, 8);
  r = run_cjepa("rollout " + dir.file("short.pkl") + kModel + " --out " + dir.file("o.pkl"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("video 'train/0_pixels.mp4' has 100 frames; the rollout needs exactly 128"), std::string::npos)
      << r.out;

  write_slots(dir.file("narrow.pkl"), videos, 128, 4);
  r = run_cjepa("rollout " + dir.file("narrow.pkl") + kModel + " --out " + dir.file("o.pkl"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("slots have dim 4"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("has dim 8"), std::string::npos) << r.out;

  io::PickleDict mixed;  // videos disagreeing on the number of slots
  mixed.dicts["train"].arrays["a"] = ops::contiguous(ops::select(videos, 0, 0));
  mixed.dicts["train"].arrays["b"] = ops::contiguous(ops::slice(ops::select(videos, 0, 1), 1, 0, 2));
  io::write_pickle_numpy_tree(dir.file("mixed.pkl"), mixed);
  r = run_cjepa("rollout " + dir.file("mixed.pkl") + kModel + " --out " + dir.file("o.pkl"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("video 'train/b' has shape [128, 2, 8] but 'train/a' has [128, 3, 8]"), std::string::npos)
      << r.out;

  write_slots(dir.file("ok.pkl"), videos, 128, 8);
  r = run_cjepa("rollout " + dir.file("ok.pkl") + kModel);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("pass --lr and --masked-slots, or --out"), std::string::npos) << r.out;
  r = run_cjepa("rollout " + dir.file("ok.pkl") + " --weights " + dir.file("none.ckpt") + " --out " + dir.file("o.pkl"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("none.ckpt"), std::string::npos) << r.out;
  r = run_cjepa("rollout " + dir.file("ok.pkl") + " --weights " + kWeights + " --out " + dir.file("o.pkl"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("holds 2 C-JEPA predictors"), std::string::npos) << r.out;
  EXPECT_FALSE(std::filesystem::exists(dir.file("o.pkl")));
}
