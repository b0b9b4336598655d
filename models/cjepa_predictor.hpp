#pragma once
// The C-JEPA masked slot predictor (reference spec §5.1-5.5, CLEVRER variant: slots only) with the
// reference's parameter names (src/cjepa_predictor.py), so its checkpoints load by their own keys:
//   mask_token (1, 1, D), time_pos_embed (1, T_h + T_p, 1, D), id_projector.{weight,bias},
//   transformer.layers.<i>.0.* (nn.MultiheadAttention), transformer.layers.<i>.1.{0,1,4}.*
//   (the feed-forward Sequential: LayerNorm, Linear, GELU, Dropout, Linear, Dropout),
//   transformer.norm.*, to_out.{weight,bias}.
// Confirmed against galilai-group/cjepa src/cjepa_predictor.py at 1415830 (the spec's pin): mask_token
// is (1, 1, D) there and in every earlier commit of the file (spec §5.2's (1, 1, 1, D) is a slip), so
// a (1, 1, 1, D) tensor is refused when loading. The Push-T variant (cjepa_predictor_pusht.hpp) reuses
// this class whole, as the reference's MaskedSlot_AP_Predictor subclasses it.
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "nn/nn.hpp"

namespace cj::models {

struct CjepaPredictorConfig {
  int64_t depth = 6;
  int64_t heads = 16;    // the reference's dim_head is ignored: head width = dim / heads
  int64_t dim = 128;     // slot dim D
  int64_t ffn = 2048;    // feed-forward hidden width
  int64_t history = 6;   // T_h
  int64_t preds = 10;    // T_p
  double dropout = 0.1;
  int64_t total_steps() const { return history + preds; }
};

// One block of NonCausalTransformer: x = x + MHA(x, x, x); x = x + FFN(x). Children "0" (the
// attention) and "1" (the FFN Sequential) as in the reference's nn.ModuleList([attn, ff]).
class NonCausalBlock : public nn::Module {
 public:
  NonCausalBlock(int64_t dim, int64_t heads, int64_t ffn, double dropout, Generator& gen = default_generator());
  Tensor forward(const Tensor& x);  // x: (B, L, D) -> (B, L, D)

  std::shared_ptr<nn::MultiheadAttention> attn;
  std::shared_ptr<nn::Sequential> ff;
};

// Full (bidirectional) attention transformer with a final LayerNorm, no LayerNorm before attention.
class NonCausalTransformer : public nn::Module {
 public:
  NonCausalTransformer(int64_t dim, int64_t depth, int64_t heads, int64_t ffn, double dropout,
                       Generator& gen = default_generator());
  Tensor forward(const Tensor& x);  // x: (B, L, D) -> (B, L, D)

  std::shared_ptr<nn::LayerNorm> norm;
  std::shared_ptr<nn::ModuleList<NonCausalBlock>> layers;
};

// The slot indices the reference masks: RandomState(42).choice(n, m, replace=False), the same for
// every batch (spec §5.3). n: slots in the pool, m: how many to mask (0 <= m <= n).
std::vector<int64_t> fixed_mask_indices(int64_t n, int64_t m);

// Throws unless x is (B, T, S, D) floating with D = dim, T in [min_t, max_t], B, S >= 1; `op` names the caller.
void check_slot_shape(const char* op, const Tensor& x, int64_t dim, int64_t min_t, int64_t max_t);
// Throws naming op and input unless x lives on the model's device (inputs are not moved silently).
void check_device(const char* op, const char* what, const Tensor& x, Device model_device);

// L_hist of spec §5.4: MSE over the masked tokens at every history step, t = 0 included (a 0 scalar
// without masked tokens). predictions, targets: (B, >= T_h, N, D); targets are detached here.
Tensor masked_history_loss(const Tensor& predictions, const Tensor& targets, int64_t history,
                           const std::vector<int64_t>& masked_indices);
// The same with a mask per sample. hidden: (B, N) bool with the same count M of true entries in every
// row (predict_hidden checks the counts; here only the shape, so nothing is read back from a device);
// the mean runs over B * T_h * M * D elements.
Tensor hidden_history_loss(const char* op, const Tensor& predictions, const Tensor& targets, int64_t history,
                           const Tensor& hidden);

// A per-sample slot mask with its count M of hidden slots per row, counted once where reading the
// mask is cheap (on the host, before it moves to the model's device), so that a training step on a
// GPU reads nothing back. hidden: (B, S) bool, every row with M true entries. Only counted() makes a
// count (to() and with_visible_columns() keep it), so the forwards can trust it unchecked: a mask
// paired with a wrong count of 0 would be silently left out of the predictor's input.
class SampleMasks {
 public:
  // Counts the hidden slots of each row and checks they agree (reads a device mask back); `op`
  // names the caller in the message.
  static SampleMasks counted(const char* op, const Tensor& hidden);
  SampleMasks to(Device device) const;  // the same mask and count on `device`
  // n never-hidden columns after the S slots (Push-T's proprio and action tokens): (B, S + n), same count
  SampleMasks with_visible_columns(int64_t n) const;

