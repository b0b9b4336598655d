#include "tensor/ops/index_common.hpp"

#include "tensor/ops/views.hpp"

namespace cj::ops::detail {

void check_cpu(const Tensor& t, const char* op, const char* what) {
  CJ_CHECK(t.defined(), op, ": ", what, " is an undefined tensor");
  CJ_CHECK(t.is_cpu(), op, ": ", what, " is on ", t.device().str(), " and this build has no kernel there");
}

Tensor index_as_i64(const Tensor& index, const char* op) {
  check_cpu(index, op, "index");
  CJ_CHECK(index.dtype() == DType::i64 || index.dtype() == DType::i32, op,
           ": index tensors must be int64 or int32, got ", dtype_name(index.dtype()));
  return to(index, DType::i64);
}

void fail_index_out_of_range(const char* op, int64_t i, int64_t dim, int64_t size) {
  if (size == 0) fail(op, ": index ", i, " is out of range for dim ", dim, " of size 0 (no valid index)");
  fail(op, ": index ", i, " is out of range for dim ", dim, " of size ", size, " (expected 0..", size - 1, ")");
}

Shape byte_strides(const Tensor& t) {
  Shape s = t.strides();
  for (auto& v : s) v *= static_cast<int64_t>(t.element_size());
  return s;
}

Tensor as_at_least_1d(const Tensor& t) { return t.dim() == 0 ? unsqueeze(t, 0) : t; }

}  // namespace cj::ops::detail
