// Slot files (pickle and safetensors layouts), Push-T side files, windows and z-score statistics.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>

#include "tests/temp_path.hpp"
#include "data/slot_files.hpp"
#include "data/slot_windows.hpp"
#include "tensor/io/pickle_writer.hpp"
#include "tensor/io/safetensors.hpp"
#include "tensor/ops.hpp"
#include "tests/error_of.hpp"

namespace cj::data {
namespace {

namespace fs = std::filesystem;

const std::string kDataDir = std::string(CJ_FIXTURE_DIR) + "/data/";
const WindowSpec kPushT{3, 1, 5};

fs::path temp_dir() { return cj::test::unique_temp_path("cj_test_slot_dataset"); }
struct RemoveTempDir : ::testing::Environment {
  void TearDown() override { fs::remove_all(temp_dir()); }
};
[[maybe_unused]] const auto* const kCleanup = ::testing::AddGlobalTestEnvironment(new RemoveTempDir);

fs::path temp_file(const std::string& name) {
  fs::create_directories(temp_dir());
  return temp_dir() / name;
}

// A (T, N, D) f32 video whose entries encode their position: 1000 t + 10 n + d.
Tensor coded_video(int64_t T, int64_t N, int64_t D) {
  std::vector<float> v;
  for (int64_t t = 0; t < T; ++t)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t d = 0; d < D; ++d) v.push_back(static_cast<float>(1000 * t + 10 * n + d));
  return from_vector(v, {T, N, D});
}

std::string write_pickle(const std::string& name, const std::map<std::string, std::map<std::string, Tensor>>& splits) {
  io::PickleDict root;
  for (const auto& [split, videos] : splits) root.dicts[split].arrays = videos;
  const std::string path = temp_file(name).string();
  io::write_pickle_numpy_tree(path, root);
  return path;
}

using cj::test::error_of;

void expect_tensor_eq(const Tensor& got, const Tensor& want, const std::string& what) {
  ASSERT_EQ(got.shape(), want.shape()) << what;
  const auto g = to_vector<float>(got), w = to_vector<float>(want);
  for (std::size_t i = 0; i < g.size(); ++i) ASSERT_EQ(g[i], w[i]) << what << " element " << i;
}

TEST(SlotFiles, ReadsTheReferencePickleLayout) {
  const SlotFile file = read_slot_file(kDataDir + "pusht_slots.pkl");
  ASSERT_EQ(file.splits.size(), 2u);
  const SlotVideos& train = file.split("train");
  EXPECT_EQ(train.names, (std::vector<std::string>{"0_pixels.mp4", "1_pixels.mp4", "2_pixels.mp4"}));
  EXPECT_EQ(train.videos[1].shape(), (Shape{31, 4, 8}));
  EXPECT_EQ(train.num_slots, 4);
  EXPECT_EQ(train.slot_dim, 8);
  EXPECT_EQ(file.split("val").videos[0].shape(), (Shape{22, 4, 8}));
}

TEST(SlotFiles, SafetensorsLayoutRoundTripsThePickle) {
  const SlotFile pickle = read_slot_file(kDataDir + "pusht_slots.pkl");
  std::map<std::string, std::map<std::string, Tensor>> splits;
  for (const auto& [split, videos] : pickle.splits)
    for (std::size_t i = 0; i < videos.names.size(); ++i) splits[split][videos.names[i]] = videos.videos[i];
  const std::string path = temp_file("slots.safetensors").string();
  write_slot_safetensors(path, splits);
  EXPECT_EQ(io::read_safetensors(path).tensors.count("train/1_pixels.mp4"), 1u);
  const SlotFile back = read_slot_file(path);
  ASSERT_EQ(back.splits.size(), 2u);
  for (const auto& [split, videos] : pickle.splits) {
    const SlotVideos& b = back.split(split);
    ASSERT_EQ(b.names, videos.names);
    for (std::size_t i = 0; i < b.names.size(); ++i) expect_tensor_eq(b.videos[i], videos.videos[i], b.names[i]);
  }
}

TEST(SlotFiles, EveryBadInputIsOneClearError) {
  const Tensor good = coded_video(40, 3, 4);
  std::string path = write_pickle("n.pkl", {{"train", {{"a.mp4", good}, {"b.mp4", coded_video(40, 5, 4)}}}});
  EXPECT_NE(error_of([&] { read_slot_file(path); }).find("train/b.mp4: shape [40, 5, 4] disagrees with train/a.mp4 "
                                                         "[40, 3, 4] on N (slots) or D"),
            std::string::npos)
      << error_of([&] { read_slot_file(path); });
  path = write_pickle("d.pkl", {{"train", {{"a.mp4", good}}}, {"val", {{"c.mp4", coded_video(40, 3, 6)}}}});
  EXPECT_NE(error_of([&] { read_slot_file(path); }).find("val/c.mp4: shape [40, 3, 6] disagrees"), std::string::npos);

  Tensor nan_video = ops::clone(good);
  nan_video.data<float>()[1 * 12 + 2 * 4 + 3] = std::numeric_limits<float>::quiet_NaN();
  path = write_pickle("nan.pkl", {{"train", {{"a.mp4", good}, {"nan.mp4", nan_video}}}});
  EXPECT_NE(error_of([&] { read_slot_file(path); }).find("train/nan.mp4: value nan at [1, 2, 3]"), std::string::npos)
      << error_of([&] { read_slot_file(path); });
  Tensor inf_video = ops::clone(good);
  inf_video.data<float>()[5] = -std::numeric_limits<float>::infinity();
  path = write_pickle("inf.pkl", {{"train", {{"inf.mp4", inf_video}}}});
  EXPECT_NE(error_of([&] { read_slot_file(path); }).find("train/inf.mp4: value -inf at [0, 1, 1]"), std::string::npos);

  path = write_pickle("ok.pkl", {{"train", {{"a.mp4", good}}}});
  EXPECT_NE(error_of([&] { read_slot_file(path).split("val"); }).find("no split 'val' (it has: train)"),
            std::string::npos);
  // the formats fixture's val split holds 1-d and 2-d arrays
  const std::string formats = std::string(CJ_FIXTURE_DIR) + "/formats/slots_p2_numpy_core.pkl";
  EXPECT_NE(error_of([&] { read_slot_file(formats); }).find("expected a floating [T, N, D] array"), std::string::npos);
  // a safetensors file that is not in our layout
  const std::string flat = temp_file("flat.safetensors").string();
  io::write_safetensors(flat, {{"video", good}});
  EXPECT_NE(error_of([&] { read_slot_file(flat); }).find("tensor 'video' is not in the '<split>/<video>' layout"),
            std::string::npos);
}

TEST(SlotWindows, CountsEveryStrideOneStartAndSkipsShortVideos) {
  SlotVideos videos;
  videos.split = "train";
  videos.names = {"a", "b", "short"};
  videos.videos = {coded_video(128, 7, 3), coded_video(128, 7, 3), coded_video(31, 7, 3)};
  videos.num_slots = 7;
  videos.slot_dim = 3;
  const SlotWindows windows(videos, WindowSpec{6, 10, 2});  // CLEVRER: 97 per 128-frame video
  EXPECT_EQ(windows.size(), 2 * 97);
  EXPECT_EQ(windows.skipped_videos(), 1);
  EXPECT_NE(windows.summary().find("194 windows from 2 videos"), std::string::npos) << windows.summary();
  EXPECT_NE(windows.summary().find("1 videos shorter than 32 frames skipped"), std::string::npos);

  // window 97 is video b from frame 0; window 96 is video a from frame 96 (frames 96, 98, ..., 126)
  const Tensor batch = windows.gather({96, 97, 150});
  ASSERT_EQ(batch.shape(), (Shape{3, 16, 7, 3}));
  for (int64_t k = 0; k < 16; ++k) {
    EXPECT_EQ(batch.at({0, k, 2, 1}), 1000.0 * (96 + 2 * k) + 21);
    EXPECT_EQ(batch.at({1, k, 6, 2}), 1000.0 * (2 * k) + 62);
    EXPECT_EQ(batch.at({2, k, 0, 0}), 1000.0 * (53 + 2 * k));
  }
  EXPECT_THROW(windows.gather({194}), Error);
  EXPECT_THROW(SlotWindows(videos, WindowSpec{6, 0, 2}), Error);
}

TEST(PushTWindows, ZScoreAndSamplesMatchTheReferenceDataset) {
  const SlotFile slots = read_slot_file(kDataDir + "pusht_slots.pkl");
  const PushTWindows windows(slots.split("train"), kPushT,
                             read_side_split(kDataDir + "pusht_action.pkl", "train", "action", 2),
                             read_side_split(kDataDir + "pusht_proprio.pkl", "train", "proprio", 4),
                             read_side_split(kDataDir + "pusht_state.pkl", "train", "state", 7));
  const io::TensorMap want = io::read_safetensors(kDataDir + "pusht_expected.safetensors").tensors;
  EXPECT_EQ(windows.size(), want.at("train.windows").item<int64_t>());
  EXPECT_EQ(windows.slots().skipped_videos(), 1);
  EXPECT_EQ(windows.action_dim(), 10);
  // Statistics in double rounded to float against torch's f32 reductions: equal to a few ulps.
  auto expect_close = [](const std::vector<float>& got, const Tensor& ref, const std::string& what) {
    const auto r = to_vector<float>(ref);
    ASSERT_EQ(got.size(), r.size()) << what;
    for (std::size_t j = 0; j < r.size(); ++j) EXPECT_NEAR(got[j], r[j], 2e-6 * std::fabs(r[j])) << what << j;
  };
  expect_close(windows.action_stats().mean, want.at("train.action_mean"), "action mean ");
  expect_close(windows.action_stats().std, want.at("train.action_std"), "action std ");
  expect_close(windows.proprio_stats().mean, want.at("train.proprio_mean"), "proprio mean ");
  expect_close(windows.proprio_stats().std, want.at("train.proprio_std"), "proprio std ");

  for (int64_t i : {0, 5, 6, 17}) {
    const PushTBatch b = windows.gather({i});
    const std::string key = "train.sample" + std::to_string(i) + ".";
    expect_tensor_eq(ops::squeeze(b.slots, 0), want.at(key + "slots"), key + "slots");
    expect_tensor_eq(ops::squeeze(b.state, 0), want.at(key + "state"), key + "state");
    const auto got_a = to_vector<float>(b.action), want_a = to_vector<float>(want.at(key + "action"));
    const auto got_p = to_vector<float>(b.proprio), want_p = to_vector<float>(want.at(key + "proprio"));
    ASSERT_EQ(got_a.size(), want_a.size());
    ASSERT_EQ(got_p.size(), want_p.size());
    for (std::size_t j = 0; j < got_a.size(); ++j) EXPECT_NEAR(got_a[j], want_a[j], 1e-5) << key << "action " << j;
    for (std::size_t j = 0; j < got_p.size(); ++j) EXPECT_NEAR(got_p[j], want_p[j], 1e-5) << key << "proprio " << j;
  }
}

TEST(PushTWindows, NanInSideFilesBecomesZeroAndBadSideFilesAreClearErrors) {
  // Two episodes of 20 frames (one window each); a NaN action makes its column's mean NaN, as in
  // torch, and every value of that column then normalises to 0 (nan_to_num).
  const Tensor slots = coded_video(20, 2, 3);
  std::vector<float> act(40, 0.f), act2(40, 0.f);
  for (std::size_t i = 0; i < 40; ++i) {
    act[i] = static_cast<float>(i);
    act2[i] = static_cast<float>(2 * i);
  }
  act[7] = std::numeric_limits<float>::quiet_NaN();  // frame 3, y
  const std::string a = write_pickle("a.pkl", {{"train", {{"e0", from_vector(act, {20, 2})}, {"e1", from_vector(act2, {20, 2})}}}});
  const std::string p = write_pickle("p.pkl", {{"train", {{"e0", zeros({20, 4})}, {"e1", ones({20, 4})}}}});
  const std::string s = write_pickle("s.pkl", {{"train", {{"e0", slots}, {"e1", slots}}}});
  const SideSeries action = read_side_split(a, "train", "action", 2);
  EXPECT_EQ(action.nan_values, 1);
  const PushTWindows windows(read_slot_file(s).split("train"), WindowSpec{3, 1, 5}, action,
                             read_side_split(p, "train", "proprio", 4));
  EXPECT_TRUE(std::isnan(windows.action_stats().mean[7]));
  EXPECT_FALSE(std::isnan(windows.action_stats().mean[6]));
  const PushTBatch batch = windows.gather({0, 1});
  EXPECT_EQ(batch.action.at({0, 0, 7}), 0.0);
  EXPECT_EQ(batch.action.at({1, 0, 7}), 0.0);
  // column 0 is x of frame 5 k over the 4 steps of both windows: 0, 10, 20, 30 (e0) and 0, 20, 40, 60
  // (e1): mean 22.5, unbiased variance 2950 / 7
  EXPECT_NEAR(batch.action.at({1, 1, 0}), (20.0 - 22.5) / std::sqrt(2950.0 / 7.0), 1e-6);
  EXPECT_NE(windows.summary().find("1 NaN action"), std::string::npos) << windows.summary();

  EXPECT_NE(error_of([&] { read_side_split(a, "val", "action"); }).find("action file " + a + ": no split 'val'"),
            std::string::npos);
  EXPECT_NE(error_of([&] { read_side_split(a, "train", "proprio", 4); }).find("proprio dim is 2, expected 4"),
            std::string::npos);
  act[3] = std::numeric_limits<float>::infinity();
  const std::string inf = write_pickle("ainf.pkl", {{"train", {{"e0", from_vector(act, {20, 2})}}}});
  EXPECT_NE(error_of([&] { read_side_split(inf, "train", "action"); }).find("train/e0: infinite value at [1, 1]"),
            std::string::npos);
  const std::string one = write_pickle("aone.pkl", {{"train", {{"e0", from_vector(act2, {20, 2})}}}});
  EXPECT_NE(error_of([&] {
              PushTWindows(read_slot_file(s).split("train"), WindowSpec{3, 1, 5}, read_side_split(one, "train", "action"),
                           read_side_split(p, "train", "proprio"));
            }).find("no episode 'e1' in split 'train'"),
            std::string::npos);
  const std::string shorter = write_pickle("pshort.pkl", {{"train", {{"e0", zeros({19, 4})}, {"e1", zeros({20, 4})}}}});
  EXPECT_NE(error_of([&] {
              PushTWindows(read_slot_file(s).split("train"), WindowSpec{3, 1, 5}, action,
                           read_side_split(shorter, "train", "proprio"));
            }).find("train/e0: 19 rows, but the slot video has 20 frames"),
            std::string::npos);
}

}  // namespace
}  // namespace cj::data
