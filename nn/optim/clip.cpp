// torch.nn.utils.clip_grad_norm_: one norm over all gradients; scale them when it exceeds max_norm.
// One reduction over every gradient of a device (ops::foreach_norm_partial, f64 accumulation),
// then one scaling pass (ops::foreach_mul_): a kernel launch each on a GPU, not one per tensor.
#include <algorithm>
#include <cmath>

#include "nn/optim/optimizer.hpp"
#include "tensor/ops/optim.hpp"
#include "tensor/ops/optim_math.hpp"

namespace cj::nn {

namespace {

// The gradients grouped by device, in first-seen order of the devices.
std::vector<std::vector<Tensor>> grads_by_device(const std::vector<Tensor>& params) {
  std::vector<std::vector<Tensor>> groups;
  for (const auto& p : params) {
    Tensor g = p.grad();
    if (!g.defined()) continue;
    auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& grp) { return grp[0].device() == g.device(); });
    if (it == groups.end()) groups.push_back({g});
    else it->push_back(g);
  }
  return groups;
}

}  // namespace

double clip_grad_norm(const std::vector<Tensor>& params, double max_norm, double norm_type) {
  const bool inf_norm = std::isinf(norm_type) && norm_type > 0;
  CJ_CHECK(inf_norm || norm_type == 2.0, "clip_grad_norm: norm_type must be 2 or inf, got ", norm_type);
  CJ_CHECK(max_norm >= 0, "clip_grad_norm: max_norm must be >= 0, got ", max_norm);
  const auto groups = grads_by_device(params);
  if (groups.empty()) return 0.0;

  double total = 0;
  for (const auto& grads : groups)
    total = optim_math::norm_combine(total, ops::foreach_norm_partial(grads, inf_norm), inf_norm);
  if (!inf_norm) total = std::sqrt(total);

  // torch multiplies by min(1, coef) unconditionally; multiplying by exactly 1 changes nothing.
  const double coef = max_norm / (total + 1e-6);
  if (coef < 1)
    for (const auto& grads : groups) ops::foreach_mul_(grads, coef);
  return total;
}

}  // namespace cj::nn
