#pragma once
// Argument checks of the indexing ops on any device, with the CPU ops' messages (device-agnostic:
// the CPU test of cuda/composite.hpp runs them too). Plain C++, so .cu files include it as well.
#include "tensor/ops.hpp"
#include "tensor/ops/index_common.hpp"

namespace cj::composite {

namespace detail = ::cj::ops::detail;

inline void check_same_device(const Tensor& a, const Tensor& b, const char* op, const char* what) {
  CJ_CHECK(b.defined(), op, ": ", what, " is an undefined tensor");
  CJ_CHECK(a.device() == b.device(), op, ": ", what, " is on ", b.device().str(), " but x is on ", a.device().str());
}

// An index tensor as int64 on its device (int32 converted); other dtypes throw naming op.
inline Tensor index_as_i64(const Tensor& index, const char* op) {
  CJ_CHECK(index.defined(), op, ": index is an undefined tensor");
  CJ_CHECK(index.dtype() == DType::i64 || index.dtype() == DType::i32, op,
           ": index tensors must be int64 or int32, got ", dtype_name(index.dtype()));
  return ops::to(index, DType::i64);
}

// Throws the CPU op's message for the first index outside [0, size) in row-major order. Reads back
// only the index's min and max unless one is out of range.
inline void check_index_range(const Tensor& index_i64, int64_t size, const char* op, int64_t dim) {
  if (index_i64.numel() == 0) return;
  // Broadcast (stride 0) dims repeat the same indices (index_select's expanded index): check one copy.
  Shape sizes = index_i64.shape();
  for (int64_t d = 0; d < index_i64.dim(); ++d)
    if (index_i64.stride(d) == 0) sizes[size_t(d)] = 1;
  const Tensor distinct = ops::as_strided(index_i64, sizes, index_i64.strides(), index_i64.offset());
  const int64_t lo = ops::amin(distinct).item<int64_t>(), hi = ops::amax(distinct).item<int64_t>();
  if (lo >= 0 && hi < size) return;
  for (int64_t v : to_vector<int64_t>(distinct)) detail::check_index(v, size, op, dim);
}

}  // namespace cj::composite
