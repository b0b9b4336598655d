#include "models/cjepa_predictor.hpp"

#include <algorithm>
#include <string>

#include "autograd/ops.hpp"
#include "tensor/error.hpp"
#include "tensor/numpy_random.hpp"
#include "tensor/ops/views.hpp"

namespace cj::models {

NonCausalBlock::NonCausalBlock(int64_t dim, int64_t heads, int64_t ffn, double dropout, Generator& gen) {
  attn = register_module("0", std::make_shared<nn::MultiheadAttention>(dim, heads, dropout, /*bias=*/true,
                                                                      /*batch_first=*/true, gen));
  ff = register_module("1", std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::UnaryModule>>{
                                std::make_shared<nn::LayerNorm>(dim), std::make_shared<nn::Linear>(dim, ffn, true, gen),
                                std::make_shared<nn::GELU>(), std::make_shared<nn::Dropout>(dropout, gen),
                                std::make_shared<nn::Linear>(ffn, dim, true, gen),
                                std::make_shared<nn::Dropout>(dropout, gen)}));
}

// x: (B, L, D) -> (B, L, D). The reference calls attn(x, x, x) with need_weights left at True;
// the output is the same either way, so the fused path runs.
Tensor NonCausalBlock::forward(const Tensor& x) {
  Tensor h = cj::add(x, attn->forward(x, x, x, std::nullopt, /*need_weights=*/false).output);
  return cj::add(h, ff->forward(h));
}

NonCausalTransformer::NonCausalTransformer(int64_t dim, int64_t depth, int64_t heads, int64_t ffn, double dropout,
                                           Generator& gen) {
  norm = register_module("norm", std::make_shared<nn::LayerNorm>(dim));
  layers = register_module("layers", std::make_shared<nn::ModuleList<NonCausalBlock>>());
  for (int64_t i = 0; i < depth; ++i) layers->push_back(std::make_shared<NonCausalBlock>(dim, heads, ffn, dropout, gen));
}

// x: (B, L, D) -> (B, L, D)
Tensor NonCausalTransformer::forward(const Tensor& x) {
  CJ_CHECK(x.dim() == 3, "NonCausalTransformer: expected x of shape (B, L, D), got ", x.shape());
  Tensor h = x;
  for (std::size_t i = 0; i < layers->size(); ++i) h = (*layers)[i]->forward(h);
  return norm->forward(h);
}

std::vector<int64_t> fixed_mask_indices(int64_t n, int64_t m) {
  CJ_CHECK(n >= 0 && m >= 0 && m <= n, "fixed_mask_indices: need 0 <= m <= n, got n = ", n, ", m = ", m);
  return NumpyRandomState(42).choice_without_replacement(n, m);
}

MaskedSlotPredictor::MaskedSlotPredictor(const CjepaPredictorConfig& config, Generator& gen) : config_(config) {
  CJ_CHECK(config.dim > 0 && config.heads > 0 && config.dim % config.heads == 0,
           "MaskedSlotPredictor: dim (", config.dim, ") must be a positive multiple of heads (", config.heads, ")");
  CJ_CHECK(config.depth >= 1 && config.ffn >= 1 && config.history >= 1 && config.preds >= 1,
           "MaskedSlotPredictor: depth, ffn, history and preds must be >= 1, got depth ", config.depth, ", ffn ",
           config.ffn, ", history ", config.history, ", preds ", config.preds);
  const int64_t d = config.dim;
  mask_token = register_parameter("mask_token", zeros({1, 1, d}));
  nn::init::trunc_normal_(mask_token, 0.0, 0.02, -2.0, 2.0, gen);
  time_pos_embed = register_parameter("time_pos_embed", zeros({1, config.total_steps(), 1, d}));
  nn::init::normal_(time_pos_embed, 0.0, 1.0, gen);
  id_projector = register_module("id_projector", std::make_shared<nn::Linear>(d, d, true, gen));
  transformer = register_module("transformer", std::make_shared<NonCausalTransformer>(
                                                   d, config.depth, config.heads, config.ffn, config.dropout, gen));
  to_out = register_module("to_out", std::make_shared<nn::Linear>(d, d, true, gen));
}

