#include "apps/predictor_trainer.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "apps/predictor_tasks.hpp"
#include "apps/progress.hpp"
#include "autograd/ops.hpp"
#include "nn/nn.hpp"
#include "tensor/error.hpp"
#include "tensor/io/pickle_writer.hpp"
#include "tensor/io/safetensors.hpp"
#include "tensor/numpy_random.hpp"
#include "tensor/ops.hpp"

#if __has_include("autograd/autocast.hpp")
#include "autograd/autocast.hpp"
#define CJ_TRAINER_HAS_AUTOCAST 1
#endif

namespace cj::app {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

const char* const kCheckpointName = "last.safetensors";
const char* const kMetricsName = "metrics.jsonl";

// Keys whose change keeps a resumed run meaningful: how long it runs and how it reports.
bool may_differ_on_resume(const std::string& key, const TrainerConfig& c) {
  return key == "cjepa.max_steps" || key == "cjepa.checkpoint_every_n_steps" || key == "cjepa.progress" ||
         key == "trainer.log_every_n_steps" || key == "cjepa.out_dir" || key == "cjepa.val_batch_size" ||
         key == "cjepa.device" ||  // checkpoints are device-independent: resume onto any device
         (key == "trainer.max_epochs" && c.lr_schedule == "constant");  // cosine's length depends on it
}

void check_resumable(const TrainerConfig& config, const std::string& saved_json, const std::string& path) {
  nlohmann::json saved, now = nlohmann::json::parse(config.to_json());
  try {
    saved = nlohmann::json::parse(saved_json).at("trainer");
  } catch (const std::exception&) {
    fail("--resume: ", path, " is not a train-predictor checkpoint (no trainer config in its metadata)");
  }
  for (const auto& [key, value] : now.items()) {
    if (may_differ_on_resume(key, config)) continue;
    CJ_CHECK(saved.contains(key) && saved[key] == value, "--resume: ", path, " was made with ", key, "=",
             saved.contains(key) ? saved[key].dump() : "(absent)", ", this run has ", key, "=", value.dump());
  }
}

// Keeps the metrics lines of steps <= step (a resumed run rewrites what came after its checkpoint).
void truncate_metrics(const fs::path& path, int64_t step) {
  if (!fs::exists(path)) return;
  std::ifstream in(path);
  std::string line, kept;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    try {
      if (nlohmann::json::parse(line).at("step").get<int64_t>() > step) continue;
    } catch (const std::exception&) {
      continue;  // a line cut short by a kill
    }
    kept += line + "\n";
  }
  io::write_file_atomic(path.string(), kept);
}

// Everything a run holds: data and model (the task), optimizer, schedule, RNG.
class Run {
 public:
  Run(const TrainerConfig& config, std::ostream& log, bool need_train)
      : config_(config), gen_(static_cast<uint64_t>(config.seed)) {
    config_.validate();
#ifndef CJ_TRAINER_HAS_AUTOCAST
    CJ_CHECK(!config_.bf16(), "train-predictor: bf16 mixed precision needs autograd/autocast.hpp (branch autocast), ",
             "which is not in this build; use --precision fp32 (trainer.precision=32)");
#endif
    const Device device = Device::parse(config_.device);
    require_device(device);  // before the data is read: a missing GPU fails fast
    task_ = make_predictor_task(config_, gen_, log, need_train);
    // Initialised on the CPU (the same weights on every device), then moved; the optimizer below
    // is built over the moved parameters.
    task_->model().to(device);
    if (need_train) {
      steps_per_epoch_ = task_->windows(true) / config_.batch_size;  // drop_last, as the reference's loader
      CJ_CHECK(steps_per_epoch_ > 0, "slot file ", config_.embedding_dir, ": ", task_->windows(true),
               " training windows, fewer than batch_size ", config_.batch_size);
    }
    nn::AdamOptions adam;
    adam.lr = config_.predictor_lr;
    adam.weight_decay = config_.weight_decay;
    optimizer_ = std::make_unique<nn::AdamW>(task_->param_groups(), adam);
    std::shared_ptr<const nn::Schedule> schedule;
    if (config_.lr_schedule == "cosine") schedule = std::make_shared<nn::CosineSchedule>(total_steps());
    else schedule = std::make_shared<nn::ConstantSchedule>();
    scheduler_ = std::make_unique<nn::LRScheduler>(*optimizer_, schedule);
  }

  int64_t total_steps() const { return steps_per_epoch_ * config_.max_epochs; }
  int64_t steps_per_epoch() const { return steps_per_epoch_; }
  nn::Module& model() { return task_->model(); }

