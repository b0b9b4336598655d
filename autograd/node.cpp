#include "autograd/node.hpp"

#include "autograd/function.hpp"
#include "tensor/ops/elementwise.hpp"
#include "tensor/ops/views.hpp"

namespace cj {

Node::~Node() {
  // Destroying a long chain recursively (each node freeing the next) could overflow the stack on
  // graphs of many thousands of nodes, so nodes whose last owner is this chain are unlinked here,
  // one at a time.
  std::vector<std::shared_ptr<Node>> pending = std::move(next);
  while (!pending.empty()) {
    std::shared_ptr<Node> n = std::move(pending.back());
    pending.pop_back();
    if (n && n.use_count() == 1) {
      for (auto& child : n->next) pending.push_back(std::move(child));
      n->next.clear();
    }
  }
}

void Node::release() {
  saved_.clear();
  saved_.shrink_to_fit();
  released_ = true;
}

void Node::save(const Tensor& t) {
  if (!t.defined()) {
    saved_.push_back({});
    return;
  }
  saved_.push_back({detach(t), t.version()});
}

Tensor Node::saved(std::size_t i) const {
  CJ_CHECK(!released_, name_,
           ": its saved tensors were already freed by a backward pass (pass retain_graph=true "
           "to backward through the graph a second time)");
  CJ_CHECK(i < saved_.size(), name_, ": saved tensor ", i, " requested, only ", saved_.size(), " saved");
  const Saved& s = saved_[i];
  if (s.tensor.defined()) {
    uint64_t now = s.tensor.version();
    CJ_CHECK(now == s.version, name_, ": a tensor saved for backward was modified in place (version ", now,
             ", expected ", s.version, ")");
  }
  return s.tensor;
}

Grads FunctionNode::apply(const Tensor& grad_output) {
  CJ_CHECK(!released_ && backward_, name(),
           ": trying to backward through the graph a second time, but its saved tensors were already freed "
           "(pass retain_graph=true to the first backward)");
  return backward_(*this, grad_output);
}

void FunctionNode::release() {
  Node::release();
  backward_ = nullptr;  // the lambda may hold captured state; free it with the saved tensors
}

AccumulateGrad::AccumulateGrad(Tensor leaf) : Node("AccumulateGrad"), leaf_(std::move(leaf)) {
  output_shape = leaf_.shape();
  output_dtype = leaf_.dtype();
}

Grads AccumulateGrad::apply(const Tensor& grad_output) {
  CJ_CHECK(grad_output.shape() == leaf_.shape(), "AccumulateGrad: gradient of shape ", grad_output.shape(),
           " for a leaf of shape ", leaf_.shape());
  Tensor g = ops::to(grad_output, leaf_.dtype());
  Tensor old = leaf_.grad();
  // Always a fresh tensor: the incoming gradient may alias a caller's tensor or another gradient.
  leaf_.set_grad(old.defined() ? ops::add(old, g) : ops::clone(g));
  return {};
}

std::shared_ptr<Node> gradient_edge(const Tensor& t) {
  if (!t.defined() || !t.requires_grad()) return nullptr;
  if (t.grad_fn()) return t.grad_fn();
  AutogradMeta& meta = t.ensure_autograd_meta();
  std::shared_ptr<Node> acc = meta.grad_accumulator.lock();
  if (!acc) {
    // The sink holds a handle to the leaf itself (same view and meta), so .grad lands on it.
    acc = std::make_shared<AccumulateGrad>(t);
    meta.grad_accumulator = acc;
  }
  return acc;
}

}  // namespace cj
