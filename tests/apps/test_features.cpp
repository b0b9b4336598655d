// cjepa features end to end: on the committed image folder and on a video written by our own writer,
// the file it writes equals the DINOv2 model run in-process on the same frames (a tiny model made
// here, with random weights in Hugging Face layout); and every misuse gives one clear message.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "autograd/grad_mode.hpp"
#include "data/frame_preprocess.hpp"
#include "data/frame_source.hpp"
#include "data/image_reader.hpp"
#include "data/video_writer.hpp"
#include "models/dinov2.hpp"
#include "nn/init.hpp"
#include "tensor/io/safetensors.hpp"
#include "tensor/ops.hpp"
#include "tests/tensor/numeric_check.hpp"
#include "tests/apps/run_cli.hpp"
#include "tests/io/io_test_util.hpp"

using namespace cj;
using cj::test::run_cjepa;
using cj::test::ScratchFile;

namespace {

const std::string kImageDir = std::string(CJ_FIXTURE_DIR) + "/data/images";

// A 2-block DINOv2 (dim 64, one head, 2x2 position table) with random weights, in HF names.
const std::string& tiny_weights() {
  static ScratchFile file("features_dinov2_tiny.safetensors");
  static bool written = false;
  if (!written) {
    models::Dinov2Config config;
    config.dim = 64, config.depth = 2, config.heads = 1, config.mlp_hidden = 128, config.pos_grid = 2;
    models::Dinov2 model(config);
    Generator gen(11);
    for (auto& [name, p] : model.named_parameters()) nn::init::normal_(p, 0.0, 0.2, gen);
    io::write_safetensors(file.path(), model.state_dict());
    written = true;
  }
  return file.path();
}

// What the command should have computed: the model on the preprocessed frames, one at a time.
struct Expected {
  Tensor hidden, keys;  // (T, N, C)
};
Expected run_in_process(const std::string& input, data::Preprocess p, int64_t size) {
  auto model = models::load_dinov2(tiny_weights());
  NoGradGuard no_grad;
  data::FrameSource source(input);
  std::vector<Tensor> hidden, keys;
  models::Dinov2Request request;
  request.keys_of_block = 2;
  while (auto frame = source.next()) {
    auto y = model->forward(data::preprocess_frames(*frame, p, size), request);
    hidden.push_back(y.last_hidden_state);
    keys.push_back(y.keys);
  }
  return {ops::cat(hidden, 0), ops::cat(keys, 0)};
}

}  // namespace

TEST(CliFeatures, ImageFolderMatchesTheModelInProcess) {
  ScratchFile out("features_dir.safetensors");
  auto r = run_cjepa("features --weights " + tiny_weights() + " --input " + kImageDir +
                     " --size 28 --keys --batch 3 --out " + out.path());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("wrote 4 frames"), std::string::npos) << r.out;
  const auto file = io::read_safetensors(out.path());
  const Tensor& hidden = file.tensors.at("last_hidden_state");
  ASSERT_EQ(hidden.shape(), (Shape{4, 1 + 4, 64}));  // 4 images, CLS + (28/14)^2 patches
  ASSERT_EQ(hidden.dtype(), DType::f32);
  const Expected want = run_in_process(kImageDir, data::Preprocess::extraction, 28);
  // Batches of 3 and 1 frames take different GEMM shapes; the results agree to rounding.
  EXPECT_LE(test::max_abs_error(hidden, want.hidden), 1e-5);
  EXPECT_LE(test::max_abs_error(file.tensors.at("keys"), want.keys), 1e-5);
  EXPECT_GT(test::max_abs_error(ops::select(hidden, 0, 0), ops::select(hidden, 0, 2)), 1e-3);  // frames differ
  EXPECT_EQ(file.metadata.at("keys_block"), "2");  // the last block of a 2-block model
  EXPECT_EQ(file.metadata.at("preprocess"), "extraction");
  EXPECT_EQ(nlohmann::json::parse(file.metadata.at("files")),
            nlohmann::json({"frame_0.png", "frame_1.jpg", "gray.png", "rgba.png"}));
}

