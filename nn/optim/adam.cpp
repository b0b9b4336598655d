// torch.optim.Adam / AdamW, single-tensor path (torch/optim/adam.py _single_tensor_adam): the
// moments and bias corrections in the same order, so trajectories match PyTorch's to rounding.
#include <cmath>

#include "nn/optim/optimizer.hpp"
#include "tensor/ops/creation.hpp"
#include "tensor/ops/elementwise.hpp"
#include "tensor/ops/views.hpp"

namespace cj::nn {

Adam::Adam(std::vector<ParamGroup> groups, AdamOptions options, bool decoupled_weight_decay)
    : Optimizer(std::move(groups), options.lr, options.weight_decay.value_or(decoupled_weight_decay ? 0.01 : 0.0),
                decoupled_weight_decay ? "AdamW" : "Adam"),
      options_(options),
      decoupled_(decoupled_weight_decay) {
  CJ_CHECK(options.beta1 >= 0 && options.beta1 < 1 && options.beta2 >= 0 && options.beta2 < 1, name_,
           ": betas must lie in [0, 1), got (", options.beta1, ", ", options.beta2, ")");
  CJ_CHECK(options.eps >= 0, name_, ": invalid eps ", options.eps);
}

void Adam::step() {
  if (options_.fused) return fused_step();
  const double beta1 = options_.beta1, beta2 = options_.beta2;
  for_each_param_with_grad([&](Tensor& p, Tensor grad, Group& group, ParamState& state) {
    if (state.empty()) {
      state["step"] = scalar_tensor(int64_t{0}, DType::i64);
      state["exp_avg"] = zeros_like(p);
      state["exp_avg_sq"] = zeros_like(p);
      if (options_.amsgrad) state["max_exp_avg_sq"] = zeros_like(p);
    }
    Tensor& step_t = state.at("step");
    const int64_t step = step_t.item<int64_t>() + 1;
    ops::fill_(step_t, step);
    Tensor& exp_avg = state.at("exp_avg");
    Tensor& exp_avg_sq = state.at("exp_avg_sq");

    if (group.weight_decay != 0) {
      if (decoupled_) ops::mul_(p, 1 - group.lr * group.weight_decay);
      else grad = ops::add(grad, p, group.weight_decay);
    }
    ops::add_(exp_avg, ops::sub(grad, exp_avg), 1 - beta1);  // lerp toward grad by 1 - beta1
    ops::mul_(exp_avg_sq, beta2);
    ops::add_(exp_avg_sq, ops::mul(grad, grad), 1 - beta2);

    const double bias_correction1 = 1 - std::pow(beta1, double(step));
    const double bias_correction2 = 1 - std::pow(beta2, double(step));
    const double step_size = group.lr / bias_correction1;
    Tensor second_moment = exp_avg_sq;
    if (options_.amsgrad) {
      Tensor& max_sq = state.at("max_exp_avg_sq");
      ops::copy_(max_sq, ops::maximum(max_sq, exp_avg_sq));
      second_moment = max_sq;
    }
    Tensor denom = ops::div(ops::sqrt(second_moment), std::sqrt(bias_correction2));
    ops::add_(denom, options_.eps);
    ops::add_(p, ops::div(exp_avg, denom), -step_size);
  });
}

}  // namespace cj::nn
