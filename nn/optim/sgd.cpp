// torch.optim.SGD, single-tensor path (torch/optim/sgd.py _single_tensor_sgd).
#include "nn/optim/optimizer.hpp"
#include "tensor/ops/elementwise.hpp"
#include "tensor/ops/views.hpp"

namespace cj::nn {

SGD::SGD(std::vector<ParamGroup> groups, SGDOptions options)
    : Optimizer(std::move(groups), options.lr, options.weight_decay, "SGD"), options_(options) {
  CJ_CHECK(options.momentum >= 0, "SGD: invalid momentum ", options.momentum);
  CJ_CHECK(!options.nesterov || (options.momentum > 0 && options.dampening == 0),
           "SGD: nesterov needs momentum > 0 and dampening 0 (got momentum ", options.momentum, ", dampening ",
           options.dampening, ")");
}

void SGD::step() {
  for_each_param_with_grad([&](Tensor& p, Tensor grad, Group& group, ParamState& state) {
    if (group.weight_decay != 0) grad = ops::add(grad, p, group.weight_decay);
    if (options_.momentum != 0) {
      auto it = state.find("momentum_buffer");
      if (it == state.end()) {
        it = state.emplace("momentum_buffer", ops::clone(grad)).first;
      } else {
        ops::mul_(it->second, options_.momentum);
        ops::add_(it->second, grad, 1 - options_.dampening);
      }
      grad = options_.nesterov ? ops::add(grad, it->second, options_.momentum) : it->second;
    }
    ops::add_(p, grad, -group.lr);
  });
}

}  // namespace cj::nn