void check_slot_shape(const char* op, const Tensor& x, int64_t dim, int64_t min_t, int64_t max_t) {
  CJ_CHECK(x.defined() && x.dim() == 4, op, ": expected slots of shape (B, T, S, D), got ",
           x.defined() ? x.shape() : Shape{});
  CJ_CHECK(x.shape()[3] == dim, op, ": slot dim is ", x.shape()[3], " (shape ", x.shape(), "), the model's is ", dim);
  CJ_CHECK(x.shape()[1] >= min_t && x.shape()[1] <= max_t, op, ": got ", x.shape()[1], " time steps (shape ",
           x.shape(), "), expected ", min_t == max_t ? std::to_string(min_t) : std::to_string(min_t) + ".." + std::to_string(max_t));
  CJ_CHECK(x.shape()[0] >= 1 && x.shape()[2] >= 1, op, ": empty batch or no slots, shape ", x.shape());
  CJ_CHECK(is_floating(x.dtype()), op, ": slots must be floating point, got ", dtype_name(x.dtype()));
}

namespace {

// Small masks are written where they are used (one fill per masked slot), not made on the host and
// uploaded: an upload waits for the device's queued work (cuda/transfer.cpp), which would stall
// every training step. -> (1, slots, 1) bool on `device`, true at the given slots
Tensor slot_mask(const std::vector<int64_t>& masked, int64_t slots, Device device) {
  Tensor out = zeros({1, slots, 1}, {DType::b8, device});
  for (int64_t s : masked) ops::fill_(ops::narrow(out, 1, s, 1), true);
  return out;
}

// x: (B, T, S, D) -> (B, T, M, D), slots `masked` in that order (index_select's result), from views:
// an index tensor would have to be uploaded, and a device's index_select reads its range back.
Tensor select_slots(const Tensor& x, const std::vector<int64_t>& masked) {
  std::vector<Tensor> parts;
  for (int64_t s : masked) {
    CJ_CHECK(s >= 0 && s < x.size(2), "masked_history_loss: masked slot index ", s, " out of range for ", x.size(2),
             " slots");
    parts.push_back(cj::narrow(x, 2, s, 1));
  }
  return cj::cat(parts, 2);
}

}  // namespace

void check_device(const char* op, const char* what, const Tensor& x, Device model_device) {
  CJ_CHECK(!x.defined() || x.device() == model_device, op, ": ", what, " are on ", x.device().str(),
           " but the model is on ", model_device.str(), "; move them there first (ops::to)");
}

// history: (B, T, S, D), time_pe: (1, T + P, 1, D) -> tokens (B, T + P, S, D)
Tensor MaskedSlotPredictor::build_tokens(const Tensor& history, const Tensor& time_pe, int64_t num_preds,
                                         const std::vector<int64_t>& masked_indices) {
  const int64_t slots = history.shape()[2];
  std::vector<float> is_masked(static_cast<std::size_t>(slots), 0.f);
  for (int64_t s : masked_indices) {
    CJ_CHECK(s >= 0 && s < slots, "MaskedSlotPredictor: masked slot index ", s, " out of range for ", slots, " slots");
    CJ_CHECK(is_masked[static_cast<std::size_t>(s)] == 0.f, "MaskedSlotPredictor: masked slot index ", s,
             " given twice");
    is_masked[static_cast<std::size_t>(s)] = 1.f;
  }
  // (1, S, 1) bool, true where a history token (t >= 1) stays a query
  const Tensor hidden = masked_indices.empty() ? Tensor() : slot_mask(masked_indices, slots, history.device());
  return build_tokens_hidden(history, time_pe, num_preds, hidden);
}

// history: (B, T, S, D), time_pe: (1, T + P, 1, D), hidden: (B or 1, S, 1) bool or undefined
// -> tokens (B, T + P, S, D)
Tensor MaskedSlotPredictor::build_tokens_hidden(const Tensor& history, const Tensor& time_pe, int64_t num_preds,
                                                const Tensor& hidden) {
  const int64_t steps = history.shape()[1];
  const Tensor anchor_query = id_projector->forward(cj::select(history, 1, 0));  // (B, S, D)
  std::vector<Tensor> per_step;
  for (int64_t t = 0; t < steps + num_preds; ++t) {
    const Tensor pe = cj::select(time_pe, 1, t);                                    // (1, 1, D)
    const Tensor query = cj::add(cj::add(mask_token, pe), anchor_query);            // (B, S, D)
    if (t >= steps) {
      per_step.push_back(query);
      continue;
    }
    const Tensor visible = cj::add(cj::select(history, 1, t), pe);                   // (B, S, D)
    per_step.push_back(t == 0 || !hidden.defined() ? visible : cj::where(hidden, query, visible));
  }
  return cj::stack(per_step, 1);  // (B, T + P, S, D)
}

// tokens: (B, T, S, D) -> (B, T, S, D)
Tensor MaskedSlotPredictor::run_backbone(const Tensor& tokens) {
  const Shape& s = tokens.shape();
  Tensor flat = cj::flatten(tokens, 1, 2);  // time-major: b t s d -> b (t s) d
  Tensor out = transformer->forward(flat);
  return to_out->forward(cj::unflatten(out, 1, {s[1], s[2]}));
}

