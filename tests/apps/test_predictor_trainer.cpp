// Predictor training (apps/predictor_trainer, `cjepa train-predictor`): bit-identical resume (also
// after a run dies mid-epoch, and in bf16), the Push-T variant, bad input, and that training on
// `generate slots` data lowers the validation loss.
#include <gtest/gtest.h>
#include <omp.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/temp_path.hpp"
#include "apps/predictor_trainer.hpp"
#include "data/synthetic_slots.hpp"
#include "models/predictor_loading.hpp"
#include "tensor/io/safetensors.hpp"
#include "tensor/ops.hpp"
#include "tests/error_of.hpp"
#include "tests/apps/run_cli.hpp"

namespace cj::app {
namespace {

namespace fs = std::filesystem;

// These models are tiny (a few thousand parameters): with OpenMP's two threads on a loaded 2-core
// machine every op pays a barrier and a step takes 15x longer than on one thread. One thread here,
// and in the `cjepa` subprocesses through the environment they inherit.
[[maybe_unused]] const int kOneThread = [] {
  omp_set_num_threads(1);
  return setenv("OMP_NUM_THREADS", "1", 1);
}();

using cj::test::error_of;

// Every temporary directory this process made, removed when its tests are done.
std::vector<fs::path>& temp_dirs() {
  static std::vector<fs::path> dirs;
  return dirs;
}
struct RemoveTempDirs : ::testing::Environment {
  void TearDown() override {
    for (const auto& d : temp_dirs()) fs::remove_all(d);
  }
};
[[maybe_unused]] const auto* const kCleanup = ::testing::AddGlobalTestEnvironment(new RemoveTempDirs);

// A small synthetic slot world (4 discs, 16-d slots), written once per test binary.
const std::string& slot_file() {
  static const std::string path = [] {
    const fs::path dir = cj::test::unique_temp_path("cj_test_trainer_slots");
    temp_dirs().push_back(dir);
    data::SlotWorldConfig world;
    world.train_videos = 6;
    world.val_videos = 2;
    world.frames = 24;
    world.objects = 4;
    world.slot_dim = 16;
    world.seed = 3;
    data::write_slot_dataset(dir.string(), world);
    return (dir / "slots.pkl").string();
  }();
  return path;
}

// A 1-block predictor at D = 16 on 3 + 2 steps (frameskip 1): 20 windows per 24-frame video, 120
// training windows, 7 steps of 16 per epoch.
TrainerConfig small_config(const std::string& out) {
  TrainerConfig c = preset_config("clevrer");
  c.embedding_dir = slot_file();
  c.out_dir = out;
  c.history_size = 3;
  c.num_preds = 2;
  c.frameskip = 1;
  c.depth = 1;
  c.heads = 4;
  c.mlp_dim = 32;
  c.num_slots = 4;
  c.slot_dim = 16;
  c.num_masked_slots = 2;
  c.batch_size = 16;
  c.max_epochs = 3;
  c.progress = false;
  return c;
}

fs::path fresh_dir(const std::string& name) {
  // per process: ctest runs tests (and other worktrees' builds) side by side
  const fs::path dir = cj::test::unique_temp_path("cj_test_trainer_" + name);
  fs::remove_all(dir);
  temp_dirs().push_back(dir);
  return dir;
}

// The Push-T variant on tests/fixtures/data (4 slots of dim 8, action 2-d x frameskip 5, proprio 4-d).
TrainerConfig pusht_config(const std::string& out) {
  TrainerConfig c = preset_config("pusht");
  const std::string dir = std::string(CJ_FIXTURE_DIR) + "/data/";
  c.embedding_dir = dir + "pusht_slots.pkl";
  c.action_dir = dir + "pusht_action.pkl";
  c.proprio_dir = dir + "pusht_proprio.pkl";
  c.out_dir = out;
  c.depth = 1;
  c.heads = 2;
  c.mlp_dim = 16;
  c.slot_dim = c.proprio_embed_dim = c.action_embed_dim = 8;
  c.batch_size = 4;
  c.max_epochs = 3;
  c.progress = false;
  return c;
}

// metrics.jsonl without the wall-clock field
std::vector<nlohmann::json> metrics_of(const fs::path& dir) {
  std::ifstream in(dir / "metrics.jsonl");
  std::vector<nlohmann::json> lines;
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line);
    j.erase("windows_per_s");
    lines.push_back(j);
  }
  return lines;
}

