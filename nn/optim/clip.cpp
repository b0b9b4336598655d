// torch.nn.utils.clip_grad_norm_: one norm over all gradients; scale them when it exceeds max_norm.
#include <algorithm>
#include <cmath>
#include <limits>

#include "nn/optim/optimizer.hpp"
#include "tensor/ops/elementwise.hpp"
#include "tensor/ops/reduction.hpp"

namespace cj::nn {

double clip_grad_norm(const std::vector<Tensor>& params, double max_norm, double norm_type) {
  const bool inf_norm = std::isinf(norm_type) && norm_type > 0;
  CJ_CHECK(inf_norm || norm_type == 2.0, "clip_grad_norm: norm_type must be 2 or inf, got ", norm_type);
  CJ_CHECK(max_norm >= 0, "clip_grad_norm: max_norm must be >= 0, got ", max_norm);
  std::vector<Tensor> grads;
  for (const auto& p : params)
    if (p.grad().defined()) grads.push_back(p.grad());
  if (grads.empty()) return 0.0;

  double total = 0;
  for (const auto& g : grads) {
    if (inf_norm) total = std::max(total, ops::amax(ops::abs(g)).item<double>());
    else total += ops::sum(ops::square(g)).item<double>();
  }
  if (!inf_norm) total = std::sqrt(total);

  // torch multiplies by min(1, coef) unconditionally; multiplying by exactly 1 changes nothing.
  const double coef = max_norm / (total + 1e-6);
  if (coef < 1)
    for (auto& g : grads) ops::mul_(g, coef);
  return total;
}

}  // namespace cj::nn