  // Loads last.safetensors; returns its step.
  int64_t resume(const std::string& path) {
    CJ_CHECK(fs::exists(path), "--resume: no checkpoint ", path, " (start without --resume)");
    check_resumable(config_, nn::read_checkpoint_info(path).config, path);
    const nn::CheckpointInfo info = nn::load_checkpoint(path, task_->model(), optimizer_.get(), &gen_);
    scheduler_->set_step(info.step);
    return info.step;
  }

  void save(const std::string& path, int64_t step) {
    nlohmann::json meta = {{"trainer", nlohmann::json::parse(config_.to_json())},
                           {"epoch", step / steps_per_epoch_},
                           {"batch_in_epoch", step % steps_per_epoch_},
                           {"windows_seen", step * config_.batch_size},
                           {"variant", task_->variant()}};
    nn::save_checkpoint(path, task_->model(), optimizer_.get(), step, gen_, meta.dump());
  }

  // One optimizer step on global step `step` (0-based).
  TaskLosses train_step(int64_t step) {
    const int64_t epoch = step / steps_per_epoch_, in_epoch = step % steps_per_epoch_;
    if (epoch != order_epoch_) {
      // numpy's legacy permutation: the same order on every platform and after every resume
      order_ = NumpyRandomState(static_cast<uint32_t>(config_.seed + epoch)).permutation(task_->windows(true));
      order_epoch_ = epoch;
    }
    const auto first = order_.begin() + in_epoch * config_.batch_size;
    task_->model().train();
    TaskLosses out = masked_forward(true, std::vector<int64_t>(first, first + config_.batch_size), gen_);
    optimizer_->zero_grad();
    backward(out.loss);
    optimizer_->step();
    scheduler_->step();
    return out;
  }

  double lr() const { return scheduler_->lr(0); }

  // Over the val split: future MSE of the inference path; masked-slot (and Push-T proprio) MSE of
  // the masked forward.
  ValidationMetrics validate() {
    NoGradGuard no_grad;
    task_->model().eval();
    Generator mask_gen(static_cast<uint64_t>(config_.seed) + 1);  // the same random masks at every validation
    const int64_t batch = config_.val_batch_size > 0 ? config_.val_batch_size : config_.batch_size;
    const int64_t total = task_->windows(false);
    double future_sum = 0, masked_sum = 0, proprio_sum = 0;
    for (int64_t first = 0; first < total; first += batch) {
      std::vector<int64_t> windows;
      for (int64_t w = first; w < std::min(total, first + batch); ++w) windows.push_back(w);
      const double n = static_cast<double>(windows.size());
      {
#ifdef CJ_TRAINER_HAS_AUTOCAST
        AutocastGuard autocast(DType::bf16, config_.bf16());
#endif
        future_sum += n * task_->future_mse(windows);
      }
      const TaskLosses masked = masked_forward(false, windows, mask_gen);
      masked_sum += n * masked.history.item();
      if (masked.proprio.defined()) proprio_sum += n * masked.proprio.item();
    }
    ValidationMetrics m;
    m.future_mse = future_sum / static_cast<double>(total);
    m.masked_slot_mse = masked_sum / static_cast<double>(total);
    m.proprio_mse = proprio_sum / static_cast<double>(total);
    return m;
  }

 private:
  TaskLosses masked_forward(bool train, const std::vector<int64_t>& windows, Generator& mask_gen) {
#ifdef CJ_TRAINER_HAS_AUTOCAST
    AutocastGuard autocast(DType::bf16, config_.bf16());
#endif
    return task_->masked_forward(train, windows, mask_gen);
  }

  TrainerConfig config_;
  Generator gen_;  // parameter init, dropout, random masks: saved in every checkpoint
  std::unique_ptr<PredictorTask> task_;
  int64_t steps_per_epoch_ = 1;
  std::unique_ptr<nn::AdamW> optimizer_;
  std::unique_ptr<nn::LRScheduler> scheduler_;
  std::vector<int64_t> order_;
  int64_t order_epoch_ = -1;
};

std::string fixed(double v, int digits = 5) {
  std::ostringstream os;
  os.precision(digits);
  os << v;
  return os.str();
}

}  // namespace