void expect_same_checkpoint(const fs::path& a, const fs::path& b) {
  const auto x = io::read_safetensors((a / "last.safetensors").string()).tensors;
  const auto y = io::read_safetensors((b / "last.safetensors").string()).tensors;
  ASSERT_EQ(x.size(), y.size());
  for (const auto& [name, t] : x) {
    ASSERT_EQ(y.count(name), 1u) << name;
    const auto u = to_vector<double>(t), v = to_vector<double>(y.at(name));
    ASSERT_EQ(u, v) << name;  // bit-identical: parameters, Adam moments, step counters
  }
}

// Runs `config` again in a fresh directory as split_at steps, then --resume to config.max_steps,
// and expects what the straight run left in config.out_dir: the same last loss, bit-identical
// checkpoint and the same metrics lines. Returns the resumed run's result.
TrainResult expect_split_run_matches(const TrainerConfig& config, const TrainResult& straight, int64_t split_at,
                                     const std::string& name) {
  std::ostringstream log;
  TrainerConfig half = config;
  half.out_dir = fresh_dir(name).string();
  half.max_steps = split_at;
  train_predictor(half, log);
  half.max_steps = config.max_steps;
  TrainOptions resume;
  resume.resume = true;
  const TrainResult second = train_predictor(half, log, resume);
  EXPECT_EQ(second.start_step, split_at);
  EXPECT_EQ(second.last_loss, straight.last_loss);
  expect_same_checkpoint(config.out_dir, half.out_dir);
  EXPECT_EQ(metrics_of(half.out_dir), metrics_of(config.out_dir));
  return second;
}

TEST(PredictorTrainer, ResumeIsBitIdentical) {
  // 10 steps straight vs 5 + resume + 5, with random masks and dropout drawing from the saved
  // generator, across the epoch boundary at step 7 (validation and a new data order there).
  TrainerConfig c = small_config(fresh_dir("straight").string());
  c.mask = "random";
  c.max_steps = 10;
  std::ostringstream log;
  const TrainResult straight = train_predictor(c, log);
  EXPECT_EQ(straight.steps_per_epoch, 7);
  EXPECT_EQ(straight.end_step, 10);
  ASSERT_EQ(straight.validations.size(), 1u);
  expect_split_run_matches(c, straight, 5, "halves");
  EXPECT_EQ(metrics_of(c.out_dir).size(), 11u);  // 10 steps + 1 validation
}

// The loss is read back only on steps that report it (a read waits for a GPU to finish the step);
// sparse logging must still give the last step's loss and the logged steps' values.
TEST(PredictorTrainer, SparseLoggingKeepsTheLastLossAndTheLoggedValues) {
  TrainerConfig every = small_config(fresh_dir("log_every").string());
  every.max_steps = 10;
  std::ostringstream log;
  const TrainResult dense = train_predictor(every, log);
  TrainerConfig sparse = every;
  sparse.out_dir = fresh_dir("log_sparse").string();
  sparse.log_every_n_steps = 4;
  const TrainResult result = train_predictor(sparse, log);
  EXPECT_EQ(result.last_loss, dense.last_loss);  // step 10: neither logged nor an epoch end
  std::map<int64_t, double> dense_losses;
  for (const auto& j : metrics_of(every.out_dir))
    if (j.at("kind") == "train") dense_losses[j.at("step").get<int64_t>()] = j.at("loss").get<double>();
  std::vector<int64_t> logged;
  for (const auto& j : metrics_of(sparse.out_dir)) {
    if (j.at("kind") != "train") continue;
    logged.push_back(j.at("step").get<int64_t>());
    EXPECT_EQ(j.at("loss").get<double>(), dense_losses.at(logged.back())) << "step " << logged.back();
  }
  EXPECT_EQ(logged, (std::vector<int64_t>{4, 8}));
}

