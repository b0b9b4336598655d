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
// mask: bool. As torch's out-of-place versions, x and mask broadcast against each other (the result
// has x's shape whenever mask broadcasts to x).
Tensor masked_fill(const Tensor& x, const Tensor& mask, Scalar value);
Tensor masked_select(const Tensor& x, const Tensor& mask);  // -> 1-D, row-major order
// cat promotes dtypes across xs as torch.cat; 1-D empty tensors (shape [0]) are skipped in its shape
// checks, as in torch.
Tensor cat(const std::vector<Tensor>& xs, int64_t dim);
Tensor stack(const std::vector<Tensor>& xs, int64_t dim);
std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim);  // views
std::vector<Tensor> split_with_sizes(const Tensor& x, const Shape& sizes, int64_t dim);
std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim);
Tensor repeat(const Tensor& x, const Shape& repeats);
// F.pad(mode="constant"): pads = (last_lo, last_hi, second_last_lo, second_last_hi, ...); negative crops.
Tensor pad(const Tensor& x, const Shape& pads, Scalar value = 0);
Tensor one_hot(const Tensor& index, int64_t num_classes);  // -> i64, shape index.shape + [C]; C = -1 infers max + 1
Tensor embedding(const Tensor& weight, const Tensor& index);  // weight: (V, D) -> index.shape + [D]
// Values, then int64 indices. NaN ranks above every number (as torch). Ties go to the lower index
// (torch CPU's tie order is implementation-defined); `sorted` = false returns the same sorted order.
std::pair<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t dim = -1, bool largest = true, bool sorted = true);
// Stable; NaN sorts last ascending and first descending, as torch.
std::pair<Tensor, Tensor> sort(const Tensor& x, int64_t dim = -1, bool descending = false);
Tensor argsort(const Tensor& x, int64_t dim = -1, bool descending = false);

}  // namespace cj::ops
