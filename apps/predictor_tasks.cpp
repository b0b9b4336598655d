#include "apps/predictor_tasks.hpp"

#include <ostream>

#include "autograd/ops.hpp"
#include "data/slot_windows.hpp"
#include "models/cjepa_predictor.hpp"
#include "models/cjepa_predictor_pusht.hpp"
#include "tensor/error.hpp"
#include "tensor/ops.hpp"

namespace cj::app {
namespace {

models::CjepaPredictorConfig predictor_config(const TrainerConfig& c) {
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

data::WindowSpec window_spec(const TrainerConfig& c) { return {c.history_size, c.num_preds, c.frameskip}; }

void check_slot_shape_matches(const TrainerConfig& c, const data::SlotVideos& videos) {
  CJ_CHECK(videos.num_slots == c.num_slots && videos.slot_dim == c.slot_dim, "slot file ", c.embedding_dir, " has ",
           videos.num_slots, " slots of dim ", videos.slot_dim, ", the config says videosaur.NUM_SLOTS=", c.num_slots,
           ", videosaur.SLOT_DIM=", c.slot_dim);
}

void check_val_windows(const TrainerConfig& c, int64_t windows) {
  CJ_CHECK(windows > 0, "slot file ", c.embedding_dir, ": the val split has no video long enough for one window of ",
           window_spec(c).clip_len(), " frames");
}

// The first M of a random permutation of the S slots, per sample: (B, S) bool, counted here on the
// host so that the step reads nothing back once the mask is on the model's device.
models::SampleMasks random_masks(int64_t batch, int64_t slots, int64_t masked, Generator& gen) {
  std::vector<uint8_t> hidden(static_cast<std::size_t>(batch * slots), 0);
  for (int64_t b = 0; b < batch; ++b) {
    const std::vector<int64_t> perm = to_vector<int64_t>(randperm(slots, &gen));
    for (int64_t j = 0; j < masked; ++j) hidden[static_cast<std::size_t>(b * slots + perm[static_cast<std::size_t>(j)])] = 1;
  }
  return models::SampleMasks::counted("random_masks", ops::to(from_vector(hidden, {batch, slots}), DType::b8));
}

// A CPU batch moved to where the model is (no copy when that is the CPU).
Tensor on(const nn::Module& model, const Tensor& t) { return ops::to(t, model.device()); }
models::SampleMasks on(const nn::Module& model, const models::SampleMasks& m) { return m.to(model.device()); }
data::PushTBatch on(const nn::Module& model, data::PushTBatch b) {
  b.slots = on(model, b.slots);
  b.proprio = on(model, b.proprio);
  b.action = on(model, b.action);
  return b;
}

// mean squared error of prediction (B, P, S, D) against the future slots of windows (B, T_h + P, S, D)
double future_error(const Tensor& prediction, const Tensor& slots, int64_t history) {
  return nn::mse_loss(prediction, ops::narrow(slots, 1, history, slots.size(1) - history)).item();
}

class ClevrerTask : public PredictorTask {
 public:
  ClevrerTask(const TrainerConfig& config, Generator& gen, std::ostream& log, bool need_train) : config_(config) {
    const data::SlotFile file = data::read_slot_file(config.embedding_dir);
    check_slot_shape_matches(config, file.split("train"));
    if (need_train) {
      train_ = std::make_unique<data::SlotWindows>(file.split("train"), window_spec(config));
      log << train_->summary() << "\n";
    }
    val_ = std::make_unique<data::SlotWindows>(file.split("val"), window_spec(config));
    log << val_->summary() << "\n";
    check_val_windows(config, val_->size());
    model_ = std::make_shared<models::MaskedSlotPredictor>(predictor_config(config), gen);
    fixed_mask_ = models::fixed_mask_indices(config.num_slots, config.num_masked_slots);
  }

  nn::Module& model() override { return *model_; }
  std::vector<nn::ParamGroup> param_groups() override {
    return {nn::ParamGroup(model_->parameters(), config_.predictor_lr)};
  }
  int64_t windows(bool train) const override { return train ? train_->size() : val_->size(); }
  const char* variant() const override { return "clevrer"; }

  TaskLosses masked_forward(bool train, const std::vector<int64_t>& windows, Generator& mask_gen) override {
    const Tensor slots = on(*model_, (train ? train_ : val_)->gather(windows));
    const auto out = config_.mask == "random"
                         ? model_->forward_masked_per_sample(
                               slots, on(*model_, random_masks(slots.size(0), config_.num_slots,
                                                               config_.num_masked_slots, mask_gen)))
                         : model_->forward_masked(slots, fixed_mask_);
    return {out.loss, out.loss_future, out.loss_history, Tensor()};
  }

  double future_mse(const std::vector<int64_t>& val_windows) override {
    const Tensor slots = on(*model_, val_->gather(val_windows));
    const Tensor history = ops::narrow(slots, 1, 0, config_.history_size);
    return future_error(model_->inference(history, config_.num_preds), slots, config_.history_size);
  }

 private:
  TrainerConfig config_;
  std::unique_ptr<data::SlotWindows> train_, val_;
  std::shared_ptr<models::MaskedSlotPredictor> model_;
  std::vector<int64_t> fixed_mask_;
};

class PushTTask : public PredictorTask {
 public:
  PushTTask(const TrainerConfig& config, Generator& gen, std::ostream& log, bool need_train) : config_(config) {
    CJ_CHECK(config.proprio_embed_dim == config.slot_dim && config.action_embed_dim == config.slot_dim,
             "config: the Push-T AP node variant embeds proprio and action as tokens of the slot width, so ",
             "dinowm.proprio_embed_dim and dinowm.action_embed_dim must equal videosaur.SLOT_DIM (", config.slot_dim,
             "), got ", config.proprio_embed_dim, " and ", config.action_embed_dim);
    const data::SlotFile file = data::read_slot_file(config.embedding_dir);
    check_slot_shape_matches(config, file.split("train"));
    auto windows_of = [&](const std::string& split) {
      return std::make_unique<data::PushTWindows>(
          file.split(split), window_spec(config),
          data::read_side_split(config.action_dir, split, "action", config.action_dim),
          data::read_side_split(config.proprio_dir, split, "proprio", config.proprio_dim));
    };
    // each split is normalised with its own statistics, as the reference's per-split datasets
    if (need_train) {
      train_ = windows_of("train");
      log << train_->summary() << "\n";
    }
    val_ = windows_of("val");
    log << val_->summary() << "\n";
    check_val_windows(config, val_->size());
    models::PushTPredictorConfig m;
    m.predictor = predictor_config(config);
    m.object_slots = config.num_slots;
    m.proprio_dim = config.proprio_dim;
    m.action_dim = config.action_dim * config.frameskip;
    model_ = std::make_shared<models::PushTWorldModel>(m, gen);
    fixed_mask_ = models::fixed_mask_indices(config.num_slots, config.num_masked_slots);
  }

  nn::Module& model() override { return *model_; }
  std::vector<nn::ParamGroup> param_groups() override {
    return model_->optimizer_groups(config_.predictor_lr, config_.proprio_encoder_lr, config_.action_encoder_lr);
  }
  int64_t windows(bool train) const override { return train ? train_->size() : val_->size(); }
  const char* variant() const override { return "pusht"; }

  TaskLosses masked_forward(bool train, const std::vector<int64_t>& windows, Generator& mask_gen) override {
    const data::PushTBatch b = on(*model_, (train ? train_ : val_)->gather(windows));
    const auto out = config_.mask == "random"
                         ? model_->forward_masked_per_sample(
                               b.slots, b.proprio, b.action,
                               on(*model_, random_masks(b.slots.size(0), config_.num_slots, config_.num_masked_slots,
                                                        mask_gen)))
                         : model_->forward_masked(b.slots, b.proprio, b.action, fixed_mask_);
    return {out.loss, out.loss_future, out.loss_history, out.loss_proprio};
  }

  double future_mse(const std::vector<int64_t>& val_windows) override {
    const data::PushTBatch b = on(*model_, val_->gather(val_windows));
    const int64_t t_h = config_.history_size;
    const Tensor pred = model_->inference(ops::narrow(b.slots, 1, 0, t_h), ops::narrow(b.proprio, 1, 0, t_h),
                                          ops::narrow(b.action, 1, 0, t_h), config_.num_preds);  // (B, P, S + 2, D)
    return future_error(ops::narrow(pred, 2, 0, config_.num_slots), b.slots, t_h);
  }

 private:
  TrainerConfig config_;
  std::unique_ptr<data::PushTWindows> train_, val_;
  std::shared_ptr<models::PushTWorldModel> model_;
  std::vector<int64_t> fixed_mask_;
};

}  // namespace

std::unique_ptr<PredictorTask> make_predictor_task(const TrainerConfig& config, Generator& gen, std::ostream& log,
                                                   bool need_train) {
  if (config.pusht()) return std::make_unique<PushTTask>(config, gen, log, need_train);
  return std::make_unique<ClevrerTask>(config, gen, log, need_train);
}

}  // namespace cj::app
