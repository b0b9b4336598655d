// cjepa demo: the README's main job. Runs every pipeline stage that exists today on data it makes
// itself, offline, by calling the stages' own subcommands, and says plainly which are still to come.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <numeric>

#include <nlohmann/json.hpp>

#include "apps/cli.hpp"
#include "apps/progress.hpp"
#include "data/slot_files.hpp"
#include "data/slot_windows.hpp"
#include "models/dinov2.hpp"
#include "tensor/error.hpp"
#include "tensor/io/safetensors.hpp"
#include "tensor/ops.hpp"

namespace cj::app {
namespace {

namespace fs = std::filesystem;

int run_subcommand(const std::string& name, const std::vector<std::string>& args) {
  for (const auto& c : subcommands())
    if (c.name == name) return c.run(args);
  fail("demo: subcommand '", name, "' is missing from this build");
}

// The validation lines ({"kind": "val", ...}) of the trainer's metrics.jsonl, in order.
std::vector<nlohmann::json> validation_lines(const fs::path& file) {
  std::ifstream in(file);
  std::vector<nlohmann::json> lines;
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_object() && j.value("kind", "") == "val") lines.push_back(j);
  }
  CJ_CHECK(!lines.empty(), "demo: ", file.string(), " has no validation line");
  return lines;
}

// The bar the predictor has to clear: predicting every future step as a copy of the last history
// frame, over the same validation windows (T_h 6, T_p 10, frameskip 2) the trainer validates on.
double copy_last_frame_mse(const std::string& slot_file) {
  const data::SlotFile file = data::read_slot_file(slot_file);
  const data::SlotWindows val(file.split("val"), data::WindowSpec{});
  std::vector<int64_t> all(static_cast<std::size_t>(val.size()));
  std::iota(all.begin(), all.end(), 0);
  const Tensor windows = val.gather(all);  // (W, 16, N, D)
  const Tensor last = ops::narrow(windows, 1, 5, 1), future = ops::narrow(windows, 1, 6, 10);
  return ops::mean(ops::square(ops::sub(future, last))).item();
}

// A randomly initialised DINOv2 ViT-S/14 under its Hugging Face names: no pretrained weights are
// available offline, so this stage shows the feature path and its speed, not meaningful features.
std::string write_random_vit_s(const fs::path& file, bool quick) {
  models::Dinov2Config config;  // ViT-S/14 defaults: 384 wide, 12 blocks, 6 heads
  if (quick) config.depth = 1;
  models::Dinov2 model(config);
  io::write_safetensors(file.string(), model.state_dict(), {{"note", "random init (cjepa demo)"}});
  return file.string();
}

