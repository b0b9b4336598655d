#pragma once
// Elementwise ops with NumPy/PyTorch broadcasting and PyTorch's type promotion.
#include <optional>

#include "tensor/tensor.hpp"

namespace cj {
// Option types of ops live in namespace cj, not cj::ops: an argument of a cj::ops type would make
// argument-dependent lookup add the raw kernels to overload resolution beside the differentiable
// cj:: ops of the same name (autograd/), and `gelu(x, GeluApprox::tanh)` would be ambiguous.
enum class GeluApprox { none, tanh };
}  // namespace cj

namespace cj::ops {

// PyTorch's result_type: category (bool < integer < floating) first, then width; a Scalar only
// raises the category (i32 tensor + 2.5 -> f32; f16 tensor + 2.5 -> f16).
DType result_type(DType a, DType b);
DType result_type(DType a, const Scalar& b);

using cj::GeluApprox;

// ---- unary (float ops on integer inputs promote to f32, as torch) -----------------------------
Tensor neg(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor sign(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor log1p(const Tensor& x);
Tensor expm1(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);
Tensor reciprocal(const Tensor& x);
Tensor square(const Tensor& x);
Tensor sin(const Tensor& x);
Tensor cos(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor erf(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor gelu(const Tensor& x, GeluApprox approx = GeluApprox::none);
Tensor logical_not(const Tensor& x);  // -> bool
Tensor clamp(const Tensor& x, std::optional<Scalar> min, std::optional<Scalar> max);

// ---- binary -------------------------------------------------------------------------------------
Tensor add(const Tensor& a, const Tensor& b, Scalar alpha = 1);  // a + alpha * b
Tensor sub(const Tensor& a, const Tensor& b, Scalar alpha = 1);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);  // true division (ints promote to f32)
Tensor pow(const Tensor& a, const Tensor& b);
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, Scalar b);
Tensor sub(const Tensor& a, Scalar b);
Tensor rsub(const Tensor& a, Scalar b);  // b - a
Tensor mul(const Tensor& a, Scalar b);
Tensor div(const Tensor& a, Scalar b);
Tensor pow(const Tensor& a, Scalar exponent);

// comparisons and logic -> bool
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor eq(const Tensor& a, Scalar b);
Tensor ne(const Tensor& a, Scalar b);
Tensor lt(const Tensor& a, Scalar b);
Tensor le(const Tensor& a, Scalar b);
Tensor gt(const Tensor& a, Scalar b);
Tensor ge(const Tensor& a, Scalar b);
Tensor logical_and(const Tensor& a, const Tensor& b);
Tensor logical_or(const Tensor& a, const Tensor& b);
Tensor logical_xor(const Tensor& a, const Tensor& b);

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);  // cond: bool

// ---- in place (versions are bumped) ----------------------------------------------------------------
// The promoted result must be castable to the destination as in torch (no floating result into an
// integer tensor, nothing but bool into a bool tensor): bf16 += f32 is allowed and rounds once.
// The destination must have the broadcast shape and no self-overlap (an expanded view); an operand
// that partially overlaps it is read as it was before the op.
void add_(const Tensor& self, const Tensor& other, Scalar alpha = 1);
void sub_(const Tensor& self, const Tensor& other, Scalar alpha = 1);
void mul_(const Tensor& self, const Tensor& other);
void div_(const Tensor& self, const Tensor& other);
void add_(const Tensor& self, Scalar other);
void mul_(const Tensor& self, Scalar other);
void clamp_(const Tensor& self, std::optional<Scalar> min, std::optional<Scalar> max);
void fill_(const Tensor& self, Scalar value);
void zero_(const Tensor& self);

// ---- test helpers (either tensor may be on a device: they compare on the host) -----------------------
// torch.allclose: |a - b| <= atol + rtol * |b| elementwise (NaNs equal only if equal_nan).
bool allclose(const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-8, bool equal_nan = false);
// max |a - b| / max(|b|, tiny) over all elements... as a single normalized number:
// max_i |a_i - b_i| / max(max_i |b_i|, 1e-12). Used by parity tests ("<= 1e-5 relative").
double max_rel_error(const Tensor& a, const Tensor& b);

}  // namespace cj::ops
