#pragma once
// How a differentiable op records itself. The pattern every op in autograd/ops/ follows:
//
//   Tensor exp(const Tensor& x) {
//     Tensor y = ops::exp(x);                          // forward: the raw kernel
//     record("exp", y, {x}, {y}, [](Node& n, const Tensor& gy) -> Grads {
//       return {ops::mul(gy, n.saved(0))};             // backward, right below: d exp = exp
//     });
//     return y;
//   }
//
// record() does nothing unless grad mode is on and an input requires grad, so ops cost nothing
// extra in inference. Backward lambdas run under NoGradGuard and use the raw cj::ops kernels.
#include <initializer_list>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "autograd/grad_mode.hpp"
#include "autograd/node.hpp"
#include "tensor/tensor.hpp"

namespace cj {

// True when grad mode is on and any defined tensor among `inputs` requires grad.
bool needs_grad(std::initializer_list<Tensor> inputs);
bool needs_grad(const std::vector<Tensor>& inputs);

// Makes `out` the result of a node named `op` over `inputs` (undefined inputs get no edge), saving
// `saved` for the backward; returns the node, or null when nothing needed recording.
std::shared_ptr<Node> record_node(const char* op, const Tensor& out, const std::vector<Tensor>& inputs,
                                  const std::vector<Tensor>& saved, BackwardFn backward);

template <typename F>
std::shared_ptr<Node> record(const char* op, const Tensor& out, const std::vector<Tensor>& inputs,
                             const std::vector<Tensor>& saved, F&& backward) {
  if (!needs_grad(inputs)) return nullptr;
  return record_node(op, out, inputs, saved, BackwardFn(std::forward<F>(backward)));
}

// Dtype and device of t: gradients and their helper tensors are made where t lives.
inline TensorOptions options_of(const Tensor& t) { return {t.dtype(), t.device()}; }

// An optional tensor (bias, mask) as a possibly-undefined Tensor, for input and saved lists.
inline Tensor or_undefined(const std::optional<Tensor>& t) { return t ? *t : Tensor(); }

// `t` when `other` requires grad, else nothing: in a product the backward reads an operand only to
// form the other operand's gradient, so only then is it worth saving.
inline Tensor keep_if_needed(const Tensor& t, const Tensor& other) {
  return other.defined() && other.requires_grad() ? t : Tensor();
}

// Sums a broadcast gradient back to `shape`: over leading dims it does not have and over dims
// where it has size 1. The inverse of broadcasting, used by every op that broadcasts its inputs.
Tensor sum_to(const Tensor& grad, const Shape& shape);

// A new handle on t's data with no autograd history (shares storage and version counter).
Tensor detach(const Tensor& t);

}  // namespace cj
