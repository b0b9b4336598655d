// The three pre-DINOv2 pipelines against torch/torchvision (tools/fixtures/image_preprocess.py), and
// their steps against hand-computed values.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "data/frame_preprocess.hpp"
#include "tensor/error.hpp"
#include "tensor/io/safetensors.hpp"
#include "tensor/ops.hpp"
#include "tests/tensor/numeric_check.hpp"

using namespace cj;
using data::Preprocess;

namespace {

const io::SafetensorsFile& fixture() {
  static const io::SafetensorsFile f = io::read_safetensors(std::string(CJ_FIXTURE_DIR) + "/data/image_preprocess.safetensors");
  return f;
}

}  // namespace

TEST(FramePreprocess, MatchesTorchvisionForEveryPipelineAndCase) {
  const auto config = nlohmann::json::parse(fixture().metadata.at("config"));
  ASSERT_GE(config.size(), 6u);
  std::map<std::string, double> worst;  // per pipeline, printed for the record
  for (const auto& [name, size] : config.items()) {
    const Tensor frame = fixture().tensors.at("input." + name);  // (H, W, 3) u8
    for (Preprocess p : {Preprocess::videosaur, Preprocess::extraction, Preprocess::planning}) {
      SCOPED_TRACE(name + " " + data::preprocess_name(p));
      const Tensor expected = fixture().tensors.at("output." + name + "." + data::preprocess_name(p));
      const Tensor got = data::preprocess_frames(frame, p, size.get<int64_t>());
      ASSERT_EQ(got.shape(), expected.shape());
      const double diff = test::max_abs_error(got, expected);
      EXPECT_LE(diff, 1e-5);
      worst[data::preprocess_name(p)] = std::max(worst[data::preprocess_name(p)], diff);
    }
  }
  for (const auto& [pipeline, diff] : worst) std::cout << pipeline << ": max |ours - torch| = " << diff << "\n";
}

TEST(FramePreprocess, PipelinesDifferWhereTheReferenceDoes) {
  // Downsampling a non-square frame: bicubic without antialias, bilinear with it, and a crop that
  // keeps the aspect ratio all give different pixels, so choosing the wrong one is visible.
  const Tensor frame = fixture().tensors.at("input.clevrer_40x60");
  const Tensor a = data::preprocess_frames(frame, Preprocess::videosaur, 28);
  const Tensor b = data::preprocess_frames(frame, Preprocess::extraction, 28);
  const Tensor c = data::preprocess_frames(frame, Preprocess::planning, 28);
  EXPECT_GT(test::max_abs_error(a, b), 0.1);
  EXPECT_GT(test::max_abs_error(b, c), 0.1);
}

TEST(FramePreprocess, BatchOfFramesEqualsFramesOneByOne) {
  const Tensor f0 = fixture().tensors.at("input.random_48x64");
  const Tensor f1 = ops::rsub(f0, 255);  // the negative image
  const Tensor both = data::preprocess_frames(ops::stack({f0, f1}, 0), Preprocess::extraction, 28);
  ASSERT_EQ(both.shape(), (Shape{2, 3, 28, 28}));
  const Tensor alone = data::preprocess_frames(f1, Preprocess::extraction, 28);
  EXPECT_EQ(test::max_abs_error(ops::select(both, 0, 1), ops::select(alone, 0, 0)), 0.0);
}

TEST(FramePreprocess, StepsByHand) {
  // One pixel (255, 0, 51): x / 255 and x * (1/255) both give 1, 0, 0.2 to within an ulp.
  const Tensor px = from_vector<uint8_t>({255, 0, 51}, {1, 1, 1, 3});
  const Tensor unit = data::to_unit_float(px, data::UnitScale::divide_255);
  ASSERT_EQ(unit.shape(), (Shape{1, 3, 1, 1}));
  EXPECT_FLOAT_EQ(unit.at({0, 0, 0, 0}), 1.0f);
  EXPECT_FLOAT_EQ(unit.at({0, 2, 0, 0}), 0.2f);
  const Tensor norm = data::imagenet_normalize(unit);
  EXPECT_NEAR(norm.at({0, 0, 0, 0}), (1.0 - 0.485) / 0.229, 1e-6);
  EXPECT_NEAR(norm.at({0, 1, 0, 0}), (0.0 - 0.456) / 0.224, 1e-6);
  EXPECT_NEAR(norm.at({0, 2, 0, 0}), (0.2 - 0.406) / 0.225, 1e-6);

  // Center crop: excess 17 -> offset round(8.5) = 8 (half to even), excess 19 -> round(9.5) = 10.
  const Tensor ramp = ops::reshape(arange(0, 45 * 47, 1, DType::f32), {1, 1, 45, 47});
  const Tensor x = ops::expand(ramp, {1, 3, 45, 47});
  const Tensor crop = data::center_crop(ops::contiguous(x), 28);
  EXPECT_EQ(crop.at({0, 0, 0, 0}), 8.0 * 47 + 10);

  // Shorter side 45 -> 28, longer 47 -> int(28 * 47 / 45) = int(29.24) = 29.
  const Tensor wide = data::resize_shorter_side(ops::contiguous(ops::expand(ramp, {1, 3, 45, 47})), 28);
  EXPECT_EQ(wide.shape(), (Shape{1, 3, 28, 29}));
}

TEST(FramePreprocess, BadInputNamesTheProblem) {
  const Tensor frame = fixture().tensors.at("input.random_48x64");
  EXPECT_THROW(data::parse_preprocess("imagenet"), Error);
  try {
    data::preprocess_frames(ops::to(frame, DType::f32), Preprocess::extraction, 28);
    FAIL() << "float frames accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("uint8"), std::string::npos) << e.what();
  }
  EXPECT_THROW(data::preprocess_frames(frame, Preprocess::planning, 0), Error);
  EXPECT_THROW(data::preprocess_frames(ops::narrow(frame, 2, 0, 2), Preprocess::videosaur, 28), Error);  // 2 channels
  EXPECT_THROW(data::center_crop(data::to_unit_float(ops::unsqueeze(frame, 0), data::UnitScale::divide_255), 64), Error);
}
