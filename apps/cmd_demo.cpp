// cjepa demo: the README's main job. Runs every pipeline stage that exists today on data it makes
// itself, offline, and says plainly which stages are still to come.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

#include "apps/cli.hpp"
#include "apps/progress.hpp"
#include "autograd/ops.hpp"
#include "nn/nn.hpp"
#include "tensor/io/load.hpp"
#include "tensor/ops.hpp"

namespace cj::app {
namespace {

namespace fs = std::filesystem;

int run_subcommand(const std::string& name, const std::vector<std::string>& args) {
  for (const auto& c : subcommands())
    if (c.name == name) return c.run(args);
  fail("demo: subcommand '", name, "' is missing from this build");
}

// Stacks every video of a split into consecutive (slot_t, slot_t+1) pairs: (P, D) each.
std::pair<Tensor, Tensor> transition_pairs(const io::TensorMap& slots, const std::string& split) {
  std::vector<Tensor> now, next;
  for (const auto& [name, video] : slots) {  // names are "<split>.<video>", video: (T, N, D)
    if (name.rfind(split + ".", 0) != 0) continue;
    const int64_t T = video.size(0);
    now.push_back(ops::flatten(ops::narrow(video, 0, 0, T - 1), 0, 1));
    next.push_back(ops::flatten(ops::narrow(video, 0, 1, T - 1), 0, 1));
  }
  CJ_CHECK(!now.empty(), "demo: no '", split, "' videos in the slot file");
  return {ops::cat(now, 0), ops::cat(next, 0)};
}

int run_demo(const std::vector<std::string>& argv) {
  Args args("demo",
            "Run the pipeline stages that exist today on self-generated data, offline:\n"
            "  1. Push-T: simulate and render scripted pushing episodes (mp4 + state/action arrays)\n"
            "  2. slots:  generate a synthetic object-slot data set in the reference's pickle layout\n"
            "  3. train:  read it back through the restricted unpickler and train a small next-slot\n"
            "             dynamics model (autograd, nn.Linear, AdamW), with JSONL metrics and a checkpoint\n"
            "The C-JEPA masked predictor, encoders, VQA and planning stages are still to come.");
  args.option("out", "DIR", "output directory", "demo_out")
      .option("episodes", "N", "Push-T episodes", "4")
      .option("steps", "N", "training steps", "300")
      .option("seed", "S", "random seed", "0");
  if (!args.parse(argv)) return kExitOk;
  const fs::path out = args.get("out");
  const long long steps = args.get_int("steps");
  if (steps < 1) throw UsageError("option '--steps' must be >= 1");
  fs::create_directories(out);
  const std::string seed = args.get("seed");

  std::cout << "== 1/3 Push-T episodes (Chipmunk simulator, pygame-exact renderer)\n";
  int rc = run_subcommand("generate", {"pusht", "--out", (out / "pusht").string(), "--episodes",
                                       args.get("episodes"), "--length", "60", "--seed", seed, "--quiet"});
  if (rc != kExitOk) return rc;

  std::cout << "== 2/3 synthetic object slots (7 discs colliding, some occluded)\n";
  rc = run_subcommand("generate", {"slots", "--out", (out / "slots").string(), "--train", "24", "--val", "8",
                                   "--frames", "32", "--seed", seed, "--quiet"});
  if (rc != kExitOk) return rc;

  std::cout << "== 3/3 train a next-slot dynamics model on them (CPU)\n";
  io::TensorMap slots = io::load_tensors((out / "slots" / "slots.pkl").string());
  auto [x_train, y_train] = transition_pairs(slots, "train");
  auto [x_val, y_val] = transition_pairs(slots, "val");
  const int64_t D = x_train.size(1), P = x_train.size(0);

  Generator gen(static_cast<uint64_t>(std::stoull(seed)));
  auto model = std::make_shared<nn::Sequential>();
  model->push_back(std::make_shared<nn::Linear>(D, 256, true, gen));
  model->push_back(std::make_shared<nn::GELU>());
  model->push_back(std::make_shared<nn::Linear>(256, D, true, gen));
  nn::AdamOptions adam;
  adam.lr = 1e-3;
  nn::AdamW optimizer(model->parameters(), adam);

  // Predicting the residual next - now; the copy-last-frame baseline is what it must beat.
  auto predict = [&](const Tensor& x) { return x + model->forward(x); };
  double copy_baseline;
  {
    NoGradGuard no_grad;
    copy_baseline = nn::mse_loss(x_val, y_val).item();
  }
  std::ofstream metrics(out / "metrics.jsonl");
  ProgressBar bar("train", steps, "step");
  const int64_t batch = 256;
  double loss_value = 0;
  for (long long step = 0; step < steps; ++step) {
    Tensor idx = randint(0, P, {batch}, DType::i64, &gen);
    Tensor loss = nn::mse_loss(predict(ops::index_select(x_train, 0, idx)), ops::index_select(y_train, 0, idx));
    optimizer.zero_grad();
    backward(loss);
    optimizer.step();
    loss_value = loss.item();
    if (step % 25 == 0 || step + 1 == steps) {
      NoGradGuard no_grad;
      double val = nn::mse_loss(predict(x_val), y_val).item();
      metrics << nlohmann::json{{"step", step}, {"train_mse", loss_value}, {"val_mse", val}}.dump() << "\n";
    }
    bar.advance();
  }
  bar.finish();
  double val_mse;
  {
    NoGradGuard no_grad;
    val_mse = nn::mse_loss(predict(x_val), y_val).item();
  }
  nn::save_checkpoint((out / "dynamics.ckpt.safetensors").string(), *model, &optimizer, steps, gen,
                      nlohmann::json{{"model", "next-slot MLP"}, {"hidden", 256}, {"dim", D}}.dump());

  nlohmann::json summary = {{"out", out.string()},
                            {"pusht_episodes", args.get_int("episodes")},
                            {"train_pairs", P},
                            {"val_mse", val_mse},
                            {"copy_last_frame_mse", copy_baseline},
                            {"improvement", copy_baseline / val_mse},
                            {"files", {"pusht/index.json", "slots/slots.pkl", "metrics.jsonl", "dynamics.ckpt.safetensors"}},
                            {"still_to_come", {"C-JEPA masked predictor", "VideoSAUR/SAVi encoders", "ALOE VQA",
                                               "Push-T CEM planning"}}};
  std::cout << summary.dump(2) << "\n";
  return kExitOk;
}

Registration reg({"demo", "run every pipeline stage that exists today on self-generated data", run_demo});

}  // namespace
}  // namespace cj::app