// history: (B, T_h, S, D) -> (B, T_h + T_p, S, D)
Tensor MaskedSlotPredictor::predict_masked(const Tensor& history, const std::vector<int64_t>& masked_indices) {
  check_slot_shape("MaskedSlotPredictor::predict_masked", history, config_.dim, config_.history, config_.history);
  check_device("MaskedSlotPredictor::predict_masked", "slots", history, time_pos_embed.device());
  CJ_CHECK(static_cast<int64_t>(masked_indices.size()) <= history.shape()[2], "MaskedSlotPredictor: ",
           masked_indices.size(), " masked slots but only ", history.shape()[2], " slots");
  return run_backbone(build_tokens(history, time_pos_embed, config_.preds, masked_indices));
}

Tensor masked_history_loss(const Tensor& predictions, const Tensor& targets, int64_t history,
                           const std::vector<int64_t>& masked_indices) {
  if (masked_indices.empty()) return scalar_tensor(0.0, TensorOptions{predictions.dtype(), predictions.device()});
  return nn::mse_loss(select_slots(cj::slice(predictions, 1, 0, history), masked_indices),
                      select_slots(cj::slice(detach(targets), 1, 0, history), masked_indices));
}

MaskedSlotPredictor::MaskedOutput MaskedSlotPredictor::forward_masked(const Tensor& slots,
                                                                      const std::vector<int64_t>& masked_indices) {
  const int64_t t_h = config_.history, t_tot = config_.total_steps();
  check_slot_shape("MaskedSlotPredictor::forward_masked", slots, config_.dim, t_tot, t_tot);
  MaskedOutput out;
  out.predictions = predict_masked(cj::slice(slots, 1, 0, t_h), masked_indices);
  const Tensor targets = detach(slots);
  out.loss_future = nn::mse_loss(cj::slice(out.predictions, 1, t_h, t_tot), cj::slice(targets, 1, t_h, t_tot));
  out.loss_history = masked_history_loss(out.predictions, targets, t_h, masked_indices);
  out.loss = cj::add(out.loss_history, out.loss_future);
  return out;
}

namespace {

void check_hidden_shape(const char* op, const Tensor& hidden, int64_t batch, int64_t slots) {
  CJ_CHECK(hidden.defined() && hidden.dtype() == DType::b8 && hidden.shape() == Shape({batch, slots}), op,
           ": per-sample mask must be bool of shape (B, S) = (", batch, ", ", slots, "), got ",
           hidden.defined() ? hidden.shape() : Shape{}, " ", hidden.defined() ? dtype_name(hidden.dtype()) : "");
}

}  // namespace

SampleMasks SampleMasks::counted(const char* op, const Tensor& hidden) {
  CJ_CHECK(hidden.defined() && hidden.dtype() == DType::b8 && hidden.dim() == 2, op,
           ": per-sample mask must be bool of shape (B, S), got ", hidden.defined() ? hidden.shape() : Shape{}, " ",
           hidden.defined() ? dtype_name(hidden.dtype()) : "");
  const std::vector<int64_t> per_row = to_vector<int64_t>(cj::sum(cj::to(hidden, DType::i64), {1}));
  for (std::size_t b = 0; b < per_row.size(); ++b)
    CJ_CHECK(per_row[b] == per_row[0], op, ": every sample must hide the same number of slots; sample 0 hides ",
             per_row[0], ", sample ", b, " hides ", per_row[b]);
  return {hidden, per_row.empty() ? 0 : per_row[0]};
}

SampleMasks SampleMasks::to(Device device) const { return {ops::to(hidden_, device), per_row_}; }

SampleMasks SampleMasks::with_visible_columns(int64_t n) const {
  const Tensor visible = zeros({hidden_.shape()[0], n}, TensorOptions{DType::b8, hidden_.device()});
  return {cj::cat({hidden_, visible}, 1), per_row_};
}

// history: (B, T_h, S, D), hidden: (B, S) bool -> (B, T_h + T_p, S, D)
Tensor MaskedSlotPredictor::predict_hidden(const Tensor& history, const Tensor& hidden) {
  const char* op = "MaskedSlotPredictor::predict_hidden";
  check_slot_shape(op, history, config_.dim, config_.history, config_.history);
  check_hidden_shape(op, hidden, history.shape()[0], history.shape()[2]);  // the shape before the counts
  return predict_hidden(history, SampleMasks::counted(op, hidden));
}

