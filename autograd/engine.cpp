#include "autograd/engine.hpp"

#include <unordered_map>
#include <unordered_set>

#include "autograd/grad_mode.hpp"
#include "autograd/node.hpp"
#include "tensor/ops/creation.hpp"
#include "tensor/ops/elementwise.hpp"
#include "tensor/ops/views.hpp"

namespace cj {

namespace {

struct Root {
  std::shared_ptr<Node> node;
  Tensor grad;
};

// The node that takes `output`'s gradient, and that gradient (ones for a one-element output).
Root make_root(const Tensor& output, const Tensor& grad, const char* api) {
  CJ_CHECK(output.defined(), api, ": the output tensor is undefined");
  CJ_CHECK(output.requires_grad(), api, ": the output ", output.describe(),
           " does not require grad (no input of the ops that made it requires grad, or it was computed "
           "under NoGradGuard)");
  std::shared_ptr<Node> node = gradient_edge(output);
  Tensor g = grad;
  if (!g.defined()) {
    CJ_CHECK(output.numel() == 1, api,
             ": the gradient can be omitted only for a one-element output, but the output of ", node->name(),
             " has shape ", output.shape(), " (pass the output's gradient)");
    g = ones_like(output);
  } else {
    CJ_CHECK(g.shape() == output.shape(), api, ": gradient of shape ", g.shape(), " given for the output of ",
             node->name(), ", which has shape ", output.shape());
    CJ_CHECK(is_floating(g.dtype()), api, ": the gradient for the output of ", node->name(), " must be floating, got ",
             dtype_name(g.dtype()));
    g = ops::to(g, output.dtype());
  }
  return {std::move(node), std::move(g)};
}

// Runs the backward from `roots`. With `captures` (the grad() API), the gradient arriving at each
// captured node is returned in its slot and leaves are left alone; otherwise leaf gradients are
// accumulated into .grad once the whole pass has succeeded.
void run_backward(const std::vector<Root>& roots, bool retain_graph, const std::vector<std::shared_ptr<Node>>* captures,
                  std::vector<Tensor>* captured) {
  // 1. Discover the graph and count, per node, the edges that will bring it a gradient.
  std::unordered_map<Node*, int64_t> pending_inputs;
  std::vector<Node*> order;  // discovery order, for releasing afterwards
  std::vector<Node*> stack;
  for (const Root& r : roots) {
    if (pending_inputs.emplace(r.node.get(), 0).second) {
      stack.push_back(r.node.get());
      order.push_back(r.node.get());
    }
  }
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (const auto& child : n->next) {
      if (!child) continue;
      auto [it, fresh] = pending_inputs.emplace(child.get(), 0);
      ++it->second;
      if (fresh) {
        stack.push_back(child.get());
        order.push_back(child.get());
      }
    }
  }

  // 2. Run nodes whose gradient is complete, accumulating what they send to their inputs.
  std::unordered_map<Node*, Tensor> buffers;
  auto deliver = [&](Node* n, const Tensor& g) {
    Tensor& slot = buffers[n];
    slot = slot.defined() ? ops::add(slot, g) : g;
  };
  for (const Root& r : roots) deliver(r.node.get(), r.grad);

  std::unordered_map<Node*, std::size_t> capture_slot;
  if (captures)
    for (std::size_t i = 0; i < captures->size(); ++i)
      if ((*captures)[i]) capture_slot.emplace((*captures)[i].get(), i);

  std::vector<std::pair<AccumulateGrad*, Tensor>> leaf_grads;
  std::vector<Node*> ready;
  for (const Root& r : roots)
    if (pending_inputs[r.node.get()] == 0) ready.push_back(r.node.get());
  NoGradGuard no_grad;  // backward formulas are not themselves recorded
  while (!ready.empty()) {
    Node* n = ready.back();
    ready.pop_back();
    Tensor g;
    if (auto it = buffers.find(n); it != buffers.end()) {
      g = std::move(it->second);
      buffers.erase(it);
    }
    if (g.defined()) {
      if (auto it = capture_slot.find(n); it != capture_slot.end()) (*captured)[it->second] = g;
    }
    auto* acc = dynamic_cast<AccumulateGrad*>(n);
    Grads input_grads;
    if (g.defined() && acc == nullptr) {
      input_grads = n->apply(g);
      CJ_CHECK(input_grads.size() == n->next.size(), n->name(), ": backward returned ", input_grads.size(),
               " gradients for ", n->next.size(), " inputs");
    } else if (g.defined() && captures == nullptr) {
      leaf_grads.emplace_back(acc, g);
    }
    for (std::size_t i = 0; i < n->next.size(); ++i) {
      Node* child = n->next[i].get();
      if (!child) continue;
      if (i < input_grads.size() && input_grads[i].defined()) {
        const Tensor& gi = input_grads[i];
        const InputMeta& meta = n->inputs[i];
        CJ_CHECK(gi.shape() == meta.shape, n->name(), ": backward produced a gradient of shape ", gi.shape(),
                 " for input ", i, ", which has shape ", meta.shape);
        deliver(child, ops::to(gi, meta.dtype));
      }
      if (--pending_inputs[child] == 0) ready.push_back(child);
    }
  }

  // 3. Commit: only now, with every formula having succeeded, do leaves see their gradients.
  for (auto& [acc, g] : leaf_grads) acc->apply(g);
  if (!retain_graph)
    for (Node* n : order) n->release();
}

}  // namespace

void backward(const Tensor& root, const Tensor& grad, bool retain_graph) {
  run_backward({make_root(root, grad, "backward")}, retain_graph, nullptr, nullptr);
}

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, bool retain_graph) {
  CJ_CHECK(grad_outputs.empty() || grad_outputs.size() == outputs.size(), "grad: ", grad_outputs.size(),
           " output gradients given for ", outputs.size(), " outputs");
  std::vector<Root> roots;
  for (std::size_t i = 0; i < outputs.size(); ++i)
    roots.push_back(make_root(outputs[i], grad_outputs.empty() ? Tensor() : grad_outputs[i], "grad"));
  std::vector<std::shared_ptr<Node>> captures;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    CJ_CHECK(inputs[i].defined() && inputs[i].requires_grad(), "grad: input ", i,
             " does not require grad, so no gradient can be taken with respect to it");
    captures.push_back(gradient_edge(inputs[i]));
  }
  std::vector<Tensor> result(inputs.size());
  run_backward(roots, retain_graph, &captures, &result);
  return result;
}

}  // namespace cj
