#include "apps/predictor_trainer.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "apps/progress.hpp"
#include "autograd/ops.hpp"
#include "data/slot_windows.hpp"
#include "models/cjepa_predictor.hpp"
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

models::CjepaPredictorConfig model_config(const TrainerConfig& c) {
  models::CjepaPredictorConfig m;
  m.depth = c.depth;
  m.heads = c.heads;
  m.dim = c.slot_dim;
  m.ffn = c.mlp_dim;
  m.history = c.history_size;
  m.preds = c.num_preds;
  m.dropout = c.dropout;
  return m;
}

// Keys whose change keeps a resumed run meaningful: how long it runs and how it reports.
bool may_differ_on_resume(const std::string& key, const TrainerConfig& c) {
  return key == "cjepa.max_steps" || key == "cjepa.checkpoint_every_n_steps" || key == "cjepa.progress" ||
         key == "trainer.log_every_n_steps" || key == "cjepa.out_dir" || key == "cjepa.val_batch_size" ||
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

// The first M of a random permutation of the S slots, per sample: (B, S) bool.
Tensor random_masks(int64_t batch, int64_t slots, int64_t masked, Generator& gen) {
  std::vector<uint8_t> hidden(static_cast<std::size_t>(batch * slots), 0);
  for (int64_t b = 0; b < batch; ++b) {
    const std::vector<int64_t> perm = to_vector<int64_t>(randperm(slots, &gen));
    for (int64_t j = 0; j < masked; ++j) hidden[static_cast<std::size_t>(b * slots + perm[static_cast<std::size_t>(j)])] = 1;
  }
  return ops::to(from_vector(hidden, {batch, slots}), DType::b8);
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

// Everything a run holds: data, model, optimizer, schedule, RNG.
class Run {
 public:
  Run(const TrainerConfig& config, std::ostream& log, bool need_train)
      : config_(config), log_(log), gen_(static_cast<uint64_t>(config.seed)) {
    config_.validate();
    CJ_CHECK(!config_.pusht(), "train-predictor: the Push-T variant (dataset_name '", config_.dataset_name,
             "') needs the AP predictor (models/cjepa_ap_predictor, branch pusht-ap), which is not in this build; ",
             "only CLEVRER-style slot training is available");
#ifndef CJ_TRAINER_HAS_AUTOCAST
    CJ_CHECK(!config_.bf16(), "train-predictor: bf16 mixed precision needs autograd/autocast.hpp (branch autocast), ",
             "which is not in this build; use --precision fp32 (trainer.precision=32)");
#endif
    const data::WindowSpec spec{config_.history_size, config_.num_preds, config_.frameskip};
    const data::SlotFile file = data::read_slot_file(config_.embedding_dir);
    const data::SlotVideos& train_videos = file.split("train");
    CJ_CHECK(train_videos.num_slots == config_.num_slots && train_videos.slot_dim == config_.slot_dim, "slot file ",
             config_.embedding_dir, " has ", train_videos.num_slots, " slots of dim ", train_videos.slot_dim,
             ", the config says videosaur.NUM_SLOTS=", config_.num_slots, ", videosaur.SLOT_DIM=", config_.slot_dim);
    if (need_train) {
      train_ = std::make_unique<data::SlotWindows>(train_videos, spec);
      log_ << train_->summary() << "\n";
    }
    val_ = std::make_unique<data::SlotWindows>(file.split("val"), spec);
    log_ << val_->summary() << "\n";
    CJ_CHECK(val_->size() > 0, "slot file ", config_.embedding_dir, ": the val split has no video long enough for one ",
             "window of ", spec.clip_len(), " frames");
    if (need_train) {
      steps_per_epoch_ = train_->size() / config_.batch_size;  // drop_last, as the reference's loader
      CJ_CHECK(steps_per_epoch_ > 0, "slot file ", config_.embedding_dir, ": ", train_->size(),
               " training windows, fewer than batch_size ", config_.batch_size);
    }
    model_ = std::make_shared<models::MaskedSlotPredictor>(model_config(config_), gen_);
    fixed_mask_ = models::fixed_mask_indices(config_.num_slots, config_.num_masked_slots);
    nn::AdamOptions adam;
    adam.lr = config_.predictor_lr;
    adam.weight_decay = config_.weight_decay;
    optimizer_ = std::make_unique<nn::AdamW>(model_->parameters(), adam);
    std::shared_ptr<const nn::Schedule> schedule;
    if (config_.lr_schedule == "cosine") schedule = std::make_shared<nn::CosineSchedule>(total_steps());
    else schedule = std::make_shared<nn::ConstantSchedule>();
    scheduler_ = std::make_unique<nn::LRScheduler>(*optimizer_, schedule);
  }

  int64_t total_steps() const { return steps_per_epoch_ * config_.max_epochs; }
  int64_t steps_per_epoch() const { return steps_per_epoch_; }
  models::MaskedSlotPredictor& model() { return *model_; }

  // Loads last.safetensors; returns its step.
  int64_t resume(const std::string& path) {
    CJ_CHECK(fs::exists(path), "--resume: no checkpoint ", path, " (start without --resume)");
    check_resumable(config_, nn::read_checkpoint_info(path).config, path);
    const nn::CheckpointInfo info = nn::load_checkpoint(path, *model_, optimizer_.get(), &gen_);
    scheduler_->set_step(info.step);
    return info.step;
  }

  void save(const std::string& path, int64_t step) {
    nlohmann::json meta = {{"trainer", nlohmann::json::parse(config_.to_json())},
                           {"epoch", step / steps_per_epoch_},
                           {"batch_in_epoch", step % steps_per_epoch_},
                           {"windows_seen", step * config_.batch_size},
                           {"variant", "clevrer"}};
    nn::save_checkpoint(path, *model_, optimizer_.get(), step, gen_, meta.dump());
  }

  // One optimizer step on global step `step` (0-based) -> the masked forward's output.
  models::MaskedSlotPredictor::MaskedOutput train_step(int64_t step) {
    const int64_t epoch = step / steps_per_epoch_, in_epoch = step % steps_per_epoch_;
    if (epoch != order_epoch_) {
      // numpy's legacy permutation: the same order on every platform and after every resume
      order_ = NumpyRandomState(static_cast<uint32_t>(config_.seed + epoch)).permutation(train_->size());
      order_epoch_ = epoch;
    }
    const auto first = order_.begin() + in_epoch * config_.batch_size;
    const Tensor slots = train_->gather(std::vector<int64_t>(first, first + config_.batch_size));
    model_->train();
    auto out = forward(slots, gen_);
    optimizer_->zero_grad();
    backward(out.loss);
    optimizer_->step();
    scheduler_->step();
    return out;
  }

  double lr() const { return scheduler_->lr(0); }

  // future MSE of the inference path and masked-slot MSE of the masked forward over the val split.
  ValidationMetrics validate() {
    NoGradGuard no_grad;
    model_->eval();
    Generator mask_gen(static_cast<uint64_t>(config_.seed) + 1);  // the same random masks at every validation
    const int64_t batch = config_.val_batch_size > 0 ? config_.val_batch_size : config_.batch_size;
    double future_sum = 0, masked_sum = 0;
    for (int64_t first = 0; first < val_->size(); first += batch) {
      std::vector<int64_t> windows;
      for (int64_t w = first; w < std::min(val_->size(), first + batch); ++w) windows.push_back(w);
      const Tensor slots = val_->gather(windows);
      const double n = static_cast<double>(windows.size());
      const Tensor history = ops::narrow(slots, 1, 0, config_.history_size);
      const Tensor target = ops::narrow(slots, 1, config_.history_size, config_.num_preds);
      future_sum += n * nn::mse_loss(model_->inference(history, config_.num_preds), target).item();
      if (config_.num_masked_slots > 0) masked_sum += n * forward(slots, mask_gen).loss_history.item();
    }
    ValidationMetrics m;
    m.future_mse = future_sum / static_cast<double>(val_->size());
    m.masked_slot_mse = masked_sum / static_cast<double>(val_->size());
    return m;
  }

 private:
  models::MaskedSlotPredictor::MaskedOutput forward(const Tensor& slots, Generator& mask_gen) {
#ifdef CJ_TRAINER_HAS_AUTOCAST
    AutocastGuard autocast(DType::bf16, config_.bf16());
#endif
    if (config_.mask == "random")
      return model_->forward_masked_per_sample(
          slots, random_masks(slots.size(0), config_.num_slots, config_.num_masked_slots, mask_gen));
    return model_->forward_masked(slots, fixed_mask_);
  }

  TrainerConfig config_;
  std::ostream& log_;
  Generator gen_;  // parameter init, dropout, random masks: saved in every checkpoint
  std::unique_ptr<data::SlotWindows> train_, val_;
  int64_t steps_per_epoch_ = 1;
  std::shared_ptr<models::MaskedSlotPredictor> model_;
  std::vector<int64_t> fixed_mask_;
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
      << config.lr_schedule << "), " << (config.bf16() ? "bf16 autocast" : "fp32") << "\n";

  std::ofstream metrics(metrics_path, std::ios::app);
  CJ_CHECK(metrics.good(), "cannot write ", metrics_path.string());
  ProgressBar bar("train", std::max<int64_t>(0, end_step - result.start_step) * config.batch_size, "win",
                  config.progress);
  auto window_start = Clock::now();
  int64_t windows_since_log = 0;
  for (int64_t step = result.start_step; step < end_step; ++step) {
    const auto out = run.train_step(step);
    const int64_t done = step + 1, epoch = step / result.steps_per_epoch;
    result.last_loss = out.loss.item();
    windows_since_log += config.batch_size;
    bar.set_note("loss " + fixed(result.last_loss, 4) + "  epoch " + std::to_string(epoch + 1) + "/" +
                 std::to_string(config.max_epochs));
    bar.advance(config.batch_size);
    if (done % config.log_every_n_steps == 0) {
      const double seconds = std::chrono::duration<double>(Clock::now() - window_start).count();
      metrics << nlohmann::json{{"kind", "train"}, {"step", done}, {"epoch", epoch},
                                {"loss", result.last_loss}, {"loss_future", out.loss_future.item()},
                                {"loss_masked_history", out.loss_history.item()}, {"lr", run.lr()},
                                {"windows_per_s", seconds > 0 ? windows_since_log / seconds : 0.0}}
                     .dump()
              << "\n";
      metrics.flush();
      window_start = Clock::now();
      windows_since_log = 0;
    }
    const bool epoch_end = done % result.steps_per_epoch == 0;
    if (epoch_end) {
      ValidationMetrics m = run.validate();
      m.step = done;
      m.epoch = epoch;
      result.validations.push_back(m);
      metrics << nlohmann::json{{"kind", "val"}, {"step", done}, {"epoch", epoch}, {"future_mse", m.future_mse},
                                {"masked_slot_mse", m.masked_slot_mse}}
                     .dump()
              << "\n";
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
    io::write_safetensors(weights, run.model().state_dict(), {{"config", config.to_json()}});
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