TrainResult train_predictor(const TrainerConfig& config, std::ostream& log, const TrainOptions& options) {
  Run run(config, log, /*need_train=*/true);
  const fs::path out_dir = config.out_dir;
  fs::create_directories(out_dir);
  const std::string checkpoint = (out_dir / kCheckpointName).string();
  const fs::path metrics_path = out_dir / kMetricsName;

  TrainResult result;
  result.steps_per_epoch = run.steps_per_epoch();
  result.total_steps = run.total_steps();
  if (options.resume) {
    result.start_step = run.resume(checkpoint);
    truncate_metrics(metrics_path, result.start_step);
    log << "resumed from " << checkpoint << " at step " << result.start_step << " (epoch "
        << result.start_step / result.steps_per_epoch + 1 << ", batch " << result.start_step % result.steps_per_epoch
        << ")\n";
  } else if (fs::exists(metrics_path)) {
    fs::remove(metrics_path);
  }
  const int64_t end_step =
      config.max_steps > 0 ? std::min(config.max_steps, result.total_steps) : result.total_steps;
  log << "training " << run.model().num_parameters() << " parameters, " << result.steps_per_epoch
      << " steps per epoch x " << config.max_epochs << " epochs, batch " << config.batch_size << ", masked slots "
      << config.num_masked_slots << " (" << config.mask << "), lr " << config.predictor_lr << " ("
      << config.lr_schedule << "), " << (config.bf16() ? "bf16 autocast" : "fp32") << " on " << config.device << "\n";

  std::ofstream metrics(metrics_path, std::ios::app);
  CJ_CHECK(metrics.good(), "cannot write ", metrics_path.string());
  ProgressBar bar("train", std::max<int64_t>(0, end_step - result.start_step) * config.batch_size, "win",
                  config.progress);
  auto window_start = Clock::now();
  int64_t windows_since_log = 0;
  for (int64_t step = result.start_step; step < end_step; ++step) {
    const TaskLosses out = run.train_step(step);
    const int64_t done = step + 1, epoch = step / result.steps_per_epoch;
    const bool log_now = done % config.log_every_n_steps == 0;
    const bool epoch_end = done % result.steps_per_epoch == 0;
    // Reading the loss waits for the device to finish the step, so only on steps that report it
    // (a metrics line, an epoch's summary, the last step), not every step.
    if (log_now || epoch_end || done == end_step) {
      result.last_loss = out.loss.item();
      bar.set_note("loss " + fixed(result.last_loss, 4) + "  epoch " + std::to_string(epoch + 1) + "/" +
                   std::to_string(config.max_epochs));
    }
    windows_since_log += config.batch_size;
    bar.advance(config.batch_size);
    if (log_now) {
      const double seconds = std::chrono::duration<double>(Clock::now() - window_start).count();
      metrics << nlohmann::json{{"kind", "train"}, {"step", done}, {"epoch", epoch},
                                {"loss", result.last_loss}, {"loss_future", out.future.item()},
                                {"loss_masked_history", out.history.item()}, {"lr", run.lr()},
                                {"windows_per_s", seconds > 0 ? windows_since_log / seconds : 0.0}}
                     .dump()
              << "\n";
      metrics.flush();
      window_start = Clock::now();
      windows_since_log = 0;
    }
    if (epoch_end) {
      ValidationMetrics m = run.validate();
      m.step = done;
      m.epoch = epoch;
      result.validations.push_back(m);
      nlohmann::json line = {{"kind", "val"}, {"step", done}, {"epoch", epoch}, {"future_mse", m.future_mse},
                             {"masked_slot_mse", m.masked_slot_mse}};
      if (config.pusht()) line["proprio_mse"] = m.proprio_mse;
      metrics << line.dump() << "\n";
      metrics.flush();
      log << "epoch " << epoch + 1 << "/" << config.max_epochs << ": train loss " << fixed(result.last_loss)
          << ", val future MSE " << fixed(m.future_mse) << ", val masked-slot MSE " << fixed(m.masked_slot_mse) << "\n";
    }
    if (epoch_end || done == end_step ||
        (config.checkpoint_every_n_steps > 0 && done % config.checkpoint_every_n_steps == 0)) {
      run.save(checkpoint, done);
      result.checkpoint = checkpoint;
    }
    if (options.after_step) options.after_step(done);
  }
  bar.finish();
  result.end_step = std::max(end_step, result.start_step);
  if (result.end_step == result.total_steps) {
    const std::string weights = (out_dir / (config.output_model_name + "_predictor.safetensors")).string();
    nn::StateDict on_cpu;  // files are device-independent
    for (const auto& [name, t] : run.model().state_dict()) on_cpu[name] = ops::to(t, Device::cpu());
    io::write_safetensors(weights, on_cpu, {{"config", config.to_json()}});
    log << "final weights: " << weights << "\n";
  }
  return result;
}

ValidationMetrics validate_checkpoint(const TrainerConfig& config, const std::string& checkpoint) {
  std::ostringstream quiet;
  Run run(config, quiet, /*need_train=*/false);
  if (!checkpoint.empty()) nn::load_checkpoint(checkpoint, run.model());
  return run.validate();
}

}  // namespace cj::app
