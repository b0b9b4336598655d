// The synthetic slot world must be deterministic, physical, and hide objects sometimes: the
// predictor tests built on it rely on all three.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "data/synthetic_slots.hpp"
#include "tensor/ops.hpp"

using namespace cj;
using cj::data::SlotWorld;
using cj::data::SlotWorldConfig;

namespace {
SlotWorldConfig small_config() {
  SlotWorldConfig c;
  c.frames = 48;
  c.objects = 6;
  c.slot_dim = 32;
  c.seed = 3;
  return c;
}
}  // namespace

TEST(SyntheticSlots, SameVideoTwiceIsBitwiseEqualAndSplitsDiffer) {
  SlotWorld w(small_config());
  auto a = w.simulate("train", 5), b = w.simulate("train", 5), c = w.simulate("val", 5);
  EXPECT_EQ(a.slots.shape(), (Shape{48, 6, 32}));
  EXPECT_EQ(to_vector<float>(a.slots), to_vector<float>(b.slots));
  EXPECT_NE(to_vector<float>(a.states), to_vector<float>(c.states));
}

TEST(SyntheticSlots, DiscsStayInTheBoxAndKeepTheirEnergy) {
  auto cfg = small_config();
  SlotWorld w(cfg);
  auto v = w.simulate("train", 0);
  auto st = to_vector<float>(v.states);
  const int64_t T = cfg.frames, N = cfg.objects;
  double energy0 = 0;
  for (int64_t t = 0; t < T; ++t) {
    double energy = 0;
    for (int64_t n = 0; n < N; ++n) {
      const float* s = &st[(t * N + n) * 4];
      EXPECT_GE(s[0], cfg.radius - 1e-6);
      EXPECT_LE(s[0], 1 - cfg.radius + 1e-6);
      EXPECT_GE(s[1], cfg.radius - 1e-6);
      EXPECT_LE(s[1], 1 - cfg.radius + 1e-6);
      energy += s[2] * s[2] + s[3] * s[3];
    }
    if (t == 0) energy0 = energy;
    EXPECT_NEAR(energy, energy0, 1e-5 * energy0) << "frame " << t;  // elastic, equal masses
  }
}

TEST(SyntheticSlots, SomeObjectsAreHiddenSometimes) {
  SlotWorld w(small_config());
  double hidden = 0, total = 0;
  for (int i = 0; i < 8; ++i) {
    auto vis = to_vector<float>(w.simulate("train", i).visible);
    for (float x : vis) hidden += x == 0.f;
    total += double(vis.size());
  }
  std::printf("hidden fraction %.4f\n", hidden / total);
  EXPECT_GT(hidden / total, 0.005);
  EXPECT_LT(hidden / total, 0.3);
}

TEST(SyntheticSlots, PositionsDecodeFromVisibleSlotsOnly) {
  auto cfg = small_config();
  SlotWorld w(cfg);
  auto v = w.simulate("train", 1);
  auto pos = to_vector<float>(w.decode_positions(v.slots));
  auto st = to_vector<float>(v.states);
  auto vis = to_vector<float>(v.visible);
  double worst_visible = 0, mean_hidden = 0;
  int n_hidden = 0;
  for (size_t k = 0; k < vis.size(); ++k) {
    double err = std::hypot(pos[k * 2] - st[k * 4], pos[k * 2 + 1] - st[k * 4 + 1]);
    if (vis[k] > 0) worst_visible = std::max(worst_visible, err);
    else { mean_hidden += err; ++n_hidden; }
  }
  EXPECT_LT(worst_visible, 0.05);  // noise 0.02 through a 32x9 least-squares decode
  ASSERT_GT(n_hidden, 0);
  EXPECT_GT(mean_hidden / n_hidden, 0.05);  // a hidden slot decodes to the box centre, not the disc
}

TEST(SyntheticSlots, OccludedSlotsKeepOnlyAppearance) {
  auto cfg = small_config();
  SlotWorld w(cfg);
  auto v = w.simulate("train", 1);
  const int64_t D = cfg.slot_dim;
  auto slots = to_vector<float>(v.slots), occluded = to_vector<float>(v.occluded);
  auto pos = to_vector<float>(w.decode_positions(v.occluded));
  auto vis = to_vector<float>(v.visible);
  ASSERT_EQ(occluded.size(), slots.size());
  double worst_centre = 0;
  int hidden = 0;
  for (size_t k = 0; k < vis.size(); ++k) {
    worst_centre = std::max(worst_centre, std::hypot(pos[k * 2] - 0.5, pos[k * 2 + 1] - 0.5));
    if (vis[k] > 0) continue;
    ++hidden;  // a disc that is hidden anyway: the same slot, noise included
    for (int64_t i = 0; i < D; ++i) ASSERT_EQ(occluded[k * D + i], slots[k * D + i]) << k;
  }
  EXPECT_GT(hidden, 0);
  EXPECT_LT(worst_centre, 0.05);  // every occluded slot decodes to the box centre (up to the noise)
}

TEST(SyntheticSlots, BadConfigNamesTheField) {
  SlotWorldConfig c;
  c.radius = 0.3;
  try {
    SlotWorld w(c);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("radius"), std::string::npos);
  }
}
