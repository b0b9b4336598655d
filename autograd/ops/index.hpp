#pragma once
// Differentiable indexing and joining (same names and meanings as cj::ops in tensor/ops/index.hpp).
// Index and mask arguments get no gradient; one_hot and argsort have none and are re-exported.
#include <utility>
#include <vector>

#include "tensor/ops/index.hpp"
#include "tensor/tensor.hpp"

namespace cj {

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);
Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
Tensor index_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
Tensor masked_fill(const Tensor& x, const Tensor& mask, Scalar value);
Tensor masked_select(const Tensor& x, const Tensor& mask);
Tensor cat(const std::vector<Tensor>& xs, int64_t dim);
Tensor stack(const std::vector<Tensor>& xs, int64_t dim);
std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim);  // differentiable views
std::vector<Tensor> split_with_sizes(const Tensor& x, const Shape& sizes, int64_t dim);
std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim);
Tensor repeat(const Tensor& x, const Shape& repeats);
Tensor pad(const Tensor& x, const Shape& pads, Scalar value = 0);
Tensor embedding(const Tensor& weight, const Tensor& index);  // weight: (V, D) -> index.shape + [D]
// (values, indices): the gradient of values goes back to the positions the indices name.
std::pair<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t dim = -1, bool largest = true, bool sorted = true);
std::pair<Tensor, Tensor> sort(const Tensor& x, int64_t dim = -1, bool descending = false);

using ops::argsort;
using ops::one_hot;

}  // namespace cj