TEST(CliFeatures, PatchTokensInBf16AreTheF32OutputRounded) {
  ScratchFile full("features_f32.safetensors"), patches("features_bf16.safetensors");
  const std::string common = "features --weights " + tiny_weights() + " --input " + kImageDir + "/frame_0.png --size 42 ";
  ASSERT_EQ(run_cjepa(common + "--preprocess planning --out " + full.path()).exit_code, 0);
  auto r = run_cjepa(common + "--preprocess planning --patch-tokens --dtype bf16 --out " + patches.path());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const Tensor f32 = io::read_safetensors(full.path()).tensors.at("last_hidden_state");
  const Tensor bf16 = io::read_safetensors(patches.path()).tensors.at("last_hidden_state");
  ASSERT_EQ(f32.shape(), (Shape{1, 1 + 9, 64}));
  ASSERT_EQ(bf16.shape(), (Shape{1, 9, 64}));
  ASSERT_EQ(bf16.dtype(), DType::bf16);
  EXPECT_EQ(test::max_abs_error(bf16, ops::to(ops::narrow(f32, 1, 1, 9), DType::bf16)), 0.0);
}

TEST(CliFeatures, VideoStreamsEveryFrame) {
  ScratchFile video("features_clip.mp4"), out("features_video.safetensors");
  {
    data::VideoWriter writer(video.path(), 48, 32, {10, 18});
    std::vector<uint8_t> frame(48 * 32 * 3);
    for (int t = 0; t < 5; ++t) {
      for (size_t i = 0; i < frame.size(); ++i) frame[i] = uint8_t((i * 7 + size_t(t) * 40) % 256);
      writer.write(frame.data());
    }
    writer.finish();
  }
  auto r = run_cjepa("features --weights " + tiny_weights() + " --input " + video.path() +
                     " --size 28 --preprocess videosaur --batch 2 --out " + out.path());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("5 frames at 10 fps"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("features [########################] 5/5"), std::string::npos) << r.out;  // progress
  EXPECT_NE(r.out.find("frames/s"), std::string::npos) << r.out;
  const auto file = io::read_safetensors(out.path());
  EXPECT_EQ(file.tensors.count("keys"), 0u);
  EXPECT_EQ(file.metadata.at("fps"), "10.000000");
  EXPECT_LE(test::max_abs_error(file.tensors.at("last_hidden_state"),
                         run_in_process(video.path(), data::Preprocess::videosaur, 28).hidden),
            1e-5);
}

TEST(CliFeatures, RegistersModelKeepsOnlyPatchTokens) {
  // The dinov2 branch's with-registers fixture (Hugging Face layout): --patch-tokens drops CLS and
  // the registers from both outputs.
  const std::string weights = std::string(CJ_FIXTURE_DIR) + "/models/dinov2/reg_hf.safetensors";
  auto model = models::load_dinov2(weights);
  const int64_t registers = model->config().registers, dim = model->config().dim;
  ASSERT_GT(registers, 0);
  ScratchFile out("features_reg.safetensors");
  auto r = run_cjepa("features --weights " + weights + " --input " + kImageDir + "/frame_1.jpg --size 28 --keys " +
                     "--patch-tokens --out " + out.path());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto file = io::read_safetensors(out.path());
  NoGradGuard no_grad;
  models::Dinov2Request request;
  request.keys_of_block = std::min<int64_t>(12, model->config().depth);
  auto y = model->forward(
      data::preprocess_frames(data::read_image(kImageDir + "/frame_1.jpg"), data::Preprocess::extraction, 28), request);
  EXPECT_EQ(file.tensors.at("last_hidden_state").shape(), (Shape{1, 4, dim}));
  const Tensor patches = ops::narrow(y.last_hidden_state, 1, 1 + registers, 4), keys = ops::narrow(y.keys, 1, 1 + registers, 4);
  EXPECT_LE(test::max_abs_error(file.tensors.at("last_hidden_state"), patches), 1e-5);
  EXPECT_LE(test::max_abs_error(file.tensors.at("keys"), keys), 1e-5);
  EXPECT_EQ(file.metadata.at("registers"), std::to_string(registers));
}

