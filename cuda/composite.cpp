// The CUDA entry points of the ops built from other ops (cuda/composite.hpp holds their logic):
// each checks that its tensors are on the GPU, then runs the device-agnostic composition.
#include "cuda/composite.hpp"

#include "cuda/ops.hpp"

namespace cj::cuda {

Tensor masked_fill(const Tensor& x, const Tensor& mask, Scalar value) {
  check_cuda("masked_fill", x);
  return composite::masked_fill(x, mask, value);
}
Tensor masked_select(const Tensor& x, const Tensor& mask) {
  check_cuda("masked_select", x);
  return composite::masked_select(x, mask);
}
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  check_cuda("index_select", x);
  return composite::index_select(x, dim, index);
}
Tensor index_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  check_cuda("index_add", x);
  return composite::index_add(x, dim, index, src);
}
Tensor embedding(const Tensor& weight, const Tensor& index) {
  check_cuda("embedding", weight);
  return composite::embedding(weight, index);
}
Tensor embedding_backward(const Tensor& gy, const Tensor& index, int64_t num_embeddings) {
  check_cuda("embedding_backward", gy);
  return composite::embedding_backward(gy, index, num_embeddings);
}
Tensor one_hot(const Tensor& index, int64_t num_classes) {
  check_cuda("one_hot", index);
  return composite::one_hot(index, num_classes);
}
Tensor var(const Tensor& x, const Dims& dims, bool unbiased, bool keepdim) {
  check_cuda("var", x);
  return composite::var(x, dims, unbiased, keepdim);
}
Tensor std(const Tensor& x, const Dims& dims, bool unbiased, bool keepdim) {
  check_cuda("std", x);
  return composite::std(x, dims, unbiased, keepdim);
}
Tensor logsumexp(const Tensor& x, const Dims& dims, bool keepdim) {
  check_cuda("logsumexp", x);
  return composite::logsumexp(x, dims, keepdim);
}
Tensor all(const Tensor& x) {
  check_cuda("all", x);
  return composite::all(x);
}
Tensor any(const Tensor& x) {
  check_cuda("any", x);
  return composite::any(x);
}

// ---- in place ----------------------------------------------------------------------------------------
void add_(const Tensor& self, const Tensor& other, Scalar alpha) {
  check_cuda("add_", self);
  composite::check_binary_("add_", self, other);
  composite::assign(self, ops::add(self, other, alpha));
}
void sub_(const Tensor& self, const Tensor& other, Scalar alpha) {
  check_cuda("sub_", self);
  composite::check_binary_("sub_", self, other);
  composite::assign(self, ops::sub(self, other, alpha));
}
void mul_(const Tensor& self, const Tensor& other) {
  check_cuda("mul_", self);
  composite::check_binary_("mul_", self, other);
  composite::assign(self, ops::mul(self, other));
}
void div_(const Tensor& self, const Tensor& other) {
  check_cuda("div_", self);
  composite::check_binary_("div_", self, other, /*true_division=*/true);
  composite::assign(self, ops::div(self, other));
}
void add_scalar_(const Tensor& self, Scalar other) {
  check_cuda("add_", self);
  composite::check_inplace("add_", self, self.shape(), ops::result_type(self.dtype(), other));
  composite::assign(self, ops::add(self, other));
}
void mul_scalar_(const Tensor& self, Scalar other) {
  check_cuda("mul_", self);
  composite::check_inplace("mul_", self, self.shape(), ops::result_type(self.dtype(), other));
  composite::assign(self, ops::mul(self, other));
}
void clamp_(const Tensor& self, std::optional<Scalar> min, std::optional<Scalar> max) {
  check_cuda("clamp_", self);
  CJ_CHECK(min || max, "clamp_: at least one of min and max must be given");
  DType rt = self.dtype();
  if (min) rt = ops::result_type(rt, *min);
  if (max) rt = ops::result_type(rt, *max);
  CJ_CHECK(rt == self.dtype(), "clamp_: result type ", dtype_name(rt), " can't be cast to the destination type ",
           dtype_name(self.dtype()), " in place");
  composite::check_inplace("clamp_", self, self.shape(), rt);
  composite::assign(self, ops::clamp(self, min, max));
}

}  // namespace cj::cuda
