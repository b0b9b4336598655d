#pragma once
// Indexing and joining. Index tensors are int64 (int32 accepted); out-of-range indices throw.
#include <utility>
#include <vector>

#include "tensor/tensor.hpp"

namespace cj::ops {

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);  // index: 1-D
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);        // out shape = index shape
Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);  // out-of-place
Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
// Adds rows of src into x along dim at `index` (1-D), accumulating repeats: the backward of index_select.
Tensor index_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
Tensor masked_fill(const Tensor& x, const Tensor& mask, Scalar value);  // mask: bool, broadcast to x
Tensor masked_select(const Tensor& x, const Tensor& mask);              // -> 1-D
Tensor cat(const std::vector<Tensor>& xs, int64_t dim);
Tensor stack(const std::vector<Tensor>& xs, int64_t dim);
std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim);  // views
std::vector<Tensor> split_with_sizes(const Tensor& x, const Shape& sizes, int64_t dim);
std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim);
Tensor repeat(const Tensor& x, const Shape& repeats);
// F.pad(mode="constant"): pads = (last_lo, last_hi, second_last_lo, second_last_hi, ...); negative crops.
Tensor pad(const Tensor& x, const Shape& pads, Scalar value = 0);
Tensor one_hot(const Tensor& index, int64_t num_classes);  // -> i64, shape index.shape + [C]
Tensor embedding(const Tensor& weight, const Tensor& index);  // weight: (V, D) -> index.shape + [D]
std::pair<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t dim = -1, bool largest = true, bool sorted = true);
std::pair<Tensor, Tensor> sort(const Tensor& x, int64_t dim = -1, bool descending = false);  // stable
Tensor argsort(const Tensor& x, int64_t dim = -1, bool descending = false);

}  // namespace cj::ops
