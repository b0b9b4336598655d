// cjepa features: DINOv2 features of every frame of an image, a directory of images or a video, with
// the reference's preprocessing for the chosen stage, written to one safetensors file.
#include <algorithm>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/cli.hpp"
#include "apps/progress.hpp"
#include "autograd/autocast.hpp"
#include "autograd/grad_mode.hpp"
#include "data/frame_preprocess.hpp"
#include "data/frame_source.hpp"
#include "models/dinov2.hpp"
#include "tensor/io/safetensors.hpp"
#include "tensor/ops.hpp"

namespace cj::app {
namespace {

struct FeatureOptions {
  int64_t size = 196, batch = 8;
  data::Preprocess preprocess = data::Preprocess::extraction;
  bool keys = false, patch_tokens = false;
  bool bf16_autocast = false;  // --precision bf16: the model's GEMMs and attention in bf16
  DType dtype = DType::f32;
};

std::string base_name(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

FeatureOptions parse_options(const Args& args) {
  FeatureOptions o;
  o.size = args.get_int("size");
  o.batch = args.get_int("batch");
  if (o.size <= 0) throw UsageError("--size must be positive, got " + args.get("size"));
  if (o.batch <= 0) throw UsageError("--batch must be positive, got " + args.get("batch"));
  const std::string pre = args.get("preprocess");
  if (pre != "extraction" && pre != "videosaur" && pre != "planning")
    throw UsageError("--preprocess must be extraction, videosaur or planning, got '" + pre + "'");
  o.preprocess = data::parse_preprocess(pre);
  const std::string dtype = args.get("dtype");
  if (dtype != "f32" && dtype != "bf16") throw UsageError("--dtype must be f32 or bf16, got '" + dtype + "'");
  o.dtype = dtype == "bf16" ? DType::bf16 : DType::f32;
  const std::string precision = args.get("precision");
  if (precision != "fp32" && precision != "bf16")
    throw UsageError("--precision must be fp32 or bf16, got '" + precision + "'");
  o.bf16_autocast = precision == "bf16";
  o.keys = args.enabled("keys");
  o.patch_tokens = args.enabled("patch-tokens");
  return o;
}

// The tokens to store of a (B, N, C) model output: all of them, or the patches only (CLS and
// registers dropped, as VideoSAUR's last_hidden_state[:, 1:]), in the storage dtype.
Tensor stored_tokens(const Tensor& x, const models::Dinov2Config& config, const FeatureOptions& o) {
  const int64_t skip = o.patch_tokens ? 1 + config.registers : 0;
  return ops::to(ops::contiguous(ops::to(ops::narrow(x, 1, skip, x.size(1) - skip), o.dtype)), Device::cpu());
}

int run_features(const std::vector<std::string>& argv) {
  Args args("features", "DINOv2 features of every frame of an image, a directory of images or a video.");
  args.option("weights", "W", "DINOv2 checkpoint: Hugging Face facebook/dinov2-* safetensors, timm or hub .pth")
      .option("input", "IN", "an image (.png/.jpg/...), a directory of images (sorted by name) or a video (.mp4, ...)")
      .option("out", "F.safetensors", "output file (written atomically)")
      .option("size", "S", "frames are resized to S x S; a multiple of the patch size (14)", "196")
      .option("preprocess", "P",
              "the reference's preprocessing: extraction (slot extraction: bilinear+antialias to S x S), videosaur "
              "(VideoSAUR training: bicubic to S x S, clamp) or planning (Push-T: shorter side to S, centre crop)",
              "extraction")
      .option("batch", "N", "frames per forward pass", "8")
      .option("dtype", "T",
              "storage dtype of the features: f32 or bf16 (rounds the model's outputs, round-to-nearest-even)", "f32")
      .option("precision", "P",
              "what the model computes in: fp32, or bf16 autocast (GEMMs and attention in bf16 with f32 "
              "accumulation, LayerNorm and the outputs in f32; the fast path on a GPU)",
              "fp32")
      .device_option("the model runs (frames are decoded on the CPU, features read back to it)")
      .flag("keys", "also store 'keys': block 12's attention keys (of the last block for smaller models), "
                    "the VideoSAUR temporal-similarity target")
      .flag("patch-tokens", "store the patch tokens only (drop CLS and registers), as VideoSAUR consumes them")
      .flag("quiet", "no progress output")
      .epilog("Writes 'last_hidden_state' (T, 1+R+P, C) after the final LayerNorm (P = (S/14)^2 patches, R registers)\n"
              "and with --keys 'keys' (T, 1+R+P, C), frames in input order. The metadata records the input, the\n"
              "preprocessing, the size, the block the keys come from and, for directories, the file of each frame.\n"
              "Example: cjepa features --weights dinov2-small.safetensors --input clip.mp4 --keys --out feats.safetensors");
  if (!args.parse(argv)) return kExitOk;
  for (const char* required : {"weights", "input", "out"})
    if (!args.has(required)) throw UsageError(std::string("--") + required + " is required");
  const FeatureOptions o = parse_options(args);
  const Device device = args.get_device();
  const std::string input = args.get("input"), out = args.get("out"), weights = args.get("weights");

  data::FrameSource source(input);  // fails fast on a missing input, before the weights are read
  auto model = models::load_dinov2(weights);
  model->to(device);
  const models::Dinov2Config& config = model->config();
  CJ_CHECK(o.size % config.patch == 0, "--size ", o.size, " is not a multiple of the model's patch size ", config.patch,
           "; e.g. ", std::max<int64_t>(1, o.size / config.patch) * config.patch);
  models::Dinov2Request request;
  request.keys_of_block = o.keys ? std::min<int64_t>(12, config.depth) : 0;
  std::cerr << "features: " << source.describe() << "; DINOv2 dim " << config.dim << ", " << config.depth
            << " blocks; preprocess " << data::preprocess_name(o.preprocess) << " to " << o.size << "x" << o.size
            << " on " << device.str() << (o.bf16_autocast ? " (bf16 autocast)" : "") << "\n";

  NoGradGuard no_grad;
  AutocastGuard autocast(DType::bf16, o.bf16_autocast);
  const int64_t total = source.frame_count();
  ProgressBar progress("features", std::max<int64_t>(total, 0), "frames", !args.enabled("quiet") && total > o.batch);
  std::vector<Tensor> hidden, keys, batch;
  auto run_batch = [&]() {
    if (batch.empty()) return;
    models::Dinov2Outputs y = model->forward(ops::to(ops::cat(batch, 0), device), request);  // (B, 3, S, S) in
    hidden.push_back(stored_tokens(y.last_hidden_state, config, o));
    if (o.keys) keys.push_back(stored_tokens(y.keys, config, o));
    progress.advance(int64_t(batch.size()));
    batch.clear();
  };
  while (auto frame = source.next()) {
    batch.push_back(data::preprocess_frames(*frame, o.preprocess, o.size));  // (1, 3, S, S)
    if (int64_t(batch.size()) == o.batch) run_batch();
  }
  run_batch();
  progress.finish();
  CJ_CHECK(!hidden.empty(), "input '", input, "' holds no frames");

  io::TensorMap tensors{{"last_hidden_state", ops::cat(hidden, 0)}};
  if (o.keys) tensors.emplace("keys", ops::cat(keys, 0));
  io::Metadata meta{{"format", "cjepa-features"},
                    {"weights", base_name(weights)},
                    {"input", input},
                    {"preprocess", data::preprocess_name(o.preprocess)},
                    {"size", std::to_string(o.size)},
                    {"tokens", o.patch_tokens ? "patches" : "all"},
                    {"registers", std::to_string(config.registers)},
                    {"dtype", o.dtype == DType::bf16 ? "bf16 (model outputs rounded for storage)" : "f32"},
                    {"precision", o.bf16_autocast ? "bf16 autocast" : "fp32"}};
  if (o.keys) meta.emplace("keys_block", std::to_string(request.keys_of_block));
  if (source.is_video() && source.fps() > 0) meta.emplace("fps", std::to_string(source.fps()));
  if (!source.is_video()) {
    nlohmann::json files = nlohmann::json::array();
    for (const auto& f : source.image_files()) files.push_back(base_name(f));
    meta.emplace("files", files.dump());
  }
  io::write_safetensors(out, tensors, meta);

  const Tensor& h = tensors.at("last_hidden_state");
  std::ostringstream shape;
  shape << h.shape();
  std::cout << "wrote " << h.size(0) << " frames to " << out << ": last_hidden_state " << shape.str()
            << (o.keys ? " and keys" : "") << " (" << dtype_name(o.dtype) << ")\n";
  return kExitOk;
}

Registration reg({"features", "DINOv2 features (+ block-12 keys) of images, image folders or videos", run_features});

}  // namespace
}  // namespace cj::app
