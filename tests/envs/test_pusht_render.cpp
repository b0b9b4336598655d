// The renderer against frames recorded from gym-pusht (96x96) and stable-worldmodel (224x224),
// and the resize against cv2.resize. The rasteriser follows pygame's integer rules and the physics
// replays bit for bit, so the frames are expected to be identical, not merely close.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>

#include "envs/pusht_render.hpp"
#include "tests/envs/pusht_fixture.hpp"

using namespace cj::envs;
using cj::test::PushTFixture;

namespace {

double mean_abs_diff(const uint8_t* a, const uint8_t* b, size_t n) {
  double sum = 0;
  for (size_t i = 0; i < n; ++i) sum += std::abs(int(a[i]) - int(b[i]));
  return sum / n;
}

// Replays transition i of a fixture part and renders the frame after the step.
std::vector<uint8_t> replay_frame(const nlohmann::json& part, PushTVariant variant, size_t i, PushTRenderer& r) {
  PushTEnv env(PushTConfig::for_variant(variant));
  if (part.contains("goal_state")) env.set_goal_state(part["goal_state"].get<std::vector<double>>());
  env.reset_to_state(part["state"][i].get<std::vector<double>>());
  auto a = part["action"][i].get<std::vector<double>>();
  env.step(a[0], a[1]);
  return r.render(pusht_scene(env));
}

}  // namespace

TEST(PushTRender, ResizeMatchesOpenCvBitForBit) {
  std::vector<uint8_t> img(512 * 512 * 3);
  for (int y = 0; y < 512; ++y)
    for (int x = 0; x < 512; ++x) {  // the formula of tools/make_pusht_fixture.py resize_probe()
      uint8_t* p = &img[(y * 512 + x) * 3];
      p[0] = (x * 7 + y * 13) % 256, p[1] = (x * x + 3 * y) % 256, p[2] = (x ^ y) % 256;
    }
  BilinearResizer resizer(512, 512, 96, 96);
  std::vector<uint8_t> out(96 * 96 * 3);
  resizer.resize(img.data(), out.data());
  auto ref = PushTFixture::get().array<uint8_t>("resize_probe_96");
  int differ = 0;
  for (size_t i = 0; i < out.size(); ++i) differ += out[i] != ref[i];
  EXPECT_EQ(differ, 0);
}

// gym-pusht's 96x96 observations after each recorded transition.
class GymFrames : public ::testing::Test {
 protected:
  const PushTFixture& fx = PushTFixture::get();
  const nlohmann::json& part = fx.doc["gym"];
  PushTRenderer renderer{{96, true, true}};
};

TEST_F(GymFrames, FullFramesMatchReference) {
  auto frames = fx.array<uint8_t>("gym_frames");
  const size_t frame_bytes = 96 * 96 * 3;
  const auto& indices = part["frame_indices"];
  ASSERT_GT(indices.size(), 0u);
  for (size_t k = 0; k < indices.size(); ++k) {
    auto ours = replay_frame(part, PushTVariant::kGymPushT, indices[k].get<size_t>(), renderer);
    double mad = mean_abs_diff(ours.data(), frames.data() + k * frame_bytes, frame_bytes);
    EXPECT_EQ(mad, 0.0) << "frame " << k << " (transition " << indices[k] << ")";
  }
}

TEST_F(GymFrames, BlockSumsOfAllFramesMatchReference) {
  auto sums = fx.array<uint16_t>("gym_block_sums");  // [500, 12, 12, 3] sums of 8x8 blocks
  const size_t per_frame = 12 * 12 * 3;
  double total = 0;
  for (size_t i = 0; i < part["state"].size(); ++i) {
    auto ours = replay_frame(part, PushTVariant::kGymPushT, i, renderer);
    for (size_t b = 0; b < per_frame; ++b) {
      size_t by = b / 36, bx = (b / 3) % 12, c = b % 3, sum = 0;
      for (size_t y = 0; y < 8; ++y)
        for (size_t x = 0; x < 8; ++x) sum += ours[((by * 8 + y) * 96 + bx * 8 + x) * 3 + c];
      total += std::abs(double(sum) - sums[i * per_frame + b]) / 64;
    }
  }
  double block_mean_mad = total / (part["state"].size() * per_frame);
  EXPECT_EQ(block_mean_mad, 0.0);
}

TEST(PushTRender, StableWorldModelFrame224) {
  const auto& fx = PushTFixture::get();
  const auto& part = fx.doc["swm"];
  PushTRenderer renderer({224, true, true});
  auto frames = fx.array<uint8_t>("swm_frames");
  auto ours = replay_frame(part, PushTVariant::kStableWorldModel, part["frame_indices"][0].get<size_t>(), renderer);
  EXPECT_EQ(mean_abs_diff(ours.data(), frames.data(), ours.size()), 0.0);
}