// history: (B, T_h, S, D), masks.hidden(): (B, S) bool -> (B, T_h + T_p, S, D)
Tensor MaskedSlotPredictor::predict_hidden(const Tensor& history, const SampleMasks& masks) {
  const char* op = "MaskedSlotPredictor::predict_hidden";
  check_slot_shape(op, history, config_.dim, config_.history, config_.history);
  check_device(op, "slots", history, time_pos_embed.device());
  check_hidden_shape(op, masks.hidden(), history.shape()[0], history.shape()[2]);
  check_device(op, "hidden-slot masks", masks.hidden(), time_pos_embed.device());
  return run_backbone(build_tokens_hidden(history, time_pos_embed, config_.preds,
                                          masks.per_row() == 0 ? Tensor() : cj::unsqueeze(masks.hidden(), 2)));
}

Tensor hidden_history_loss(const char* op, const Tensor& predictions, const Tensor& targets, int64_t history,
                           const Tensor& hidden) {
  const int64_t batch = predictions.shape()[0], slots = predictions.shape()[2], dim = predictions.shape()[3];
  check_hidden_shape(op, hidden, batch, slots);
  // sum(err^2 * hidden) / (B M · T_h D): the mean over the hidden (b, s) pairs only. B M, the number of
  // hidden pairs, stays on the device (reading it back would stall a GPU step once more); it and the
  // product are exact integers in floating point, so this is the one division of B T_h M D. No hidden
  // slot: 0 / max(0, 1) = 0.
  const Tensor err = cj::sub(cj::slice(predictions, 1, 0, history), cj::slice(detach(targets), 1, 0, history));
  const Tensor weight = cj::unsqueeze(cj::unsqueeze(cj::to(hidden, predictions.dtype()), 1), 3);  // (B, 1, S, 1)
  const DType exact = predictions.dtype() == DType::f64 ? DType::f64 : DType::f32;  // bf16 would round B M
  const Tensor pairs = ops::clamp(ops::to(ops::sum(hidden), exact), Scalar(1.0), std::nullopt);
  const Tensor count = ops::mul(pairs, Scalar(static_cast<double>(history * dim)));
  return cj::to(cj::div(cj::sum(cj::mul(cj::square(err), weight)), count), predictions.dtype());
}

MaskedSlotPredictor::MaskedOutput MaskedSlotPredictor::forward_masked_per_sample(const Tensor& slots, const Tensor& hidden) {
  const char* op = "MaskedSlotPredictor::forward_masked_per_sample";
  check_slot_shape(op, slots, config_.dim, config_.total_steps(), config_.total_steps());
  check_hidden_shape(op, hidden, slots.shape()[0], slots.shape()[2]);  // the shape before the counts
  return forward_masked_per_sample(slots, SampleMasks::counted(op, hidden));
}

MaskedSlotPredictor::MaskedOutput MaskedSlotPredictor::forward_masked_per_sample(const Tensor& slots,
                                                                               const SampleMasks& masks) {
  const int64_t t_h = config_.history, t_tot = config_.total_steps();
  const char* op = "MaskedSlotPredictor::forward_masked_per_sample";
  check_slot_shape(op, slots, config_.dim, t_tot, t_tot);
  const Tensor& hidden = masks.hidden();
  MaskedOutput out;
  out.predictions = predict_hidden(cj::slice(slots, 1, 0, t_h), masks);
  const Tensor targets = detach(slots);
  out.loss_future = nn::mse_loss(cj::slice(out.predictions, 1, t_h, t_tot), cj::slice(targets, 1, t_h, t_tot));
  out.loss_history = hidden_history_loss(op, out.predictions, targets, t_h, hidden);
  out.loss = cj::add(out.loss_history, out.loss_future);
  return out;
}

// history: (B, T, S, D) -> (B, num_preds, S, D)
Tensor MaskedSlotPredictor::inference(const Tensor& history, int64_t num_preds) {
  const int64_t t_tot = config_.total_steps();
  CJ_CHECK(num_preds >= 1 && num_preds < t_tot, "MaskedSlotPredictor::inference: num_preds must lie in [1, ",
           t_tot - 1, "], got ", num_preds);
  check_slot_shape("MaskedSlotPredictor::inference", history, config_.dim, 1, t_tot - num_preds);
  check_device("MaskedSlotPredictor::inference", "slots", history, time_pos_embed.device());
  NoGradGuard no_grad;
  const int64_t steps = history.shape()[1];
  // Shorter histories align to the end of the time table, as the reference's [-T_total:] slice.
  const Tensor time_pe = cj::slice(time_pos_embed, 1, t_tot - (steps + num_preds), t_tot);
  const Tensor pred = run_backbone(build_tokens(history, time_pe, num_preds, {}));
  return cj::slice(pred, 1, steps, steps + num_preds);
}

}  // namespace cj::models