  const Tensor& hidden() const { return hidden_; }
  int64_t per_row() const { return per_row_; }

 private:
  SampleMasks(Tensor hidden, int64_t per_row) : hidden_(std::move(hidden)), per_row_(per_row) {}
  Tensor hidden_;
  int64_t per_row_ = 0;
};

class MaskedSlotPredictor : public nn::Module {
 public:
  explicit MaskedSlotPredictor(const CjepaPredictorConfig& config, Generator& gen = default_generator());

  struct MaskedOutput {
    Tensor predictions;  // (B, T_h + T_p, S, D)
    Tensor loss_future;  // [] MSE over the future steps, all slots
    Tensor loss_history; // [] MSE over the masked slots at every history step (t = 0 included); 0 without masks
    Tensor loss;         // [] loss_history + loss_future
  };
  // slots: (B, T_h + T_p, S, D), the encoder's slots of history and future (targets are detached).
  // masked_indices: distinct slot indices in [0, S) hidden after t = 0.
  MaskedOutput forward_masked(const Tensor& slots, const std::vector<int64_t>& masked_indices);
  // The same with a mask per sample (the paper's "random subset", drawn per sample per batch).
  // hidden: (B, S) bool, true for the slots hidden after t = 0; every row hides the same number M of
  // slots, so loss_history is the mean over B * T_h * M * D elements, as with shared indices.
  MaskedOutput forward_masked_per_sample(const Tensor& slots, const Tensor& hidden);
  MaskedOutput forward_masked_per_sample(const Tensor& slots, const SampleMasks& masks);

  // The reference's forward(): the masked token grid through the backbone, no loss.
  // history: (B, T_h, S, D) -> predictions (B, T_h + T_p, S, D) of every token.
  Tensor predict_masked(const Tensor& history, const std::vector<int64_t>& masked_indices);
  // The same with a mask per sample. hidden: (B, S) bool, true for tokens hidden after t = 0.
  Tensor predict_hidden(const Tensor& history, const Tensor& hidden);
  Tensor predict_hidden(const Tensor& history, const SampleMasks& masks);

  // history: (B, T, S, D) with 1 <= T <= T_h, fully visible -> (B, num_preds, S, D). Uses the last
  // T + num_preds rows of time_pos_embed (T + num_preds <= T_h + T_p).
  Tensor inference(const Tensor& history, int64_t num_preds);

  // The transformer input of §5.2. history: (B, T, S, D); time_pe: (1, T + P, 1, D);
  // masked_indices as forward_masked's -> (B, T + P, S, D).
  Tensor build_tokens(const Tensor& history, const Tensor& time_pe, int64_t num_preds,
                      const std::vector<int64_t>& masked_indices);

  const CjepaPredictorConfig& config() const { return config_; }

  Tensor mask_token, time_pos_embed;
  std::shared_ptr<nn::Linear> id_projector, to_out;
  std::shared_ptr<NonCausalTransformer> transformer;

 private:
  // tokens: (B, T, S, D) -> transformer, to_out -> (B, T, S, D)
  Tensor run_backbone(const Tensor& tokens);
  // hidden: (B or 1, S, 1) bool, or undefined when nothing is masked -> tokens (B, T + P, S, D)
  Tensor build_tokens_hidden(const Tensor& history, const Tensor& time_pe, int64_t num_preds, const Tensor& hidden);
  CjepaPredictorConfig config_;
};

}  // namespace cj::models
