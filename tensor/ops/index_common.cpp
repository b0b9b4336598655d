#include "tensor/ops/index_common.hpp"

#include <string>

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

void check_index_fits(const Tensor& index, const Tensor& bound, int64_t skip_dim, const char* op, const char* name) {
  CJ_CHECK(index.dim() == bound.dim(), op, ": index has ", index.dim(), " dims, ", name, " has ", bound.dim(),
           " (expected equal)");
  for (int64_t d = 0; d < index.dim(); ++d)
    CJ_CHECK(d == skip_dim || index.size(d) <= bound.size(d), op, ": index shape ", index.shape(),
             " must not exceed ", name, " shape ", bound.shape(), skip_dim >= 0 ? " outside dim " : "",
             skip_dim >= 0 ? std::to_string(skip_dim) : "", " (dim ", d, ": ", index.size(d), " > ", bound.size(d), ")");
}

void check_same_dtype(const Tensor& x, const Tensor& src, const char* op) {
  CJ_CHECK(x.dtype() == src.dtype(), op, ": src dtype ", dtype_name(src.dtype()), " must equal x dtype ",
           dtype_name(x.dtype()));
}

void check_index_add_shapes(const Tensor& x_in, const Tensor& src_in, int64_t dim, int64_t n, const char* op) {
  Tensor x = as_at_least_1d(x_in), src = as_at_least_1d(src_in);
  CJ_CHECK(src.dim() == x.dim(), op, ": src has ", src_in.dim(), " dims, x has ", x_in.dim(), " (expected equal)");
  for (int64_t d = 0; d < x.dim(); ++d) {
    const int64_t want = d == dim ? n : x.size(d);
    CJ_CHECK(src.size(d) == want, op, ": src shape ", src_in.shape(), " does not match x shape ", x_in.shape(),
             " with ", n, " indices along dim ", dim, " (dim ", d, ": expected ", want, ", got ", src.size(d), ")");
  }
}

int64_t check_topk_args(const Tensor& x, int64_t k, int64_t dim) {
  CJ_CHECK(x.dtype() != DType::b8, "topk: bool tensors are not supported (as in torch); convert to an integer dtype");
  dim = wrap_dim(dim, x.dim(), "topk");
  const int64_t n = x.dim() == 0 ? 1 : x.size(dim);
  CJ_CHECK(k >= 0 && k <= n, "topk: k = ", k, " is out of range for dim ", dim, " of size ", n, " (expected 0..", n, ")");
  return dim;
}

Shape byte_strides(const Tensor& t) {
  Shape s = t.strides();
  for (auto& v : s) v *= static_cast<int64_t>(t.element_size());
  return s;
}

Tensor as_at_least_1d(const Tensor& t) { return t.dim() == 0 ? unsqueeze(t, 0) : t; }

}  // namespace cj::ops::detail
