#include "autograd/ops/reduction.hpp"

#include <algorithm>

#include "autograd/autocast.hpp"
#include "autograd/function.hpp"
#include "tensor/ops/creation.hpp"
#include "tensor/ops/elementwise.hpp"
#include "tensor/ops/index.hpp"
#include "tensor/ops/views.hpp"

namespace cj {

namespace {

// The reduced dims of an x with `ndim` dims, wrapped and sorted (empty `dims` = all of them).
Dims reduced_dims(const Dims& dims, int64_t ndim, const char* op) {
  Dims out;
  if (dims.empty()) {
    for (int64_t d = 0; d < ndim; ++d) out.push_back(d);
    return out;
  }
  for (int64_t d : dims) out.push_back(wrap_dim(d, ndim, op));
  std::sort(out.begin(), out.end());
  return out;
}

// A reduction result (or its gradient) of shape (x with `dims` reduced) broadcast back over x's
// shape: the reduced dims are put back as size 1 (unless kept) and expanded.
Tensor expand_back(const Tensor& g, const Shape& x_shape, const Dims& dims, bool keepdim) {
  Tensor t = g;
  if (!keepdim)
    for (int64_t d : dims) t = ops::unsqueeze(t, d);
  return ops::expand(t, x_shape);
}

int64_t reduced_count(const Shape& x_shape, const Dims& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= x_shape[d];
  return n;
}

}  // namespace

Tensor sum(const Tensor& x, const Dims& dims, bool keepdim) {
  if (auto y = autocast_redispatch("sum", sum, x, dims, keepdim)) return *y;
  Tensor y = ops::sum(x, dims, keepdim);
  Dims rd = reduced_dims(dims, x.dim(), "sum");
  record("sum", y, {x}, {}, [rd, keepdim](Node& n, const Tensor& gy) -> Grads {
    return {expand_back(gy, n.inputs[0].shape, rd, keepdim)};
  });
  return y;
}

Tensor mean(const Tensor& x, const Dims& dims, bool keepdim) {
  Tensor y = ops::mean(x, dims, keepdim);
  Dims rd = reduced_dims(dims, x.dim(), "mean");
  record("mean", y, {x}, {}, [rd, keepdim](Node& n, const Tensor& gy) -> Grads {
    const Shape& xs = n.inputs[0].shape;
    return {expand_back(ops::div(gy, double(reduced_count(xs, rd))), xs, rd, keepdim)};
  });
  return y;
}

// d prod / d x_i is the product of the other elements. Dividing y by x_i gives it only when no
// element is zero; with exactly one zero in a slice, only that element gets a gradient (the product
// of the rest); with two or more, every gradient is zero.
Tensor prod(const Tensor& x, const Dims& dims, bool keepdim) {
  if (auto y = autocast_redispatch("prod", prod, x, dims, keepdim)) return *y;
  Tensor y = ops::prod(x, dims, keepdim);
  Dims rd = reduced_dims(dims, x.dim(), "prod");
  record("prod", y, {x}, {x}, [rd, keepdim](Node& n, const Tensor& gy) -> Grads {
    Tensor x = n.saved(0);
    const Shape& xs = x.shape();
    Tensor is_zero = ops::eq(x, 0);
    Tensor safe_x = ops::where(is_zero, ones({}, options_of(x)), x);  // zeros replaced by 1
    Tensor nonzero_prod = expand_back(ops::prod(safe_x, rd, true), xs, rd, true);
    Tensor zeros_in_slice = expand_back(ops::sum(is_zero, rd, true), xs, rd, true);
    Tensor the_only_zero = ops::logical_and(ops::eq(zeros_in_slice, 1), is_zero);
    Tensor others = ops::where(ops::eq(zeros_in_slice, 0), ops::div(nonzero_prod, safe_x),
                               ops::where(the_only_zero, nonzero_prod, zeros({}, options_of(x))));
    return {ops::mul(expand_back(gy, xs, rd, keepdim), others)};
  });
  return y;
}

namespace {
// amax/amin: the gradient is shared equally by the elements equal to the extremum (as torch).
Tensor extremum_all(const char* op, const Tensor& x, const Dims& dims, bool keepdim, bool is_max) {
  Tensor y = is_max ? ops::amax(x, dims, keepdim) : ops::amin(x, dims, keepdim);
  Dims rd = reduced_dims(dims, x.dim(), op);
  record(op, y, {x}, {x, y}, [rd, keepdim](Node& n, const Tensor& gy) -> Grads {
    Tensor x = n.saved(0);
    Tensor hit = ops::eq(x, expand_back(n.saved(1), x.shape(), rd, keepdim));
    Tensor share =
        ops::div(expand_back(gy, x.shape(), rd, keepdim), expand_back(ops::sum(hit, rd, true), x.shape(), rd, true));
    return {ops::mul(share, hit)};
  });
  return y;
}

// max/min along a dim: the gradient of each value goes to the element its index names.
std::pair<Tensor, Tensor> extremum_dim(const char* op, const Tensor& x, int64_t dim, bool keepdim, bool is_max) {
  auto [values, indices] = is_max ? ops::max(x, dim, keepdim) : ops::min(x, dim, keepdim);
  int64_t d = wrap_dim(dim, x.dim(), op);
  record(op, values, {x}, {indices}, [d, keepdim](Node& n, const Tensor& gy) -> Grads {
    Tensor idx = n.saved(0), g = gy;
    if (!keepdim) {
      idx = ops::unsqueeze(idx, d);
      g = ops::unsqueeze(g, d);
    }
    return {ops::scatter(zeros(n.inputs[0].shape, options_of(gy)), d, idx, g)};
  });
  return {values, indices};
}
}  // namespace

Tensor amax(const Tensor& x, const Dims& dims, bool keepdim) { return extremum_all("amax", x, dims, keepdim, true); }
Tensor amin(const Tensor& x, const Dims& dims, bool keepdim) { return extremum_all("amin", x, dims, keepdim, false); }
std::pair<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim) {
  return extremum_dim("max", x, dim, keepdim, true);
}
std::pair<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim) {
  return extremum_dim("min", x, dim, keepdim, false);
}