TEST(PredictorTrainer, RunKilledMidEpochResumesFromItsLastCheckpoint) {
  TrainerConfig c = small_config(fresh_dir("unkilled").string());
  c.max_steps = 10;
  std::ostringstream log;
  train_predictor(c, log);

  TrainerConfig k = c;
  k.out_dir = fresh_dir("killed").string();
  k.checkpoint_every_n_steps = 2;
  TrainOptions dies;
  dies.after_step = [](int64_t step) {
    if (step == 5) throw std::runtime_error("killed");
  };
  EXPECT_THROW(train_predictor(k, log, dies), std::runtime_error);
  EXPECT_EQ(metrics_of(k.out_dir).size(), 5u);  // step 5 was logged, its checkpoint never written
  TrainOptions resume;
  resume.resume = true;
  const TrainResult r = train_predictor(k, log, resume);
  EXPECT_EQ(r.start_step, 4);
  expect_same_checkpoint(c.out_dir, k.out_dir);
  EXPECT_EQ(metrics_of(c.out_dir), metrics_of(k.out_dir));
}

TEST(PredictorTrainer, RolloutLoadsWhatTrainingWrote) {
  // cjepa rollout's loader (models/predictor_loading) must rebuild the trained model from both files
  // train-predictor writes, reading heads and T_h from their saved config (neither is in a shape):
  // 4 heads and T_h = 3 here, not the reference defaults 16 and 6.
  TrainerConfig c = small_config(fresh_dir("for_rollout").string());
  c.max_epochs = 1;  // 7 steps; the final weights file is written when the run completes
  std::ostringstream log;
  train_predictor(c, log);
  const fs::path out(c.out_dir);
  for (const fs::path& file : {out / "last.safetensors", out / (c.output_model_name + "_predictor.safetensors")}) {
    const models::LoadedPredictor loaded = models::load_predictor(file.string());
    EXPECT_EQ(loaded.model->config().heads, 4) << file;
    EXPECT_EQ(loaded.model->config().history, 3) << file;
    EXPECT_EQ(loaded.model->config().preds, 2) << file;
    ASSERT_TRUE(loaded.masked_slots.has_value()) << file;
    EXPECT_EQ(*loaded.masked_slots, 2) << file;
    ASSERT_TRUE(loaded.lr.has_value()) << file;
    EXPECT_EQ(*loaded.lr, c.predictor_lr) << file;
  }
  const auto saved = io::read_safetensors((out / (c.output_model_name + "_predictor.safetensors")).string()).tensors;
  const auto reloaded = models::load_predictor((out / "last.safetensors").string()).model->state_dict();
  ASSERT_EQ(saved.size(), reloaded.size());
  for (const auto& [name, t] : saved) EXPECT_EQ(to_vector<double>(t), to_vector<double>(reloaded.at(name))) << name;
}

TEST(PredictorTrainer, BadInputIsOneClearError) {
  std::ostringstream log;
  TrainerConfig c = small_config(fresh_dir("bad").string());
  c.num_slots = 7;
  EXPECT_NE(error_of([&] { train_predictor(c, log); })
                .find("has 4 slots of dim 16, the config says videosaur.NUM_SLOTS=7, videosaur.SLOT_DIM=16"),
            std::string::npos);
  c = small_config(fresh_dir("bad").string());
  TrainOptions resume;
  resume.resume = true;
  EXPECT_NE(error_of([&] { train_predictor(c, log, resume); }).find("--resume: no checkpoint"), std::string::npos);
  c.max_steps = 1;
  train_predictor(c, log);
  c.batch_size = 8;
  EXPECT_NE(error_of([&] { train_predictor(c, log, resume); })
                .find("was made with batch_size=16, this run has batch_size=8"),
            std::string::npos);
  c = small_config(fresh_dir("bad").string());
  c.batch_size = 500;
  EXPECT_NE(error_of([&] { train_predictor(c, log); }).find("120 training windows, fewer than batch_size 500"),
            std::string::npos);
  c = small_config(fresh_dir("bad").string());
  c.history_size = 23;  // clips of 25 frames, videos of 24
  EXPECT_NE(error_of([&] { train_predictor(c, log); }).find("the val split has no video long enough"),
            std::string::npos);
  c = small_config(fresh_dir("bad").string());
  c.embedding_dir = "/nonexistent/slots.pkl";
  EXPECT_NE(error_of([&] { train_predictor(c, log); }).find("/nonexistent/slots.pkl"), std::string::npos);
  TrainerConfig p = pusht_config(fresh_dir("bad").string());
  p.action_embed_dim = 10;
  EXPECT_NE(error_of([&] { train_predictor(p, log); }).find("must equal videosaur.SLOT_DIM (8), got 8 and 10"),
            std::string::npos);
  p = pusht_config(fresh_dir("bad").string());
  p.proprio_dim = 7;
  EXPECT_NE(error_of([&] { train_predictor(p, log); }).find("proprio dim is 4, expected 7"), std::string::npos);
  c = small_config(fresh_dir("bad").string());
  c.device = "gpu";
  EXPECT_NE(error_of([&] { train_predictor(c, log); }).find("config key 'cjepa.device' must be cpu, cuda or cuda:N"),
            std::string::npos);
  c.device = "cuda";  // this test links no CUDA backend, whatever the build
  EXPECT_NE(error_of([&] { train_predictor(c, log); }).find("this build has no CUDA backend"), std::string::npos);
}

