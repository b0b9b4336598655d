#pragma once
// Ops the CUDA backend builds from other ops instead of a kernel of their own. Written against the
// public cj::ops, so the same code runs on any device: on CUDA tensors every call lands in a CUDA
// kernel, and tests/tensor/test_cuda_composite.cpp runs it on CPU tensors against the CPU ops.
// Each function checks its arguments as the CPU op does and names the op in its errors.
#include <limits>
#include <optional>
#include <vector>

#include "cuda/index_checks.hpp"
#include "tensor/cpu/elementwise_kernel.hpp"
#include "tensor/ops.hpp"

namespace cj::composite {

using ops::Dims;

// A 1-D (or 0-d) index viewed as `shape`: stride 0 everywhere but along dim.
inline Tensor index_along_dim(const Tensor& index_i64, const Shape& shape, int64_t dim, const char* op) {
  CJ_CHECK(index_i64.dim() <= 1, op, ": index must be 0-d or 1-D, got shape ", index_i64.shape());
  Tensor idx = detail::as_at_least_1d(index_i64);
  Shape strides(shape.size(), 0);
  strides[size_t(dim)] = idx.stride(0);
  return ops::as_strided(idx, shape, strides, idx.offset());
}

// x: (..., S, ...), index: (n) -> (..., n, ...)
inline Tensor index_select(const Tensor& x_in, int64_t dim, const Tensor& index, const char* op = "index_select") {
  check_same_device(x_in, index, op, "index");
  Tensor x = detail::as_at_least_1d(x_in);
  dim = wrap_dim(dim, x_in.dim(), op);
  Tensor idx = index_as_i64(index, op);
  CJ_CHECK(x_in.dim() > 0 || idx.numel() == 1, op, ": a 0-d x takes exactly one index, got ", idx.numel());
  check_index_range(idx, x.size(dim), op, dim);
  Shape out_shape = x.shape();
  out_shape[size_t(dim)] = idx.numel();
  Tensor out = ops::gather(x, dim, index_along_dim(idx, out_shape, dim, op));
  return x_in.dim() == 0 ? ops::reshape(out, {}) : out;
}

// x: (..., S, ...), index: (n), src: (..., n, ...) -> x's shape, src rows added at index (repeats accumulate)
inline Tensor index_add(const Tensor& x_in, int64_t dim, const Tensor& index, const Tensor& src_in) {
  const char* op = "index_add";
  check_same_device(x_in, index, op, "index");
  check_same_device(x_in, src_in, op, "src");
  detail::check_same_dtype(x_in, src_in, op);
  Tensor x = detail::as_at_least_1d(x_in), src = detail::as_at_least_1d(src_in);
  dim = wrap_dim(dim, x_in.dim(), op);
  detail::check_index_add_shapes(x_in, src_in, dim, index.numel(), op);
  Tensor idx = index_as_i64(index, op);
  check_index_range(idx, x.size(dim), op, dim);
  Tensor out = ops::scatter_add(x, dim, index_along_dim(idx, src.shape(), dim, op), src);
  return x_in.dim() == 0 ? ops::reshape(out, {}) : out;
}

// weight: (V, D), index: any shape -> index.shape + (D)
inline Tensor embedding(const Tensor& weight, const Tensor& index) {
  CJ_CHECK(weight.dim() == 2, "embedding: weight must be 2-D (V, D), got shape ", weight.shape());
  Tensor rows = index_select(weight, 0, ops::reshape(index, {-1}), "embedding");
  Shape out_shape = index.shape();
  out_shape.push_back(weight.size(1));
  return ops::view(rows, out_shape);
}

// gy: index.shape + (D) -> (num_embeddings, D); accumulated in f32 for 16-bit gy, as the CPU op.
inline Tensor embedding_backward(const Tensor& gy, const Tensor& index, int64_t num_embeddings) {
  const char* op = "embedding_backward";
  CJ_CHECK(gy.defined() && is_floating(gy.dtype()), op, ": grad_output must be a floating tensor");
  check_same_device(gy, index, op, "index");
  CJ_CHECK(gy.dim() == index.dim() + 1 && Shape(gy.shape().begin(), gy.shape().end() - 1) == index.shape(), op,
           ": grad_output ", gy.shape(), " must be index.shape ", index.shape(), " + [D]");
  CJ_CHECK(num_embeddings >= 0, op, ": num_embeddings must be >= 0, got ", num_embeddings);
  const DType acc = gy.dtype() == DType::f64 ? DType::f64 : DType::f32;
  const int64_t D = gy.size(-1);
  Tensor idx = ops::reshape(index_as_i64(index, op), {-1});
  check_index_range(idx, num_embeddings, op, 0);
  Tensor gw = zeros({num_embeddings, D}, {acc, gy.device()});
  return ops::to(ops::index_add(gw, 0, idx, ops::to(ops::reshape(gy, {-1, D}), acc)), gy.dtype());
}

// index: any shape, values in [0, C) -> int64 of index.shape + (C); C = -1 infers max + 1.
inline Tensor one_hot(const Tensor& index, int64_t num_classes) {
  const char* op = "one_hot";
  Tensor idx = index_as_i64(index, op);
  const int64_t n = idx.numel();
  const int64_t lo = n ? ops::amin(idx).item<int64_t>() : 0;
  const int64_t hi = n ? ops::amax(idx).item<int64_t>() : -1;
  CJ_CHECK(lo >= 0, op, ": class values must be non-negative, got ", lo);
  if (num_classes == -1) {
    CJ_CHECK(n > 0, op, ": cannot infer the number of classes from an empty index (pass num_classes)");
    num_classes = hi + 1;
  }
  CJ_CHECK(num_classes >= 0, op, ": num_classes must be >= 0 or -1 (infer), got ", num_classes);
  CJ_CHECK(hi < num_classes, op, ": class value ", hi, " is out of range for num_classes ", num_classes,
           " (expected 0..", num_classes - 1, ")");
  Tensor classes = arange(num_classes, {DType::i64, index.device()});
  return ops::to(ops::eq(ops::unsqueeze(idx, -1), classes), DType::i64);
}

// x, mask: broadcastable -> broadcast shape, value where mask is true
inline Tensor masked_fill(const Tensor& x, const Tensor& mask, Scalar value) {
  const char* op = "masked_fill";
  check_same_device(x, mask, op, "mask");
  CJ_CHECK(mask.dtype() == DType::b8, op, ": mask must be bool, got ", dtype_name(mask.dtype()));
  const Shape shape = broadcast_shapes(x.shape(), mask.shape(), op);
  (void)broadcast_shapes(x.shape(), mask.shape(), op);  // names the op when they do not broadcast
  Tensor fill = full({}, value, {x.dtype(), x.device()});  // cast to x's dtype first, as the CPU op stores it
  return ops::where(mask, fill, x);
}

// x, mask: broadcastable -> (number of true positions) in row-major order of the broadcast shape
inline Tensor masked_select(const Tensor& x, const Tensor& mask) {
  const char* op = "masked_select";
  check_same_device(x, mask, op, "mask");
  CJ_CHECK(mask.dtype() == DType::b8, op, ": mask must be bool, got ", dtype_name(mask.dtype()));
  const Shape shape = broadcast_shapes(x.shape(), mask.shape(), op);
  Tensor flat_x = ops::reshape(ops::contiguous(ops::expand(x, shape)), {-1});
  Tensor flat_m = ops::reshape(ops::contiguous(ops::expand(mask, shape)), {-1});
  const int64_t count = ops::sum(flat_m).item<int64_t>();
  // Kept element i goes to slot (number of kept elements before it); dropped ones to slot `count`,
  // one past the result, which is cut off.
  Tensor slot = ops::where(flat_m, ops::sub(ops::cumsum(flat_m, 0), 1), full({}, count, {DType::i64, x.device()}));
  Tensor out = zeros({count + 1}, {x.dtype(), x.device()});
  return ops::narrow(ops::scatter(out, 0, slot, flat_x), 0, 0, count);
}

// Two passes (mean, then the sum of squared deviations), as the CPU op.
inline Tensor var(const Tensor& x, const Dims& dims, bool unbiased, bool keepdim) {
  CJ_CHECK(is_floating(x.dtype()), "var: expected a floating dtype (f32, f64, bf16, f16), got ", dtype_name(x.dtype()));
  const DType acc = x.dtype() == DType::f64 ? DType::f64 : DType::f32;
  Tensor xa = ops::to(x, acc);
  Tensor mean = ops::mean(xa, dims, /*keepdim=*/true);
  const int64_t n = x.numel() / std::max<int64_t>(mean.numel(), 1);
  const int64_t dof = n - (unbiased ? 1 : 0);
  Tensor ss = ops::sum(ops::square(ops::sub(xa, mean)), dims, keepdim);
  Tensor v = dof > 0 ? ops::div(ss, double(dof))
                     : full(ss.shape(), std::numeric_limits<double>::quiet_NaN(), {acc, x.device()});
  return ops::to(v, x.dtype());
}

inline Tensor std(const Tensor& x, const Dims& dims, bool unbiased, bool keepdim) {
  return ops::sqrt(composite::var(x, dims, unbiased, keepdim));
}

// shape without the reduced dims (all dims when dims is empty)
inline Shape reduced_shape(const Shape& shape, const Dims& dims, const char* op) {
  std::vector<bool> reduced(shape.size(), dims.empty());
  for (int64_t d : dims) {
    const int64_t w = wrap_dim(d, int64_t(shape.size()), op);
    if (!shape.empty()) reduced[size_t(w)] = true;  // a 0-d shape accepts dim 0 / -1 and has nothing to drop
  }
  Shape out;
  for (size_t d = 0; d < shape.size(); ++d)
    if (!reduced[d]) out.push_back(shape[d]);
  return out;
}

// m + log(sum exp(x - m)) with m the max; an infinite m is not subtracted (all -inf gives -inf).
inline Tensor logsumexp(const Tensor& x, const Dims& dims, bool keepdim) {
  Tensor xf = is_floating(x.dtype()) ? x : ops::to(x, DType::f32);
  const DType acc = xf.dtype() == DType::f64 ? DType::f64 : DType::f32;
  Tensor xa = ops::to(xf, acc);
  // Over zero elements amax throws; the CPU op's max starts at -inf there (shift 0, result -inf),
  // which a sum of zeros in the same keepdim shape reproduces.
  Tensor m = xa.numel() == 0 ? ops::sum(xa, dims, /*keepdim=*/true) : ops::amax(xa, dims, /*keepdim=*/true);
  Tensor shift = ops::where(ops::eq(ops::abs(m), std::numeric_limits<double>::infinity()), full({}, 0.0, {acc, x.device()}), m);
  Tensor s = ops::log(ops::sum(ops::exp(ops::sub(xa, shift)), dims, /*keepdim=*/true));
  Tensor out = ops::add(s, shift);
  if (!keepdim) out = ops::reshape(out, reduced_shape(x.shape(), dims, "logsumexp"));
  return ops::to(out, xf.dtype());
}

inline Tensor all(const Tensor& x) { return ops::eq(ops::sum(ops::eq(x, 0)), 0); }
inline Tensor any(const Tensor& x) { return ops::ne(ops::sum(ops::ne(x, 0)), 0); }

// ---- in place: the result is computed out of place, then copied in (so overlapping operands read
// their old values), after the CPU op's checks on the destination.
inline void check_inplace(const char* op, const Tensor& self, const Shape& other_shape, DType result) {
  CJ_CHECK(self.defined(), op, ": got an undefined tensor");
  cpu::check_inplace_destination(op, self, other_shape, result);  // device-agnostic despite its namespace
}

inline void assign(const Tensor& self, const Tensor& result) {
  ops::copy_(self, result);
  self.bump_version();
}

// self op= other: the checks, before any work.
inline void check_binary_(const char* op, const Tensor& self, const Tensor& other, bool true_division = false) {
  check_same_device(self, other, op, "other");
  DType rt = ops::result_type(self.dtype(), other.dtype());
  if (true_division && !is_floating(rt)) rt = DType::f32;
  check_inplace(op, self, other.shape(), rt);
}

}  // namespace cj::composite
