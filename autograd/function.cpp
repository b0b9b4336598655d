#include "autograd/function.hpp"

#include "tensor/ops/reduction.hpp"
#include "tensor/ops/views.hpp"

namespace cj {

bool needs_grad(const std::vector<Tensor>& inputs) {
  if (!is_grad_enabled()) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

bool needs_grad(std::initializer_list<Tensor> inputs) {
  if (!is_grad_enabled()) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

std::shared_ptr<Node> record_node(const char* op, const Tensor& out, const std::vector<Tensor>& inputs,
                                  const std::vector<Tensor>& saved, BackwardFn backward) {
  if (!needs_grad(inputs) || !is_floating(out.dtype())) return nullptr;
  // Kernels that are identities (contiguous of a contiguous tensor, to() the same dtype) hand back
  // the input itself; its history is already right, and overwriting it would turn a leaf into a
  // non-leaf.
  for (const Tensor& in : inputs)
    if (in.defined() && in.is_same(out)) return nullptr;
  auto node = std::make_shared<FunctionNode>(op, std::move(backward));
  node->next.reserve(inputs.size());
  node->inputs.reserve(inputs.size());
  for (const Tensor& in : inputs) {
    node->next.push_back(gradient_edge(in));
    node->inputs.push_back(in.defined() ? InputMeta{in.shape(), in.dtype()} : InputMeta{});
  }
  node->output_shape = out.shape();
  node->output_dtype = out.dtype();
  for (const Tensor& s : saved) node->save(s);
  out.set_grad_fn(node, 0);
  return node;
}

Tensor sum_to(const Tensor& grad, const Shape& shape) {
  if (grad.shape() == shape) return grad;
  const int64_t lead = grad.dim() - int64_t(shape.size());
  CJ_CHECK(lead >= 0, "sum_to: cannot reduce a gradient of shape ", grad.shape(), " to the larger shape ", shape);
  std::vector<int64_t> dims;
  for (int64_t d = 0; d < grad.dim(); ++d) {
    if (d < lead) {
      dims.push_back(d);
      continue;
    }
    int64_t want = shape[d - lead];
    CJ_CHECK(want == grad.shape()[d] || want == 1, "sum_to: a gradient of shape ", grad.shape(),
             " does not broadcast from ", shape);
    if (want == 1 && grad.shape()[d] != 1) dims.push_back(d);
  }
  if (dims.empty()) return ops::reshape(grad, shape);  // only size-1 leading dims to drop
  return ops::reshape(ops::sum(grad, dims, /*keepdim=*/true), shape);
}

Tensor detach(const Tensor& t) {
  if (!t.defined()) return t;
  return Tensor::make(t.storage(), t.dtype(), t.shape(), t.strides(), t.offset());
}

}  // namespace cj