TEST(PredictorTrainer, PushTVariantTrainsWithCosineAndResumesBitIdentically) {
  // tests/fixtures/data: 18 train windows (T_h 3, T_p 1, fs 5), batch 4 -> 4 steps per epoch, 3
  // epochs, cosine annealing over the 12 steps on all three parameter groups.
  TrainerConfig c = pusht_config(fresh_dir("pusht").string());
  std::ostringstream log;
  const TrainResult r = train_predictor(c, log);
  EXPECT_EQ(r.steps_per_epoch, 4);
  EXPECT_EQ(r.total_steps, 12);
  ASSERT_EQ(r.validations.size(), 3u);
  EXPECT_GT(r.validations.back().proprio_mse, 0.0);
  EXPECT_GT(r.validations.back().masked_slot_mse, 0.0);
  EXPECT_NE(log.str().find("action 10-d, proprio 4-d"), std::string::npos) << log.str();
  const auto lines = metrics_of(c.out_dir);
  for (const auto& line : lines)
    if (line["kind"] == "train") {  // the lr logged after step k is the one step k + 1 uses
      const double k = line["step"].get<double>();
      EXPECT_NEAR(line["lr"].get<double>(), 5e-4 * (1 + std::cos(M_PI * k / 12)) / 2, 1e-12) << line.dump();
    }
  const auto weights = io::read_safetensors((fs::path(c.out_dir) / "causal_world_model_predictor.safetensors").string());
  EXPECT_TRUE(weights.tensors.count("proprio_encoder.patch_embed.weight"));
  EXPECT_TRUE(weights.tensors.count("predictor.time_pos_embed"));

  c.max_steps = 12;  // the whole run, as above
  expect_split_run_matches(c, r, 6, "pusht_halves");
}

TEST(PredictorTrainer, PushTRandomMasksResumeBitIdentically) {
  // per-sample masks drawn from the checkpointed generator: 3 + resume + 3 steps equal 6 straight
  TrainerConfig c = pusht_config(fresh_dir("pusht_random").string());
  c.mask = "random";
  c.max_steps = 6;
  std::ostringstream log;
  const TrainResult straight = train_predictor(c, log);
  EXPECT_GT(straight.validations.back().masked_slot_mse, 0.0);
  expect_split_run_matches(c, straight, 3, "pusht_random_halves");
}

