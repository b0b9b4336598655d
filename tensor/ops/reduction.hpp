#pragma once
// Reductions over any set of dims (empty dims = all dims), with keepdim.
#include <utility>
#include <vector>

#include "tensor/tensor.hpp"

namespace cj::ops {

using Dims = std::vector<int64_t>;

// sum/mean of integer or bool inputs give i64 / f32 respectively (as torch).
Tensor sum(const Tensor& x, const Dims& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const Dims& dims = {}, bool keepdim = false);
Tensor prod(const Tensor& x, const Dims& dims = {}, bool keepdim = false);
Tensor amax(const Tensor& x, const Dims& dims = {}, bool keepdim = false);
Tensor amin(const Tensor& x, const Dims& dims = {}, bool keepdim = false);
// (values, indices i64) along one dim; ties take the first index, NaN wins (as torch).
std::pair<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim = false);
std::pair<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor argmin(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor var(const Tensor& x, const Dims& dims = {}, bool unbiased = true, bool keepdim = false);
Tensor std(const Tensor& x, const Dims& dims = {}, bool unbiased = true, bool keepdim = false);
Tensor logsumexp(const Tensor& x, const Dims& dims, bool keepdim = false);
Tensor cumsum(const Tensor& x, int64_t dim);
Tensor all(const Tensor& x);  // -> bool scalar
Tensor any(const Tensor& x);

Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);
// Backward kernels beside their forwards: gx from the saved output y and the incoming gy.
Tensor softmax_backward(const Tensor& y, const Tensor& gy, int64_t dim);
Tensor log_softmax_backward(const Tensor& y, const Tensor& gy, int64_t dim);

}  // namespace cj::ops
