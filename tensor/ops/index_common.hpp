#pragma once
// Internal helpers shared by the indexing kernels (gather_scatter.cpp, masked.cpp, sort.cpp, ...):
// argument checks with uniform messages and byte-stride bookkeeping for cpu::strided_loop.
#include <cstdint>

#include "tensor/tensor.hpp"

namespace cj::ops::detail {

// Throws unless t is a CPU tensor; `what` names the argument ("index", "src", ...).
void check_cpu(const Tensor& t, const char* op, const char* what);

// An index tensor as int64 (i32 is converted; any other dtype throws naming op). Keeps the view's
// strides when it already is int64, so callers must read it through its strides.
Tensor index_as_i64(const Tensor& index, const char* op);

// Throws "<op>: index <i> is out of range for dim <d> of size <n> (expected 0..n-1)".
[[noreturn]] void fail_index_out_of_range(const char* op, int64_t i, int64_t dim, int64_t size);

inline void check_index(int64_t i, int64_t size, const char* op, int64_t dim) {
  if (i < 0 || i >= size) fail_index_out_of_range(op, i, dim, size);
}

// Checks that index has bound's ndim and fits inside it (every dim, or every dim but skip_dim >= 0);
// `name` names bound in the message ("x", "src").
void check_index_fits(const Tensor& index, const Tensor& bound, int64_t skip_dim, const char* op, const char* name);

// Throws unless src has x's dtype (scatter, index_add).
void check_same_dtype(const Tensor& x, const Tensor& src, const char* op);

// index_add's shapes: src has x's ndim and x's sizes except n (the index count) along dim (wrapped).
void check_index_add_shapes(const Tensor& x, const Tensor& src, int64_t dim, int64_t n, const char* op);

// topk's arguments (not bool, 0 <= k <= size along dim); returns dim wrapped.
int64_t check_topk_args(const Tensor& x, int64_t k, int64_t dim);

// The view's element strides times the element size.
Shape byte_strides(const Tensor& t);

// A 0-d tensor seen as shape [1] (PyTorch treats a scalar as one element along dim 0 in these ops).
Tensor as_at_least_1d(const Tensor& t);

}  // namespace cj::ops::detail
