// Arithmetic binary ops with broadcasting and type promotion, their Scalar forms and in-place forms.
#include <cmath>

#include "tensor/backend.hpp"
#include "tensor/cpu/elementwise_kernel.hpp"
#include "tensor/ops/elementwise.hpp"
#include "tensor/ops/pointwise_rules.hpp"

namespace cj::ops {

namespace {

// Out of place: out has the broadcast shape and dtype `compute` (operands checked by cpu::promoted).
template <typename F>
Tensor binary(const char* op, const Tensor& a, const Tensor& b, DType compute, F f) {
  Tensor out = Tensor::empty(broadcast_shapes(a.shape(), b.shape(), op), compute);
  cpu::binary_into(op, out, a, b, compute, f);
  return out;
}

template <typename F>
Tensor with_scalar(const char* op, const Tensor& a, const Scalar& s, DType compute, F f) {
  Tensor out = Tensor::empty(a.shape(), compute);
  cpu::scalar_into(op, out, a, s, compute, f);
  return out;
}

template <typename F>
void binary_inplace(const char* op, const Tensor& self, const Tensor& other, DType compute, F f) {
  cpu::check_inplace(op, self, other.shape(), compute);
  cpu::binary_into(op, self, self, cpu::unaliased(self, other), compute, f);
  self.bump_version();
}

template <typename F>
void scalar_inplace(const char* op, const Tensor& self, const Scalar& s, DType compute, F f) {
  cpu::check_inplace(op, self, self.shape(), compute);
  cpu::scalar_into(op, self, self, s, compute, f);
  self.bump_version();
}

DType floating_result(DType t) { return is_floating(t) ? t : DType::f32; }

void check_alpha(const char* op, DType compute, const Scalar& alpha) {
  CJ_CHECK(is_floating(compute) || alpha.kind != Scalar::Kind::floating, op, ": for integral inputs (",
           dtype_name(compute), "), alpha must not be a floating point number (got ", alpha.f, ")");
}

void check_not_bool(const char* op, DType compute, const char* hint) {
  CJ_CHECK(compute != DType::b8, op, ": not supported for bool tensors; ", hint);
}

// a + alpha * b and a - alpha * b. alpha is kept as both double and int64 so the per-element
// conversion to the compute type is loop-invariant (and hoisted by the compiler).
struct AddScaled {
  double af;
  int64_t ai;
  explicit AddScaled(const Scalar& alpha) : af(alpha.f), ai(alpha.i) {}
  template <typename C>
  C scale() const {
    if constexpr (std::is_floating_point_v<C>) return C(af);
    else return C(ai);
  }
  template <typename C>
  auto operator()(C x, C y) const {
    return x + scale<C>() * y;
  }
};
struct SubScaled : AddScaled {
  using AddScaled::AddScaled;
  template <typename C>
  auto operator()(C x, C y) const {
    return x - scale<C>() * y;
  }
};

const auto kAdd = [](auto x, auto y) { return x + y; };
const auto kSub = [](auto x, auto y) { return x - y; };
const auto kMul = [](auto x, auto y) { return x * y; };
const auto kDiv = [](auto x, auto y) { return x / y; };

const auto kPow = [](auto x, auto y) { return pointwise::pow_value(x, y); };
const auto kMaximum = [](auto x, auto y) { return pointwise::maximum_value(x, y); };
const auto kMinimum = [](auto x, auto y) { return pointwise::minimum_value(x, y); };

}  // namespace

// ---- tensor-tensor ------------------------------------------------------------------------------

Tensor add(const Tensor& a, const Tensor& b, Scalar alpha) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&, const Tensor&, Scalar), "add", a, a, b, alpha);
  DType rt = cpu::promoted("add", a, b);
  check_alpha("add", rt, alpha);
  if (alpha.kind != Scalar::Kind::floating && alpha.i == 1) return binary("add", a, b, rt, kAdd);
  return binary("add", a, b, rt, AddScaled{alpha});
}

Tensor sub(const Tensor& a, const Tensor& b, Scalar alpha) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&, const Tensor&, Scalar), "sub", a, a, b, alpha);
  DType rt = cpu::promoted("sub", a, b);
  check_not_bool("sub", rt, "use logical_xor instead");
  check_alpha("sub", rt, alpha);
  if (alpha.kind != Scalar::Kind::floating && alpha.i == 1) return binary("sub", a, b, rt, kSub);
  return binary("sub", a, b, rt, SubScaled{alpha});
}

Tensor mul(const Tensor& a, const Tensor& b) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&, const Tensor&), "mul", a, a, b);
  return binary("mul", a, b, cpu::promoted("mul", a, b), kMul);
}

Tensor div(const Tensor& a, const Tensor& b) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&, const Tensor&), "div", a, a, b);
  return binary("div", a, b, floating_result(cpu::promoted("div", a, b)), kDiv);
}

Tensor pow(const Tensor& a, const Tensor& b) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&, const Tensor&), "pow", a, a, b);
  return binary("pow", a, b, cpu::promoted("pow", a, b), kPow);
}

Tensor maximum(const Tensor& a, const Tensor& b) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&, const Tensor&), "maximum", a, a, b);
  return binary("maximum", a, b, cpu::promoted("maximum", a, b), kMaximum);
}
Tensor minimum(const Tensor& a, const Tensor& b) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&, const Tensor&), "minimum", a, a, b);
  return binary("minimum", a, b, cpu::promoted("minimum", a, b), kMinimum);
}