TEST(PredictorTrainer, TrainingLowersTheValidationLoss) {
  // 8 epochs of 7 steps (56 AdamW steps, batch 16, constant lr 2e-3 instead of the preset's 5e-4,
  // which is meant for 113k steps; M = 2 fixed) on the synthetic world (val: 40 windows). At
  // initialisation the prediction ignores the slots: future MSE 0.88, about the slots' variance
  // (0.87). Measured after 56 steps: future MSE 0.228 (ratio 0.26), masked-slot MSE 0.75 -> 0.27
  // (0.36); after 14 steps the ratio is still 0.58. We demand ratios below 0.5 and 0.6: well past
  // what a few steps give, with room for other CPUs' rounding. (Copying the last history frame
  // scores 0.038 here: beating that takes far longer training than a unit test affords.)
  TrainerConfig c = small_config(fresh_dir("learn").string());
  c.max_epochs = 8;
  c.predictor_lr = 2e-3;
  const ValidationMetrics before = validate_checkpoint(c, "");
  std::ostringstream log;
  const TrainResult r = train_predictor(c, log);
  ASSERT_EQ(r.validations.size(), 8u);
  const ValidationMetrics after = r.validations.back();
  EXPECT_LT(after.future_mse, 0.5 * before.future_mse) << before.future_mse << " -> " << after.future_mse;
  EXPECT_LT(after.masked_slot_mse, 0.6 * before.masked_slot_mse)
      << before.masked_slot_mse << " -> " << after.masked_slot_mse;
  // the final weights load by the reference's names and validate to the same numbers
  const std::string weights = (fs::path(c.out_dir) / "causal_world_model_predictor.safetensors").string();
  EXPECT_TRUE(io::read_safetensors(weights).tensors.count("transformer.layers.0.0.in_proj_weight"));
  const ValidationMetrics reloaded = validate_checkpoint(c, (fs::path(c.out_dir) / "last.safetensors").string());
  EXPECT_EQ(reloaded.future_mse, after.future_mse);
}

TEST(PredictorTrainer, Bf16AutocastTrainsCloseToFp32) {
  // The same 7 steps with trainer.precision=bf16 (autograd/autocast.hpp: linear and attention in
  // bf16 with f32 accumulation, layer_norm and the loss in f32): bf16 rounds GEMM inputs to 8
  // significant bits (relative 2^-9), so the losses must differ (autocast engaged) yet stay within
  // 5% of fp32's after 7 steps (measured: 1.85311 vs 1.85319, 4e-5). Resume is bit-identical in bf16 too.
  TrainerConfig c = small_config(fresh_dir("fp32").string());
  c.max_steps = 7;
  std::ostringstream log;
  const double fp32 = train_predictor(c, log).last_loss;
  c.precision = "bf16";
  c.out_dir = fresh_dir("bf16").string();
  const double bf16 = train_predictor(c, log).last_loss;
  EXPECT_NE(bf16, fp32);
  EXPECT_LT(std::fabs(bf16 - fp32), 0.05 * fp32) << fp32 << " vs " << bf16;
  TrainerConfig half = c;
  half.out_dir = fresh_dir("bf16_halves").string();
  half.max_steps = 3;
  train_predictor(half, log);
  half.max_steps = 7;
  TrainOptions resume;
  resume.resume = true;
  EXPECT_EQ(train_predictor(half, log, resume).last_loss, bf16);
  expect_same_checkpoint(c.out_dir, half.out_dir);
}

TEST(TrainPredictorCli, UsageConfigAndErrors) {
  using cj::test::run_cjepa;
  auto r = run_cjepa("train-predictor --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("videosaur.NUM_SLOTS"), std::string::npos) << r.out;
  r = run_cjepa("train-predictor --preset pusht --slots s.pkl action_dir=a.pkl proprio_dir=p.pkl --print-config");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("\"proprio_encoder_lr\": 0.0001"), std::string::npos) << r.out;
  r = run_cjepa("train-predictor --preset clevrer --slots s.pkl predictor.dept=3");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("unknown config key 'predictor.dept'"), std::string::npos) << r.out;
  r = run_cjepa("train-predictor --preset clevrer --slots s.pkl --precision fp16");
  EXPECT_EQ(r.exit_code, 2);
  const fs::path out = fresh_dir("cli");
  r = run_cjepa("train-predictor --preset clevrer --slots " + slot_file() + " --out " + out.string() +
                " --quiet --batch 16 --epochs 1 --masked-slots 1 --mask random dinowm.history_size=3 dinowm.num_preds=2"
                " frameskip=1 predictor.depth=1 predictor.heads=4 predictor.mlp_dim=32 videosaur.NUM_SLOTS=4"
                " videosaur.SLOT_DIM=16");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("train: 120 windows from 6 videos"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"steps\":7"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(out / "last.safetensors"));
}

}  // namespace
}  // namespace cj::app