Tensor var(const Tensor& x, const Dims& dims, bool unbiased, bool keepdim) {  // 2 (x - mean) / (N - ddof)
  Tensor y = ops::var(x, dims, unbiased, keepdim);
  Dims rd = reduced_dims(dims, x.dim(), "var");
  record("var", y, {x}, {x}, [rd, unbiased, keepdim](Node& n, const Tensor& gy) -> Grads {
    Tensor x = n.saved(0);
    double denom = double(reduced_count(x.shape(), rd) - (unbiased ? 1 : 0));
    Tensor centered = ops::sub(x, ops::mean(x, rd, true));
    return {ops::mul(expand_back(gy, x.shape(), rd, keepdim), ops::mul(centered, 2.0 / denom))};
  });
  return y;
}

Tensor std(const Tensor& x, const Dims& dims, bool unbiased, bool keepdim) {  // (x - mean) / ((N - ddof) std)
  Tensor y = ops::std(x, dims, unbiased, keepdim);
  Dims rd = reduced_dims(dims, x.dim(), "std");
  record("std", y, {x}, {x, y}, [rd, unbiased, keepdim](Node& n, const Tensor& gy) -> Grads {
    Tensor x = n.saved(0);
    double denom = double(reduced_count(x.shape(), rd) - (unbiased ? 1 : 0));
    Tensor centered = ops::sub(x, ops::mean(x, rd, true));
    Tensor scale = expand_back(ops::div(gy, ops::mul(n.saved(1), denom)), x.shape(), rd, keepdim);
    return {ops::mul(scale, centered)};
  });
  return y;
}

Tensor logsumexp(const Tensor& x, const Dims& dims, bool keepdim) {  // softmax of x over dims
  if (auto y = autocast_redispatch("logsumexp", logsumexp, x, dims, keepdim)) return *y;
  Tensor y = ops::logsumexp(x, dims, keepdim);
  Dims rd = reduced_dims(dims, x.dim(), "logsumexp");
  record("logsumexp", y, {x}, {x, y}, [rd, keepdim](Node& n, const Tensor& gy) -> Grads {
    Tensor x = n.saved(0);
    Tensor p = ops::exp(ops::sub(x, expand_back(n.saved(1), x.shape(), rd, keepdim)));
    return {ops::mul(expand_back(gy, x.shape(), rd, keepdim), p)};
  });
  return y;
}

Tensor cumsum(const Tensor& x, int64_t dim) {
  if (auto y = autocast_redispatch("cumsum", cumsum, x, dim)) return *y;
  // x_i feeds every y_j with j >= i, so its gradient is the reverse cumulative sum of gy, written
  // as total - (inclusive prefix sum) + gy to reuse the forward kernel.
  Tensor y = ops::cumsum(x, dim);
  int64_t d = wrap_dim(dim, x.dim() == 0 ? 1 : x.dim(), "cumsum");
  record("cumsum", y, {x}, {}, [d](Node& n, const Tensor& gy) -> Grads {
    if (gy.dim() == 0) return {gy};
    Tensor total = ops::sum(gy, {d}, true);
    return {ops::add(ops::sub(total, ops::cumsum(gy, d)), gy)};
  });
  return y;
}

Tensor softmax(const Tensor& x, int64_t dim) {
  if (auto y = autocast_redispatch("softmax", softmax, x, dim)) return *y;
  Tensor y = ops::softmax(x, dim);
  record("softmax", y, {x}, {y},
         [dim](Node& n, const Tensor& gy) -> Grads { return {ops::softmax_backward(n.saved(0), gy, dim)}; });
  return y;
}

Tensor log_softmax(const Tensor& x, int64_t dim) {
  if (auto y = autocast_redispatch("log_softmax", log_softmax, x, dim)) return *y;
  Tensor y = ops::log_softmax(x, dim);
  record("log_softmax", y, {x}, {y},
         [dim](Node& n, const Tensor& gy) -> Grads { return {ops::log_softmax_backward(n.saved(0), gy, dim)}; });
  return y;
}

}  // namespace cj