// ---- tensor-scalar -------------------------------------------------------------------------------

Tensor add(const Tensor& a, Scalar b) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&, Scalar), "add.scalar", a, a, b);
  return with_scalar("add", a, b, cpu::promoted("add", a, b), kAdd);
}

Tensor sub(const Tensor& a, Scalar b) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&, Scalar), "sub.scalar", a, a, b);
  DType rt = cpu::promoted("sub", a, b);
  check_not_bool("sub", rt, "use logical_xor instead");
  return with_scalar("sub", a, b, rt, kSub);
}

Tensor rsub(const Tensor& a, Scalar b) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&, Scalar), "rsub.scalar", a, a, b);
  DType rt = cpu::promoted("rsub", a, b);
  check_not_bool("rsub", rt, "use logical_xor instead");
  return with_scalar("rsub", a, b, rt, [](auto x, auto s) { return s - x; });
}

Tensor mul(const Tensor& a, Scalar b) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&, Scalar), "mul.scalar", a, a, b);
  return with_scalar("mul", a, b, cpu::promoted("mul", a, b), kMul);
}

Tensor div(const Tensor& a, Scalar b) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&, Scalar), "div.scalar", a, a, b);
  return with_scalar("div", a, b, floating_result(cpu::promoted("div", a, b)), kDiv);
}

Tensor pow(const Tensor& a, Scalar exponent) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&, Scalar), "pow.scalar", a, a, exponent);
  DType rt = cpu::promoted("pow", a, exponent);
  if (!is_floating(rt)) {
    CJ_CHECK(exponent.i >= 0, "pow: integers to negative integer powers are not allowed (", a.describe(), " ** ",
             exponent.i, ")");
    return with_scalar("pow", a, exponent, rt, kPow);
  }
  // The exponents torch special-cases, so results agree bit for bit where it uses multiplies.
  const double e = exponent.f;
  if (e == 2) return with_scalar("pow", a, exponent, rt, [](auto x, auto) { return x * x; });
  if (e == 3) return with_scalar("pow", a, exponent, rt, [](auto x, auto) { return x * x * x; });
  if (e == 0.5) return with_scalar("pow", a, exponent, rt, [](auto x, auto) { return std::sqrt(x); });
  if (e == -0.5)
    return with_scalar("pow", a, exponent, rt, [](auto x, auto) { return decltype(x)(1) / std::sqrt(x); });
  if (e == -1) return with_scalar("pow", a, exponent, rt, [](auto x, auto) { return decltype(x)(1) / x; });
  if (e == -2) return with_scalar("pow", a, exponent, rt, [](auto x, auto) { return decltype(x)(1) / (x * x); });
  return with_scalar("pow", a, exponent, rt, kPow);
}

// ---- in place -------------------------------------------------------------------------------------

void add_(const Tensor& self, const Tensor& other, Scalar alpha) {
  CJ_FORWARD_TO_DEVICE(void(const Tensor&, const Tensor&, Scalar), "add_", self, self, other, alpha);
  DType rt = cpu::promoted("add_", self, other);
  check_alpha("add_", rt, alpha);
  if (alpha.kind != Scalar::Kind::floating && alpha.i == 1) return binary_inplace("add_", self, other, rt, kAdd);
  binary_inplace("add_", self, other, rt, AddScaled{alpha});
}

void sub_(const Tensor& self, const Tensor& other, Scalar alpha) {
  CJ_FORWARD_TO_DEVICE(void(const Tensor&, const Tensor&, Scalar), "sub_", self, self, other, alpha);
  DType rt = cpu::promoted("sub_", self, other);
  check_not_bool("sub_", rt, "use logical_xor instead");
  check_alpha("sub_", rt, alpha);
  if (alpha.kind != Scalar::Kind::floating && alpha.i == 1) return binary_inplace("sub_", self, other, rt, kSub);
  binary_inplace("sub_", self, other, rt, SubScaled{alpha});
}

void mul_(const Tensor& self, const Tensor& other) {
  CJ_FORWARD_TO_DEVICE(void(const Tensor&, const Tensor&), "mul_", self, self, other);
  binary_inplace("mul_", self, other, cpu::promoted("mul_", self, other), kMul);
}

void div_(const Tensor& self, const Tensor& other) {
  CJ_FORWARD_TO_DEVICE(void(const Tensor&, const Tensor&), "div_", self, self, other);
  binary_inplace("div_", self, other, floating_result(cpu::promoted("div_", self, other)), kDiv);
}

void add_(const Tensor& self, Scalar other) {
  CJ_FORWARD_TO_DEVICE(void(const Tensor&, Scalar), "add_.scalar", self, self, other);
  scalar_inplace("add_", self, other, cpu::promoted("add_", self, other), kAdd);
}

void mul_(const Tensor& self, Scalar other) {
  CJ_FORWARD_TO_DEVICE(void(const Tensor&, Scalar), "mul_.scalar", self, self, other);
  scalar_inplace("mul_", self, other, cpu::promoted("mul_", self, other), kMul);
}

}  // namespace cj::ops
