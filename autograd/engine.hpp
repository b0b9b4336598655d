#pragma once
// The backward engine: walks the graph from an output in dependency order (a node runs once every
// node that feeds it a gradient has run), iteratively, so graphs of any depth are fine.
#include <vector>

#include "tensor/tensor.hpp"

namespace cj {

// Accumulates d(root)/d(leaf) into the .grad of every leaf that requires grad. `grad` is the
// gradient of root (its shape); it may be omitted only for a one-element root. Unless
// retain_graph, the graph's saved tensors are freed afterwards and a second backward through it
// throws. On any error no .grad is changed.
void backward(const Tensor& root, const Tensor& grad = {}, bool retain_graph = false);

// The gradients of sum_i <grad_outputs[i], outputs[i]> with respect to `inputs` (leaves or not),
// returned instead of accumulated: no .grad is touched. grad_outputs may be empty when every
// output has one element. An input the outputs do not depend on gets an undefined tensor.
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs = {}, bool retain_graph = false);

}  // namespace cj
