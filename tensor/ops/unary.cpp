// Unary elementwise ops. Float-valued ops (exp, sqrt, ...) promote integer and bool inputs to f32
// as torch does; sign-preserving ops (neg, abs, relu, ...) keep the input dtype.
#include <cmath>

#include "tensor/backend.hpp"
#include "tensor/cpu/elementwise_kernel.hpp"
#include "tensor/cpu/fast_math.hpp"
#include "tensor/ops/elementwise.hpp"
#include "tensor/ops/nn_kernels.hpp"
#include "tensor/ops/pointwise_rules.hpp"
#include "tensor/ops/views.hpp"

namespace cj::ops {

namespace {

DType float_result(DType t) { return is_floating(t) ? t : DType::f32; }

// out = f(x) in x's floating dtype (f32 for integer/bool x); f is generic over float/double.
template <typename F>
Tensor float_unary(const char* op, const Tensor& x, F f) {
  cpu::check_cpu(op, x);
  Tensor in = to(x, float_result(x.dtype()));
  Tensor out = Tensor::empty(in.shape(), in.dtype());
  dispatch_floating(in.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    cpu::map1<T, T>(out, in, f);
  });
  return out;
}

// out = f(x) in x's own dtype; bool inputs are rejected with torch's wording.
template <typename F>
Tensor same_dtype_unary(const char* op, const Tensor& x, F f) {
  cpu::check_cpu(op, x);
  CJ_CHECK(x.dtype() != DType::b8, op, ": not supported for bool tensors (got ", x.describe(), ")");
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  dispatch_numeric(x.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    cpu::map1<T, T>(out, x, f);
  });
  return out;
}

template <typename C>
constexpr C kSqrt2OverPi = C(0.79788456080286535588);  // sqrt(2/pi)
template <typename C>
constexpr C kInvSqrt2Pi = C(0.39894228040143267794);  // 1/sqrt(2 pi)
template <typename C>
constexpr C kGeluKappa = C(0.044715);

}  // namespace

Tensor neg(const Tensor& x) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&), "neg", x, x);
  return same_dtype_unary("neg", x, [](auto v) { return -v; });
}
Tensor abs(const Tensor& x) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&), "abs", x, x);
  return same_dtype_unary("abs", x, [](auto v) { return pointwise::abs_value(v); });
}
Tensor relu(const Tensor& x) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&), "relu", x, x);
  // NaN stays NaN: the comparison is false for NaN, so v itself is returned.
  return same_dtype_unary("relu", x, [](auto v) { return v < 0 ? decltype(v)(0) : v; });
}
Tensor square(const Tensor& x) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&), "square", x, x);
  // torch.square(bool) is pow(x, 2) in int64
  return same_dtype_unary("square", x.dtype() == DType::b8 ? to(x, DType::i64) : x, [](auto v) { return v * v; });
}

Tensor sign(const Tensor& x) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&), "sign", x, x);
  cpu::check_cpu("sign", x);
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  dispatch_all(x.dtype(), "sign", [&](auto tag) {
    using T = typename decltype(tag)::type;
    cpu::map1<T, T>(out, x, [](auto v) { return pointwise::sign_value(v); });
  });
  return out;
}

Tensor exp(const Tensor& x) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&), "exp", x, x);
  return float_unary("exp", x, [](auto v) { return std::exp(v); });
}
Tensor log(const Tensor& x) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&), "log", x, x);
  return float_unary("log", x, [](auto v) { return std::log(v); });
}
Tensor log1p(const Tensor& x) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&), "log1p", x, x);
  return float_unary("log1p", x, [](auto v) { return std::log1p(v); });
}
Tensor expm1(const Tensor& x) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&), "expm1", x, x);
  return float_unary("expm1", x, [](auto v) { return std::expm1(v); });
}
Tensor sqrt(const Tensor& x) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&), "sqrt", x, x);
  return float_unary("sqrt", x, [](auto v) { return std::sqrt(v); });
}
Tensor rsqrt(const Tensor& x) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&), "rsqrt", x, x);
  return float_unary("rsqrt", x, [](auto v) { return decltype(v)(1) / std::sqrt(v); });
}
Tensor reciprocal(const Tensor& x) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&), "reciprocal", x, x);
  return float_unary("reciprocal", x, [](auto v) { return decltype(v)(1) / v; });
}
Tensor sin(const Tensor& x) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&), "sin", x, x);
  return float_unary("sin", x, [](auto v) { return std::sin(v); });
}
Tensor cos(const Tensor& x) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&), "cos", x, x);
  return float_unary("cos", x, [](auto v) { return std::cos(v); });
}
Tensor tanh(const Tensor& x) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&), "tanh", x, x);
  return float_unary("tanh", x, [](auto v) { return std::tanh(v); });
}
Tensor erf(const Tensor& x) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&), "erf", x, x);
  return float_unary("erf", x, [](auto v) { return std::erf(v); });
}
Tensor sigmoid(const Tensor& x) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&), "sigmoid", x, x);
  return float_unary("sigmoid", x, [](auto v) { return decltype(v)(1) / (decltype(v)(1) + cpu::fast_exp(-v)); });
}

