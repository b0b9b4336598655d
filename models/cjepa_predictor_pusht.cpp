#include "models/cjepa_predictor_pusht.hpp"

#include <limits>
#include <string>
#include <tuple>

#include "autograd/ops.hpp"
#include "tensor/error.hpp"
#include "tensor/ops.hpp"

namespace cj::models {

Embedder::Embedder(int64_t in_dim, int64_t dim, Generator& gen) : in_dim_(in_dim) {
  CJ_CHECK(in_dim >= 1 && dim >= 1, "Embedder: in_dim and dim must be >= 1, got ", in_dim, " and ", dim);
  patch_embed = register_module("patch_embed", std::make_shared<nn::Conv1d>(in_dim, dim, /*kernel_size=*/1,
                                                                            /*stride=*/1, /*padding=*/0, true, gen));
}

// x: (B, T, in) -> (B, T, D). Conv1d wants channels first: (B, in, T) -> (B, D, T).
Tensor Embedder::forward(const Tensor& x) {
  CJ_CHECK(x.defined() && x.dim() == 3 && x.shape()[2] == in_dim_, "Embedder: expected input of shape (B, T, ",
           in_dim_, "), got ", x.defined() ? x.shape() : Shape{});
  return cj::permute(patch_embed->forward(cj::permute(x, {0, 2, 1})), {0, 2, 1});
}

PushTWorldModel::PushTWorldModel(const PushTPredictorConfig& config, Generator& gen) : config_(config) {
  CJ_CHECK(config.object_slots >= 1 && config.proprio_dim >= 1 && config.action_dim >= 1,
           "PushTWorldModel: object_slots, proprio_dim and action_dim must be >= 1, got ", config.object_slots, ", ",
           config.proprio_dim, ", ", config.action_dim);
  const int64_t d = config.predictor.dim;
  predictor = register_module("predictor", std::make_shared<MaskedSlotPredictor>(config.predictor, gen));
  action_encoder = register_module("action_encoder", std::make_shared<Embedder>(config.action_dim, d, gen));
  proprio_encoder = register_module("proprio_encoder", std::make_shared<Embedder>(config.proprio_dim, d, gen));
}

namespace {

// Throws unless x is a floating (B, T, features) series with the given batch, features and
// T in [min_t, max_t]; `what` names the input.
void check_series(const char* op, const char* what, const Tensor& x, int64_t batch, int64_t features, int64_t min_t,
                  int64_t max_t) {
  CJ_CHECK(x.defined() && x.dim() == 3, op, ": expected ", what, " of shape (B, T, ", features, "), got ",
           x.defined() ? x.shape() : Shape{});
  CJ_CHECK(x.shape()[0] == batch && x.shape()[2] == features, op, ": ", what, " has shape ", x.shape(),
           ", expected (", batch, ", T, ", features, ") to go with the slots");
  CJ_CHECK(x.shape()[1] >= min_t && x.shape()[1] <= max_t, op, ": ", what, " has ", x.shape()[1],
           " time steps (shape ", x.shape(), "), expected ",
           min_t == max_t ? std::to_string(min_t) : std::to_string(min_t) + ".." + std::to_string(max_t));
  CJ_CHECK(is_floating(x.dtype()), op, ": ", what, " must be floating point, got ", dtype_name(x.dtype()));
}

// torch.nan_to_num(x.float(), 0.0): NaN -> 0, +-inf -> the largest finite f32 of that sign.
Tensor nan_to_zero_f32(const Tensor& x) {
  const Tensor f = ops::to(x, DType::f32);
  const Tensor no_nan = ops::masked_fill(f, ops::ne(f, f), Scalar(0.0));
  return ops::clamp(no_nan, Scalar(static_cast<double>(std::numeric_limits<float>::lowest())),
                    Scalar(static_cast<double>(std::numeric_limits<float>::max())));
}

}  // namespace

// slots: (B, T, S, D), proprio: (B, T, P), actions: (B, T, A) -> (B, T, S + 2, D)
Tensor PushTWorldModel::encode_tokens(const Tensor& slots, const Tensor& proprio, const Tensor& actions) {
  const char* op = "PushTWorldModel::encode_tokens";
  check_slot_shape(op, slots, config_.predictor.dim, 1, std::numeric_limits<int64_t>::max());
  CJ_CHECK(slots.shape()[2] == config_.object_slots, op, ": slots have ", slots.shape()[2], " objects (shape ",
           slots.shape(), "), the model has ", config_.object_slots);
  const int64_t b = slots.shape()[0], t = slots.shape()[1];
  check_series(op, "proprio", proprio, b, config_.proprio_dim, t, t);
  check_series(op, "actions", actions, b, config_.action_dim, t, t);
  return cj::cat({slots, cj::unsqueeze(proprio_encoder->forward(proprio), 2),
                  cj::unsqueeze(action_encoder->forward(actions), 2)},
                 2);
}

// tokens: (B, T, S + 2, D), actions: (B, T, A) -> (B, T, S + 2, D)
Tensor PushTWorldModel::with_actions(const Tensor& tokens, const Tensor& actions) {
  const char* op = "PushTWorldModel::with_actions";
  const int64_t n = config_.tokens_per_step();
  check_slot_shape(op, tokens, config_.predictor.dim, 1, std::numeric_limits<int64_t>::max());
  CJ_CHECK(tokens.shape()[2] == n, op, ": expected ", n, " tokens per step (slots, proprio, action), got shape ",
           tokens.shape());
  check_series(op, "actions", actions, tokens.shape()[0], config_.action_dim, tokens.shape()[1], tokens.shape()[1]);
  return cj::cat({cj::slice(tokens, 2, 0, n - 1), cj::unsqueeze(action_encoder->forward(actions), 2)}, 2);
}

PushTWorldModel::MaskedOutput PushTWorldModel::forward_masked(const Tensor& slots, const Tensor& proprio,
                                                              const Tensor& actions,
                                                              const std::vector<int64_t>& masked_indices) {
  const char* op = "PushTWorldModel::forward_masked";
  for (int64_t i : masked_indices)
    CJ_CHECK(i >= 0 && i < config_.object_slots, op, ": masked index ", i, " is not an object slot (0..",
             config_.object_slots - 1, "); the proprio and action tokens are never masked");
  return forward_with(op, slots, proprio, actions, [&](const Tensor& history) {
    const Tensor predictions = predictor->predict_masked(history, masked_indices);
    return std::make_pair(predictions, masked_history_loss(predictions, history, config_.predictor.history, masked_indices));
  });
}

PushTWorldModel::MaskedOutput PushTWorldModel::forward_masked_per_sample(const Tensor& slots, const Tensor& proprio,
                                                                         const Tensor& actions, const Tensor& hidden) {
  check_object_mask(hidden);  // the shape before the counts
  return forward_masked_per_sample(slots, proprio, actions,
                                   SampleMasks::counted("PushTWorldModel::forward_masked_per_sample", hidden));
}

void PushTWorldModel::check_object_mask(const Tensor& hidden) const {
  CJ_CHECK(hidden.defined() && hidden.dim() == 2 && hidden.shape()[1] == config_.object_slots,
           "PushTWorldModel::forward_masked_per_sample: per-sample mask must be (B, ", config_.object_slots,
           ") over the object slots, got ", hidden.defined() ? hidden.shape() : Shape{});
}

PushTWorldModel::MaskedOutput PushTWorldModel::forward_masked_per_sample(const Tensor& slots, const Tensor& proprio,
                                                                         const Tensor& actions, const SampleMasks& masks) {
  const char* op = "PushTWorldModel::forward_masked_per_sample";
  check_object_mask(masks.hidden());
  const SampleMasks all_tokens = masks.with_visible_columns(2);  // the proprio and action tokens: never hidden
  return forward_with(op, slots, proprio, actions, [&](const Tensor& history) {
    const Tensor predictions = predictor->predict_hidden(history, all_tokens);
    return std::make_pair(predictions,
                          hidden_history_loss(op, predictions, history, config_.predictor.history, all_tokens.hidden()));
  });
}

PushTWorldModel::MaskedOutput PushTWorldModel::forward_with(const char* op, const Tensor& slots, const Tensor& proprio,
                                                            const Tensor& actions, const MaskedHistory& predict) {
  const int64_t t_h = config_.predictor.history, t_tot = config_.predictor.total_steps(), s = config_.object_slots;
  check_slot_shape(op, slots, config_.predictor.dim, t_tot, t_tot);
  CJ_CHECK(slots.shape()[2] == s, op, ": slots have ", slots.shape()[2], " objects (shape ", slots.shape(),
           "), the model has ", s);
  const int64_t b = slots.shape()[0];
  check_series(op, "proprio", proprio, b, config_.proprio_dim, t_tot, t_tot);
  check_series(op, "actions", actions, b, config_.action_dim, t_h, t_tot);
  const Device where = device();
  check_device(op, "slots", slots, where);
  check_device(op, "proprio", proprio, where);
  check_device(op, "actions", actions, where);

  // The proprio embedding of every step: history rows are input tokens, future rows the L_proprio target.
  const Tensor proprio_embed = proprio_encoder->forward(nan_to_zero_f32(proprio));  // (B, T_h + T_p, D)
  const Tensor action_embed = action_encoder->forward(nan_to_zero_f32(cj::slice(actions, 1, 0, t_h)));  // (B, T_h, D)
  const Tensor history = cj::cat({cj::slice(slots, 1, 0, t_h), cj::unsqueeze(cj::slice(proprio_embed, 1, 0, t_h), 2),
                                  cj::unsqueeze(action_embed, 2)},
                                 2);  // (B, T_h, S + 2, D)

  MaskedOutput out;
  std::tie(out.predictions, out.loss_history) = predict(history);  // (B, T_h + T_p, S + 2, D), []
  const Tensor future = cj::slice(out.predictions, 1, t_h, t_tot);
  out.loss_future = nn::mse_loss(cj::slice(future, 2, 0, s), detach(cj::slice(slots, 1, t_h, t_tot)));
  out.loss_proprio = nn::mse_loss(cj::slice(future, 2, s, s + 1),
                                  cj::unsqueeze(detach(cj::slice(proprio_embed, 1, t_h, t_tot)), 2));
  out.loss = cj::add(cj::add(out.loss_history, out.loss_future), out.loss_proprio);
  return out;
}

// tokens: (B, T, S + 2, D) -> (B, num_preds, S + 2, D)
Tensor PushTWorldModel::inference(const Tensor& tokens, int64_t num_preds) {
  check_slot_shape("PushTWorldModel::inference", tokens, config_.predictor.dim, 1, std::numeric_limits<int64_t>::max());
  CJ_CHECK(tokens.shape()[2] == config_.tokens_per_step(), "PushTWorldModel::inference: expected ",
           config_.tokens_per_step(), " tokens per step (slots, proprio, action), got shape ", tokens.shape());
  return predictor->inference(tokens, num_preds);
}

// slots: (B, T, S, D), proprio: (B, T, P), actions: (B, T, A) -> (B, num_preds, S + 2, D)
Tensor PushTWorldModel::inference(const Tensor& slots, const Tensor& proprio, const Tensor& actions,
                                  int64_t num_preds) {
  NoGradGuard no_grad;
  return inference(encode_tokens(slots, proprio, actions), num_preds);
}

std::vector<nn::ParamGroup> PushTWorldModel::optimizer_groups(double predictor_lr, double proprio_lr,
                                                              double action_lr) const {
  return {nn::ParamGroup(predictor->parameters(), predictor_lr),
          nn::ParamGroup(proprio_encoder->parameters(), proprio_lr),
          nn::ParamGroup(action_encoder->parameters(), action_lr)};
}

}  // namespace cj::models