// --precision bf16 runs the model under bf16 autocast: the outputs stay f32 (final LayerNorm) and agree
// with the fp32 run to bf16's precision, but are not the same numbers (the GEMMs did run in bf16).
TEST(CliFeatures, Bf16AutocastAgreesWithFp32ToBf16Precision) {
  ScratchFile fp32("features_fp32.safetensors"), bf16("features_autocast.safetensors");
  const std::string common = "features --weights " + tiny_weights() + " --input " + kImageDir + " --size 28 --keys ";
  ASSERT_EQ(run_cjepa(common + "--out " + fp32.path()).exit_code, 0);
  auto r = run_cjepa(common + "--precision bf16 --out " + bf16.path());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("(bf16 autocast)"), std::string::npos) << r.out;
  const auto want = io::read_safetensors(fp32.path()), got = io::read_safetensors(bf16.path());
  EXPECT_EQ(got.metadata.at("precision"), "bf16 autocast");
  EXPECT_EQ(want.metadata.at("precision"), "fp32");
  for (const char* name : {"last_hidden_state", "keys"}) {
    const Tensor& g = got.tensors.at(name);
    const Tensor& w = want.tensors.at(name);
    ASSERT_EQ(g.shape(), w.shape()) << name;
    EXPECT_EQ(g.dtype(), DType::f32) << name;
    // bf16 roundings (2^-8 relative each) of every GEMM operand through two blocks compound to
    // 0.3-0.5% of the largest output here; 2% leaves room for other seeds, not for a wrong result.
    const double scale = ops::amax(ops::abs(w)).item();
    EXPECT_LE(test::max_abs_error(g, w), 2e-2 * scale) << name;
    std::printf("[features] %s: bf16 autocast vs fp32 max error %.2e of max %.2e\n", name, test::max_abs_error(g, w), scale);
    EXPECT_GT(test::max_abs_error(g, w), 1e-6 * scale) << name << ": identical, so bf16 was not used";
  }
}

TEST(CliFeatures, HelpAndErrors) {
  auto r = run_cjepa("features --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("--preprocess"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("rounds the model's outputs"), std::string::npos) << r.out;  // --dtype: storage only
  EXPECT_NE(r.out.find("--precision"), std::string::npos) << r.out;

  ScratchFile out("features_err.safetensors");
  const std::string w = " --weights " + tiny_weights() + " --out " + out.path();
  r = run_cjepa("features --input /nonexistent/frames" + w);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("input '/nonexistent/frames' does not exist"), std::string::npos) << r.out;

  r = run_cjepa("features --input " + kImageDir + " --size 30" + w);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("--size 30 is not a multiple of the model's patch size 14"), std::string::npos) << r.out;

  const std::string png = kImageDir + "/gray.png";
  r = run_cjepa("features --input " + png + " --weights " + png + " --out " + out.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find(png), std::string::npos) << r.out;

  r = run_cjepa("features --input " + png + " --preprocess imagenet" + w);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("--preprocess must be"), std::string::npos) << r.out;
  r = run_cjepa("features --input " + png + " --out " + out.path());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("--weights is required"), std::string::npos) << r.out;
  r = run_cjepa("features --input " + png + " --dtype f16" + w);
  EXPECT_EQ(r.exit_code, 2);
  r = run_cjepa("features --input " + png + " --precision fp16" + w);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("--precision must be fp32 or bf16, got 'fp16'"), std::string::npos) << r.out;
}