Tensor logical_not(const Tensor& x) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&), "logical_not", x, x);
  cpu::check_cpu("logical_not", x);
  Tensor out = Tensor::empty(x.shape(), DType::b8);
  dispatch_all(x.dtype(), "logical_not", [&](auto tag) {
    using T = typename decltype(tag)::type;
    cpu::map1<bool, T>(out, x, [](auto v) { return v == decltype(v)(0); });
  });
  return out;
}

// ---- gelu: forward and backward ------------------------------------------------------------------
// exact:  gelu(x) = x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2))
// tanh:   gelu(x) = 0.5 x (1 + tanh(u)),  u = sqrt(2/pi) (x + 0.044715 x^3)
//                  = x / (1 + exp(-2u))       (the same value; one vectorisable exp, no cancellation)

Tensor gelu(const Tensor& x, GeluApprox approx) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&, GeluApprox), "gelu", x, x, approx);
  cpu::check_cpu("gelu", x);
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  dispatch_floating(x.dtype(), "gelu", [&](auto tag) {
    using T = typename decltype(tag)::type;
    using C = cpu::compute_t<T>;
    if (approx == GeluApprox::tanh) {
      cpu::map1<T, T>(out, x, [](C v) {
        C u = kSqrt2OverPi<C> * (v + kGeluKappa<C> * v * v * v);
        return v / (C(1) + cpu::fast_exp(C(-2) * u));
      });
    } else {
      cpu::map1<T, T>(out, x, [](C v) { return cpu::gelu_erf(v); });
    }
  });
  return out;
}

// ---- clamp ------------------------------------------------------------------------------------------

namespace {
DType clamp_result_type(const Tensor& x, const std::optional<Scalar>& lo, const std::optional<Scalar>& hi) {
  DType t = x.dtype();
  if (lo) t = result_type(t, *lo);
  if (hi) t = result_type(t, *hi);
  return t;
}

// dst = clamp(src) with src already in dst's dtype (dst may be src itself).
void clamp_into(const Tensor& dst, const Tensor& src, const std::optional<Scalar>& lo,
                const std::optional<Scalar>& hi) {
  dispatch_numeric(dst.dtype(), "clamp", [&](auto tag) {
    using T = typename decltype(tag)::type;
    using C = cpu::compute_t<T>;
    const C l = lo ? lo->to<C>() : C(0), h = hi ? hi->to<C>() : C(0);
    const bool has_lo = lo.has_value(), has_hi = hi.has_value();
    cpu::map1<T, T>(dst, src, [=](C v) { return pointwise::clamp_value(v, has_lo, l, has_hi, h); });
  });
}
}  // namespace

Tensor clamp(const Tensor& x, std::optional<Scalar> min, std::optional<Scalar> max) {
  CJ_FORWARD_TO_DEVICE(decltype(clamp), "clamp", x, x, min, max);
  cpu::check_cpu("clamp", x);
  CJ_CHECK(min || max, "clamp: at least one of min and max must be given");
  CJ_CHECK(x.dtype() != DType::b8, "clamp: not supported for bool tensors (got ", x.describe(), ")");
  Tensor in = to(x, clamp_result_type(x, min, max));
  Tensor out = Tensor::empty(in.shape(), in.dtype());
  clamp_into(out, in, min, max);
  return out;
}

void clamp_(const Tensor& self, std::optional<Scalar> min, std::optional<Scalar> max) {
  CJ_FORWARD_TO_DEVICE(decltype(clamp_), "clamp_", self, self, min, max);
  cpu::check_cpu("clamp_", self);
  CJ_CHECK(min || max, "clamp_: at least one of min and max must be given");
  DType rt = clamp_result_type(self, min, max);
  CJ_CHECK(rt == self.dtype(), "clamp_: result type ", dtype_name(rt), " can't be cast to the destination type ",
           dtype_name(self.dtype()), " in place");
  CJ_CHECK(self.dtype() != DType::b8, "clamp_: not supported for bool tensors");
  clamp_into(self, self, min, max);
  self.bump_version();
}

}  // namespace cj::ops
