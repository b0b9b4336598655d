#pragma once
// The C-JEPA Push-T world model, "AP node" variant (reference spec §5.7): the reference's CausalWM_AP
// with its MaskedSlot_AP_Predictor, minus the frozen VideoSAUR encoder (slots come precomputed).
// Every time step is S + 2 tokens of width D: [slot_0 .. slot_{S-1}, proprio, action], where
//   proprio token = proprio_encoder(agent x, y, vx, vy)           (Embedder 4 -> D)
//   action token  = action_encoder(the step's frameskip actions)  (Embedder 10 -> D)
// and the grid runs through MaskedSlotPredictor exactly as the CLEVRER variant (same token grid,
// same parameters); only the masking pool (object slots only) and the losses differ.
//
// Parameter names are CausalWM_AP's children (src/world_models/dinowm_causal_AP_node.py):
//   predictor.*                          MaskedSlotPredictor, time_pos_embed (1, T_h + T_p, 1, D)
//   action_encoder.patch_embed.weight    (D, 10, 1)  bias (D)   swm Embedder = Conv1d(in, D, 1)
//   proprio_encoder.patch_embed.weight   (D, 4, 1)   bias (D)
// Released checkpoints (torch.save of the stable-pretraining Module) hold them under "model.":
// load them with models/predictor_checkpoint.hpp.
#include <cstdint>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "models/cjepa_predictor.hpp"
#include "nn/nn.hpp"

namespace cj::models {

// stable_worldmodel.wm.dinowm.Embedder with tubelet 1: a kernel-1 Conv1d over time, i.e. one Linear
// per time step, kept as a Conv1d so the checkpoint's patch_embed.weight (D, in, 1) loads as is.
class Embedder : public nn::Module {
 public:
  Embedder(int64_t in_dim, int64_t dim, Generator& gen = default_generator());
  Tensor forward(const Tensor& x);  // x: (B, T, in) -> (B, T, D)
  int64_t in_dim() const { return in_dim_; }

  std::shared_ptr<nn::Conv1d> patch_embed;

 private:
  int64_t in_dim_;
};

struct PushTPredictorConfig {
  // The released Push-T predictor: history 3, 1 prediction (frameskip 5), D 128, depth 6, 16 heads.
  CjepaPredictorConfig predictor = [] {
    CjepaPredictorConfig c;
    c.history = 3;
    c.preds = 1;
    return c;
  }();
  int64_t object_slots = 4;  // S
  int64_t proprio_dim = 4;   // agent (x, y, vx, vy)
  int64_t action_dim = 10;   // frameskip (5) raw 2-d actions, flattened
  int64_t tokens_per_step() const { return object_slots + 2; }
};

class PushTWorldModel : public nn::Module {
 public:
  explicit PushTWorldModel(const PushTPredictorConfig& config, Generator& gen = default_generator());

  struct MaskedOutput {
    Tensor predictions;   // (B, T_h + T_p, S + 2, D): every token, proprio and action included
    Tensor loss_history;  // [] masked object slots at every history step (t = 0 included); 0 without masks
    Tensor loss_future;   // [] object slots (tokens 0..S-1) at the future steps
    Tensor loss_proprio;  // [] predicted future proprio token vs proprio_encoder(true future proprio), detached
    Tensor loss;          // [] (loss_history + loss_future) + loss_proprio; the future action token has no loss
  };
  // The training forward (the reference's forward in train_causalwm_AP_node_pusht_slot.py).
  // slots: (B, T_h + T_p, S, D); proprio: (B, T_h + T_p, P); actions: (B, T, A) with
  // T_h <= T <= T_h + T_p (only the history rows are used: the future action is never given).
  // NaNs in proprio and actions become 0 first (torch.nan_to_num, as the reference).
  // masked_indices: distinct object-slot indices in [0, S) hidden after t = 0, e.g.
  // fixed_mask_indices(S, M) ({1} for M = 1, {1, 3} for M = 2); proprio/action tokens are never masked.
  MaskedOutput forward_masked(const Tensor& slots, const Tensor& proprio, const Tensor& actions,
                              const std::vector<int64_t>& masked_indices);
  // The same with a mask per sample (--mask random). hidden: (B, S) bool over the object slots, the
  // same count in every row; the proprio and action tokens are never hidden.
  MaskedOutput forward_masked_per_sample(const Tensor& slots, const Tensor& proprio, const Tensor& actions,
                                         const Tensor& hidden);
  MaskedOutput forward_masked_per_sample(const Tensor& slots, const Tensor& proprio, const Tensor& actions,
                                         const SampleMasks& masks);

  // The token grid of §5.7. slots: (B, T, S, D), proprio: (B, T, P), actions: (B, T, A)
  // -> (B, T, S + 2, D). Differentiable in the encoders.
  Tensor encode_tokens(const Tensor& slots, const Tensor& proprio, const Tensor& actions);
  // tokens: (B, T, S + 2, D), actions: (B, T, A) -> tokens with the action token replaced by
  // action_encoder(actions) (the reference's replace_action_in_embedding, used while planning).
  Tensor with_actions(const Tensor& tokens, const Tensor& actions);

  // Planning-time prediction (§5.5, no masking). tokens: (B, T, S + 2, D) with 1 <= T <= T_h, fully
  // visible -> (B, num_preds, S + 2, D); shorter histories use the last rows of time_pos_embed.
  Tensor inference(const Tensor& tokens, int64_t num_preds);
  // The same from raw inputs: slots (B, T, S, D), proprio (B, T, P), actions (B, T, A).
  Tensor inference(const Tensor& slots, const Tensor& proprio, const Tensor& actions, int64_t num_preds);

  // The reference's three AdamW optimisers as three parameter groups of one optimiser (same betas,
  // eps and weight decay): predictor, proprio encoder, action encoder, in that order.
  std::vector<nn::ParamGroup> optimizer_groups(double predictor_lr = 5e-4, double proprio_lr = 1e-4,
                                               double action_lr = 5e-4) const;

  const PushTPredictorConfig& config() const { return config_; }

  std::shared_ptr<MaskedSlotPredictor> predictor;
  std::shared_ptr<Embedder> action_encoder, proprio_encoder;

 private:
  // history tokens (B, T_h, S + 2, D) -> {predictions (B, T_h + T_p, S + 2, D), L_hist}
  using MaskedHistory = std::function<std::pair<Tensor, Tensor>(const Tensor& history)>;
  MaskedOutput forward_with(const char* op, const Tensor& slots, const Tensor& proprio, const Tensor& actions,
                            const MaskedHistory& predict);
  // hidden: (B, object slots) (its dtype and counts are SampleMasks::counted's to check)
  void check_object_mask(const Tensor& hidden) const;
  PushTPredictorConfig config_;
};

}  // namespace cj::models