int run_demo(const std::vector<std::string>& argv) {
  Args args("demo",
            "Run the pipeline on self-generated data, offline (about a minute on 2 cores):\n"
            "  1. Push-T:   simulate and render scripted pushing episodes (mp4 + state/action arrays)\n"
            "  2. features: DINOv2 ViT-S/14 features of one episode's frames (random weights: none are\n"
            "               available offline, so this shows the path and its speed)\n"
            "  3. slots:    a synthetic object-slot world (7 discs colliding, some hidden) in the\n"
            "               reference's pickle layout, 128 frames per video as CLEVRER\n"
            "  4. train:    the C-JEPA masked slot predictor (4 of 7 slots masked, the reference's fixed\n"
            "               indices) at reduced size, with validation, JSONL metrics and a checkpoint\n"
            "  5. rollout:  every video extended from 128 to 160 frames as the reference's rollout\n"
            "Encoders (VideoSAUR/SAVi), VQA and planning are still to come.");
  args.option("out", "DIR", "output directory", "demo_out")
      .option("episodes", "N", "Push-T episodes", "4")
      .option("epochs", "N", "predictor training epochs", "4")
      .option("seed", "S", "random seed", "0")
      .device_option("features, training and rollout run (passed to those stages)")
      .flag("quick", "every stage at toy size (1 ViT block, 56x56, 2 slot videos, a 1-block predictor): seconds");
  if (!args.parse(argv)) return kExitOk;
  const bool quick = args.has("quick");
  const fs::path out = args.get("out");
  const long long epochs = args.get_int("epochs");
  if (epochs < 1) throw UsageError("option '--epochs' must be >= 1");
  fs::create_directories(out);
  const std::string seed = args.get("seed");
  const std::string device = args.get_device().str();  // checked once, before any stage runs
  const auto started = std::chrono::steady_clock::now();

  std::cout << "== 1/5 Push-T episodes (Chipmunk simulator, pygame-exact renderer)\n";
  int rc = run_subcommand("generate", {"pusht", "--out", (out / "pusht").string(), "--episodes",
                                       args.get("episodes"), "--length", quick ? "8" : "60", "--seed", seed, "--quiet"});
  if (rc != kExitOk) return rc;

  const std::string size = quick ? "56" : "196";
  std::cout << "== 2/5 DINOv2 ViT-S/14 features of episode 0 (" << size << "x" << size << ", random weights)\n";
  const nlohmann::json index = nlohmann::json::parse(std::ifstream(out / "pusht" / "index.json"));
  const std::string video = (out / "pusht" / index.at("episodes").at(0).at("video").get<std::string>()).string();
  rc = run_subcommand("features", {"--weights", write_random_vit_s(out / "dinov2_vits14_random.safetensors", quick),
                                   "--size", size,
                                   "--input", video, "--preprocess", "planning", "--keys", "--patch-tokens",
                                   "--out", (out / "features.safetensors").string(), "--device", device});
  if (rc != kExitOk) return rc;

  std::cout << "== 3/5 synthetic object slots (7 discs, 128 frames per video)\n";
  const fs::path slots = out / "slots" / "slots.pkl";
  rc = run_subcommand("generate", {"slots", "--out", (out / "slots").string(), "--train", quick ? "2" : "16", "--val",
                                   quick ? "1" : "4", "--frames", "128", "--dim", quick ? "16" : "64", "--seed", seed, "--quiet"});
  if (rc != kExitOk) return rc;

  // The CLEVRER setting of spec §5.6 (T_h 6, T_p 10, frameskip 2, fixed masks 4 of 7) with a smaller
  // network (2 blocks of width 64, 8 heads of 8) and a larger lr, so it trains in seconds on a CPU.
  std::cout << "== 4/5 train the C-JEPA masked slot predictor (" << device << ")\n";
  const fs::path run_dir = out / "predictor";
  std::vector<std::string> train_args = {"--preset", "clevrer", "--slots", slots.string(), "--out", run_dir.string(),
                                         "--epochs", std::to_string(epochs), "--batch", "64", "--seed", seed,
                                         "predictor_lr=1e-3", "output_model_name=demo", "--device", device};
  for (const char* setting : quick ? std::vector<const char*>{"videosaur.SLOT_DIM=16", "predictor.depth=1",
                                                               "predictor.heads=2", "predictor.mlp_dim=32", "--quiet"}
                                   : std::vector<const char*>{"videosaur.SLOT_DIM=64", "predictor.depth=2",
                                                               "predictor.heads=8", "predictor.mlp_dim=256"})
    train_args.push_back(setting);
  rc = run_subcommand("train-predictor", train_args);
  if (rc != kExitOk) return rc;

  std::cout << "== 5/5 roll every video out from 128 to 160 frames\n";
  const fs::path rollout = out / "rollout_slots.pkl";
  rc = run_subcommand("rollout", {slots.string(), "--weights", (run_dir / "demo_predictor.safetensors").string(),
                                  "--out", rollout.string(), "--quiet", "--device", device});
  if (rc != kExitOk) return rc;

  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const std::vector<nlohmann::json> validations = validation_lines(run_dir / "metrics.jsonl");
  nlohmann::json summary = {
      {"out", out.string()},
      {"seconds", seconds},
      {"pusht_episodes", args.get_int("episodes")},
      {"val_future_mse_first_epoch", validations.front().at("future_mse")},
      {"val_future_mse_last_epoch", validations.back().at("future_mse")},
      {"val_future_mse_copy_last_frame", copy_last_frame_mse(slots.string())},
      {"files", {"pusht/index.json", "features.safetensors", "slots/slots.pkl", "predictor/metrics.jsonl",
                 "predictor/last.safetensors", "predictor/demo_predictor.safetensors", "rollout_slots.pkl"}},
      {"still_to_come", {"VideoSAUR/SAVi encoders", "ALOE VQA", "Push-T CEM planning"}}};
  std::cout << summary.dump(2) << "\n";
  return kExitOk;
}

Registration reg({"demo", "run the pipeline (Push-T, DINOv2 features, slots, predictor training, rollout) on self-generated data", run_demo});

}  // namespace
}  // namespace cj::app
