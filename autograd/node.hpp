#pragma once
// The autograd graph. An op that takes part in autograd records one Node: its name (used in every
// error), one edge per input to the node that receives that input's gradient (the input's own
// grad_fn, or the AccumulateGrad sink of a leaf), the tensors its backward needs, and the backward
// itself. Every node has exactly one differentiable output; ops with several results (max, topk,
// split) record one node per differentiable result.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tensor/tensor.hpp"

namespace cj {

using Grads = std::vector<Tensor>;  // one gradient per input, undefined where none is needed

// What the engine checks an input's gradient against (and casts it to).
struct InputMeta {
  Shape shape;
  DType dtype = DType::f32;
};

struct Node {
  explicit Node(std::string name) : name_(std::move(name)) {}
  virtual ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  const std::string& name() const { return name_; }

  // The backward: gradient of the output in, one gradient per input out.
  virtual Grads apply(const Tensor& grad_output) = 0;
  // Drops the saved tensors and the backward; a later apply() throws. Called after a backward pass
  // that did not ask to retain the graph.
  virtual void release();
  bool released() const { return released_; }

  // Keeps t for the backward, together with its version now; `saved(i)` fails if it changed since.
  // The copy is detached (no grad_fn), so saving an op's own output makes no reference cycle.
  void save(const Tensor& t);
  Tensor saved(std::size_t i) const;
  std::size_t num_saved() const { return saved_.size(); }

  bool needs_grad(std::size_t input) const { return next[input] != nullptr; }

  std::vector<std::shared_ptr<Node>> next;  // per input: where its gradient goes (null: nowhere)
  std::vector<InputMeta> inputs;            // per input: shape and dtype at forward time
  Shape output_shape;
  DType output_dtype = DType::f32;

 protected:
  bool released_ = false;

 private:
  struct Saved {
    Tensor tensor;
    uint64_t version = 0;
  };
  std::string name_;
  std::vector<Saved> saved_;
};

using BackwardFn = std::function<Grads(Node& self, const Tensor& grad_output)>;

// An op's node: the backward is a lambda written beside the op's forward.
struct FunctionNode final : Node {
  FunctionNode(std::string name, BackwardFn fn) : Node(std::move(name)), backward_(std::move(fn)) {}
  Grads apply(const Tensor& grad_output) override;
  void release() override;

 private:
  BackwardFn backward_;
};

// A leaf's gradient sink: adds what reaches it into the leaf's .grad (the engine commits these
// only once the whole pass has succeeded, so a failing backward never leaves .grad half-updated).
struct AccumulateGrad final : Node {
  explicit AccumulateGrad(Tensor leaf);
  Grads apply(const Tensor& grad_output) override;  // accumulates; returns no gradients
  void release() override {}                        // holds nothing to free; shared by every graph
  const Tensor& leaf() const { return leaf_; }

 private:
  Tensor leaf_;
};

// The node that receives t's gradient: its grad_fn, or (for a leaf that requires grad) its
// AccumulateGrad, created on first use; null when t does not require grad.
std::shared_ptr<Node> gradient_edge(const Tensor& t);

}  // namespace cj
