// cjepa rollout: extends every video of a slot file from the observed frames to the target length
// with a trained predictor (reference spec §6, models/rollout.hpp), writing the reference's layout
// {split: {video: float32[target, S, D]}} to rollout_<slotfile>_lr<lr>_mask<M>.pkl beside the input.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/cli.hpp"
#include "apps/progress.hpp"
#include "autograd/ops.hpp"
#include "models/predictor_loading.hpp"
#include "models/rollout.hpp"
#include "tensor/error.hpp"
#include "tensor/io/load.hpp"
#include "tensor/io/pickle_writer.hpp"
#include "tensor/ops/views.hpp"

namespace cj::app {
namespace {

// Python's repr() of a float (shortest round-trip digits; scientific below 1e-4 or from 1e16, with a
// two-digit exponent; integers keep ".0"), so the output name matches the reference's f"lr{lr}".
std::string python_float_repr(double v) {
  if (!std::isfinite(v)) return std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf");
  if (v == 0) return std::signbit(v) ? "-0.0" : "0.0";
  char buf[64];
  for (int precision = 0; precision < 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*e", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  std::string s = buf, sign;
  if (s[0] == '-') { sign = "-"; s.erase(0, 1); }
  const std::size_t e = s.find('e');
  const int exponent = std::atoi(s.c_str() + e + 1);
  std::string digits = s.substr(0, e);
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  if (exponent < -4 || exponent >= 16) {
    std::string mantissa = digits.substr(0, 1) + (digits.size() > 1 ? "." + digits.substr(1) : "");
    std::snprintf(buf, sizeof buf, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
    return sign + mantissa + buf;
  }
  if (exponent < 0) return sign + "0." + std::string(std::size_t(-exponent - 1), '0') + digits;
  if (int(digits.size()) <= exponent + 1) return sign + digits + std::string(std::size_t(exponent + 1) - digits.size(), '0') + ".0";
  return sign + digits.substr(0, std::size_t(exponent + 1)) + "." + digits.substr(std::size_t(exponent + 1));
}

struct Video {
  std::string split, name;
  Tensor slots;  // (T, S, D)
};

// Every video of a {split: {video: array[T, S, D]}} pickle, in file order, checked to share S and D.
std::vector<Video> read_slot_file(const std::string& path) {
  io::PickleTree tree = io::load_pickle_tree(path);
  const io::Value& root = tree.root();
  CJ_CHECK(root.is(io::Value::Kind::dict), path, ": expected a pickled dict {split: {video: array[T, S, D]}}, got ",
           root.short_description());
  std::vector<Video> videos;
  for (const auto& [split_key, split] : root.entries) {
    CJ_CHECK(split_key->is(io::Value::Kind::string) && split->is(io::Value::Kind::dict), path,
             ": expected {split name: {video: array}} entries, got ", split_key->short_description(), ": ",
             split->short_description());
    for (const auto& [key, value] : split->entries) {
      CJ_CHECK(key->is(io::Value::Kind::string) && value->is(io::Value::Kind::tensor), path, ": split '",
               split_key->text, "' has an entry ", key->short_description(), ": ", value->short_description(),
               ", expected video name: array[T, S, D]");
      const Tensor& t = value->tensor;
      CJ_CHECK(t.dim() == 3 && is_floating(t.dtype()), path, ": video '", split_key->text, "/", key->text,
               "' is ", dtype_name(t.dtype()), " ", t.shape(), ", expected floating [T, S, D]");
      if (!videos.empty()) {
        const Shape& first = videos.front().slots.shape();
        CJ_CHECK(t.shape()[1] == first[1] && t.shape()[2] == first[2], path, ": video '", split_key->text, "/",
                 key->text, "' has shape ", t.shape(), " but '", videos.front().split, "/", videos.front().name,
                 "' has ", first, ": every video needs the same slots S and dim D");
      }
      videos.push_back({split_key->text, key->text, t});
    }
  }
  CJ_CHECK(!videos.empty(), path, ": holds no videos");
  return videos;
}

int run_rollout(const std::vector<std::string>& argv) {
  const models::RolloutConfig defaults;
  Args args("rollout",
            "Extend every video of a slot pickle ({split: {video: float32[T, S, D]}}) from the observed frames to the\n"
            "target length with a trained predictor, as the reference's rollout_video_slots: two interleaved chains\n"
            "(frameskip 2) of T_h-frame histories, T_p frames per inference call, the observed frames kept unchanged.\n"
            "Writes rollout_<slotfile>_lr<lr>_mask<M>.pkl beside the input, in the same layout.");
  args.positional("slots", "slot pickle; every video must have exactly --obs-frames frames")
      .option("weights", "FILE", "predictor weights: a cjepa checkpoint, or a reference state dict (.ckpt/.pt/.safetensors)")
      .option("out", "FILE", "output pickle (default: rollout_<slotfile>_lr<lr>_mask<M>.pkl beside the input)")
      .option("lr", "LR", "training lr for the output name (default: from the checkpoint's config)")
      .option("masked-slots", "M", "training masked-slot count for the output name (default: from the checkpoint's config)")
      .option("obs-frames", "N", "observed frames per input video (the reference's OBS_FRAMES)", std::to_string(defaults.obs_frames))
      .option("target-len", "N", "frames per output video (TARGET_LEN)", std::to_string(defaults.target_len))
      .option("frameskip", "K", "frame stride the predictor was trained with (default: from the checkpoint's config, else " +
                                    std::to_string(defaults.frameskip) + ")")
      .option("heads", "H", "attention heads (default: from the checkpoint's config, else 16)")
      .option("history", "T", "history frames T_h (default: from the checkpoint's config, else 6)")
      .option("prefix", "P", "key prefix of the predictor's tensors in the weights file (default: detected)")
      .option("batch", "B", "videos per inference batch", "32")
      .device_option("the predictor runs (slot files are read and written on the CPU)")
      .flag("quiet", "no progress bar");
  if (!args.parse(argv)) return kExitOk;
  models::RolloutConfig config;
  config.obs_frames = args.get_int("obs-frames");
  config.target_len = args.get_int("target-len");
  const long long batch = args.get_int("batch");
  if (batch < 1) throw UsageError("option '--batch' must be >= 1");
  if (!args.has("weights")) throw UsageError("option '--weights' is required");
  const Device device = args.get_device();

  models::PredictorWeightsOptions wopt;
  if (args.has("heads")) wopt.heads = args.get_int("heads");
  if (args.has("history")) wopt.history = args.get_int("history");
  if (args.has("prefix")) wopt.prefix = args.get("prefix");
  const std::string input = args.get("slots");
  CJ_CHECK(std::filesystem::is_regular_file(input), input, ": no such slot file");
  models::LoadedPredictor loaded = models::load_predictor(args.get("weights"), wopt);
  loaded.model->to(device);
  const models::CjepaPredictorConfig& mc = loaded.model->config();
  config.frameskip = args.has("frameskip") ? args.get_int("frameskip") : loaded.frameskip.value_or(defaults.frameskip);
  config.validate(mc);

  std::string out;
  if (args.has("out")) {
    out = args.get("out");
  } else {
    std::optional<double> lr = args.has("lr") ? std::optional<double>(args.get_double("lr")) : loaded.lr;
    std::optional<int64_t> masked =
        args.has("masked-slots") ? std::optional<int64_t>(args.get_int("masked-slots")) : loaded.masked_slots;
    if (!lr || !masked)
      throw UsageError("the output name needs the training lr and masked-slot count, which " + args.get("weights") +
                       " does not record: pass --lr and --masked-slots, or --out");
    std::filesystem::path in(input);
    std::string stem = in.filename().string();
    if (stem.size() > 4 && stem.compare(stem.size() - 4, 4, ".pkl") == 0) stem.resize(stem.size() - 4);
    out = (in.parent_path() / ("rollout_" + stem + "_lr" + python_float_repr(*lr) + "_mask" + std::to_string(*masked) +
                               ".pkl")).string();
  }

  std::vector<Video> videos = read_slot_file(input);
  const Shape& shape = videos.front().slots.shape();
  CJ_CHECK(shape[2] == mc.dim, input, ": slots have dim ", shape[2], " (video '", videos.front().split, "/",
           videos.front().name, "' ", shape, ") but the predictor in ", args.get("weights"), " has dim ", mc.dim);
  for (const auto& v : videos)
    CJ_CHECK(v.slots.shape()[0] == config.obs_frames, input, ": video '", v.split, "/", v.name, "' has ",
             v.slots.shape()[0], " frames; the rollout needs exactly ", config.obs_frames,
             " observed frames per video (--obs-frames)");

  io::PickleDict result;
  ProgressBar bar("rollout", static_cast<long long>(videos.size()), "video", !args.enabled("quiet"));
  for (std::size_t start = 0; start < videos.size(); start += std::size_t(batch)) {
    const std::size_t end = std::min(videos.size(), start + std::size_t(batch));
    std::vector<Tensor> inputs;
    for (std::size_t i = start; i < end; ++i) inputs.push_back(videos[i].slots);
    const Tensor extended =
        ops::to(models::rollout_slots(*loaded.model, cj::stack(inputs, 0), config), Device::cpu());  // (B, target, S, D)
    for (std::size_t i = start; i < end; ++i)
      result.dicts[videos[i].split].arrays[videos[i].name] = cj::select(extended, 0, int64_t(i - start));
    bar.advance(static_cast<long long>(end - start));
  }
  bar.finish();
  io::write_pickle_numpy_tree(out, result);
  nlohmann::ordered_json summary = {
      {"out", out},
      {"videos", videos.size()},
      {"splits", result.dicts.size()},
      {"shape", {config.target_len, shape[1], shape[2]}},
      {"weights", loaded.kind},
      {"model", {{"dim", mc.dim}, {"depth", mc.depth}, {"heads", mc.heads}, {"history", mc.history}, {"preds", mc.preds}}},
      {"seconds", bar.elapsed_s()},
      {"videos_per_s", bar.elapsed_s() > 0 ? double(videos.size()) / bar.elapsed_s() : 0.0}};
  std::cout << summary.dump() << "\n";
  return kExitOk;
}

Registration reg({"rollout", "extend slot videos 128 -> 160 frames with a trained predictor (reference §6)", run_rollout});

}  // namespace
}  // namespace cj::app
