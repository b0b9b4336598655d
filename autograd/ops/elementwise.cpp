#include "autograd/ops/elementwise.hpp"

#include <cmath>

#include "autograd/autocast.hpp"
#include "autograd/function.hpp"
#include "tensor/ops/creation.hpp"
#include "tensor/ops/nn_kernels.hpp"
#include "tensor/ops/views.hpp"

namespace cj {

namespace {

// The usual unary op: y = forward(x); backward(gy, x, y) with x and y saved only when asked for.
enum Keep { keep_x = 1, keep_y = 2 };
template <typename Backward>
Tensor unary(const char* op, const Tensor& x, Tensor y, int keep, Backward backward) {
  record(op, y, {x}, {keep & keep_x ? x : Tensor(), keep & keep_y ? y : Tensor()},
         [backward](Node& n, const Tensor& gy) -> Grads { return {backward(gy, n.saved(0), n.saved(1))}; });
  return y;
}

}  // namespace

// ---- unary ------------------------------------------------------------------------------------

Tensor neg(const Tensor& x) {
  return unary("neg", x, ops::neg(x), 0, [](const Tensor& gy, const Tensor&, const Tensor&) { return ops::neg(gy); });
}

Tensor abs(const Tensor& x) {
  return unary("abs", x, ops::abs(x), keep_x,
               [](const Tensor& gy, const Tensor& x, const Tensor&) { return ops::mul(gy, ops::sign(x)); });
}

Tensor sign(const Tensor& x) {
  return unary("sign", x, ops::sign(x), 0,
               [](const Tensor& gy, const Tensor&, const Tensor&) { return zeros_like(gy); });
}

Tensor exp(const Tensor& x) {
  if (auto y = autocast_redispatch("exp", exp, x)) return *y;
  return unary("exp", x, ops::exp(x), keep_y,
               [](const Tensor& gy, const Tensor&, const Tensor& y) { return ops::mul(gy, y); });
}

Tensor log(const Tensor& x) {
  if (auto y = autocast_redispatch("log", log, x)) return *y;
  return unary("log", x, ops::log(x), keep_x,
               [](const Tensor& gy, const Tensor& x, const Tensor&) { return ops::div(gy, x); });
}

Tensor log1p(const Tensor& x) {
  if (auto y = autocast_redispatch("log1p", log1p, x)) return *y;
  return unary("log1p", x, ops::log1p(x), keep_x,
               [](const Tensor& gy, const Tensor& x, const Tensor&) { return ops::div(gy, ops::add(x, 1)); });
}

Tensor expm1(const Tensor& x) {  // d/dx (e^x - 1) = y + 1
  if (auto y = autocast_redispatch("expm1", expm1, x)) return *y;
  return unary("expm1", x, ops::expm1(x), keep_y,
               [](const Tensor& gy, const Tensor&, const Tensor& y) { return ops::mul(gy, ops::add(y, 1)); });
}

Tensor sqrt(const Tensor& x) {  // 1 / (2 sqrt x)
  return unary("sqrt", x, ops::sqrt(x), keep_y,
               [](const Tensor& gy, const Tensor&, const Tensor& y) { return ops::div(gy, ops::mul(y, 2)); });
}

Tensor rsqrt(const Tensor& x) {  // -x^(-3/2) / 2 = -y^3 / 2
  if (auto y = autocast_redispatch("rsqrt", rsqrt, x)) return *y;
  return unary("rsqrt", x, ops::rsqrt(x), keep_y, [](const Tensor& gy, const Tensor&, const Tensor& y) {
    return ops::mul(gy, ops::mul(ops::pow(y, 3), -0.5));
  });
}

Tensor reciprocal(const Tensor& x) {  // -1/x^2 = -y^2
  if (auto y = autocast_redispatch("reciprocal", reciprocal, x)) return *y;
  return unary("reciprocal", x, ops::reciprocal(x), keep_y,
               [](const Tensor& gy, const Tensor&, const Tensor& y) { return ops::mul(gy, ops::neg(ops::square(y))); });
}

Tensor square(const Tensor& x) {
  return unary("square", x, ops::square(x), keep_x,
               [](const Tensor& gy, const Tensor& x, const Tensor&) { return ops::mul(gy, ops::mul(x, 2)); });
}

Tensor sin(const Tensor& x) {
  return unary("sin", x, ops::sin(x), keep_x,
               [](const Tensor& gy, const Tensor& x, const Tensor&) { return ops::mul(gy, ops::cos(x)); });
}

Tensor cos(const Tensor& x) {
  return unary("cos", x, ops::cos(x), keep_x,
               [](const Tensor& gy, const Tensor& x, const Tensor&) { return ops::mul(gy, ops::neg(ops::sin(x))); });
}

Tensor tanh(const Tensor& x) {  // 1 - y^2
  return unary("tanh", x, ops::tanh(x), keep_y, [](const Tensor& gy, const Tensor&, const Tensor& y) {
    return ops::mul(gy, ops::rsub(ops::square(y), 1));
  });
}

Tensor erf(const Tensor& x) {  // 2/sqrt(pi) e^(-x^2)
  return unary("erf", x, ops::erf(x), keep_x, [](const Tensor& gy, const Tensor& x, const Tensor&) {
    return ops::mul(gy, ops::mul(ops::exp(ops::neg(ops::square(x))), 2.0 / std::sqrt(M_PI)));
  });
}

Tensor sigmoid(const Tensor& x) {  // y (1 - y)
  return unary("sigmoid", x, ops::sigmoid(x), keep_y, [](const Tensor& gy, const Tensor&, const Tensor& y) {
    return ops::mul(gy, ops::mul(y, ops::rsub(y, 1)));
  });
}

Tensor relu(const Tensor& x) {
  return unary("relu", x, ops::relu(x), keep_y,
               [](const Tensor& gy, const Tensor&, const Tensor& y) { return ops::mul(gy, ops::gt(y, 0)); });
}

Tensor gelu(const Tensor& x, GeluApprox approx) {
  return unary("gelu", x, ops::gelu(x, approx), keep_x, [approx](const Tensor& gy, const Tensor& x, const Tensor&) {
    return ops::gelu_backward(gy, x, approx);
  });
}

Tensor clamp(const Tensor& x, std::optional<Scalar> min, std::optional<Scalar> max) {
  // The gradient passes where x is inside [min, max] (bounds included, as torch).
  return unary("clamp", x, ops::clamp(x, min, max), keep_x,
               [min, max](const Tensor& gy, const Tensor& x, const Tensor&) {
                 Tensor inside;
                 if (min) inside = ops::ge(x, *min);
                 if (max) inside = inside.defined() ? ops::logical_and(inside, ops::le(x, *max)) : ops::le(x, *max);
                 return inside.defined() ? ops::mul(gy, inside) : gy;
               });
}

// ---- binary -----------------------------------------------------------------------------------

Tensor add(const Tensor& a, const Tensor& b, Scalar alpha) {
  Tensor y = ops::add(a, b, alpha);
  record("add", y, {a, b}, {}, [alpha](Node& n, const Tensor& gy) -> Grads {
    return {n.needs_grad(0) ? sum_to(gy, n.inputs[0].shape) : Tensor(),
            n.needs_grad(1) ? sum_to(ops::mul(gy, alpha), n.inputs[1].shape) : Tensor()};
  });
  return y;
}

Tensor sub(const Tensor& a, const Tensor& b, Scalar alpha) {
  Tensor y = ops::sub(a, b, alpha);
  record("sub", y, {a, b}, {}, [alpha](Node& n, const Tensor& gy) -> Grads {
    return {n.needs_grad(0) ? sum_to(gy, n.inputs[0].shape) : Tensor(),
            n.needs_grad(1) ? sum_to(ops::mul(gy, -alpha.f), n.inputs[1].shape) : Tensor()};
  });
  return y;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor y = ops::mul(a, b);
  record("mul", y, {a, b}, {keep_if_needed(a, b), keep_if_needed(b, a)}, [](Node& n, const Tensor& gy) -> Grads {
    return {n.needs_grad(0) ? sum_to(ops::mul(gy, n.saved(1)), n.inputs[0].shape) : Tensor(),
            n.needs_grad(1) ? sum_to(ops::mul(gy, n.saved(0)), n.inputs[1].shape) : Tensor()};
  });
  return y;
}

Tensor div(const Tensor& a, const Tensor& b) {  // d/da = 1/b, d/db = -a/b^2 = -y/b
  Tensor y = ops::div(a, b);
  record("div", y, {a, b}, {b, keep_if_needed(y, b)}, [](Node& n, const Tensor& gy) -> Grads {
    Tensor b = n.saved(0);
    Tensor ga = ops::div(gy, b);
    return {n.needs_grad(0) ? sum_to(ga, n.inputs[0].shape) : Tensor(),
            n.needs_grad(1) ? sum_to(ops::neg(ops::mul(ga, n.saved(1))), n.inputs[1].shape) : Tensor()};
  });
  return y;
}

Tensor pow(const Tensor& a, const Tensor& b) {  // d/da = b a^(b-1), d/db = y log a (0 where a = 0)
  auto tensor_pow = [](const Tensor& base, const Tensor& exponent) { return pow(base, exponent); };
  if (auto y = autocast_redispatch("pow", tensor_pow, a, b)) return *y;
  Tensor y = ops::pow(a, b);
  record("pow", y, {a, b}, {a, b, keep_if_needed(y, b)}, [](Node& n, const Tensor& gy) -> Grads {
    Tensor a = n.saved(0), b = n.saved(1);
    Tensor ga, gb;
    if (n.needs_grad(0)) ga = sum_to(ops::mul(gy, ops::mul(b, ops::pow(a, ops::sub(b, 1)))), n.inputs[0].shape);
    if (n.needs_grad(1)) {
      Tensor log_a = ops::where(ops::eq(a, 0), zeros({}, options_of(gy)), ops::log(a));
      gb = sum_to(ops::mul(gy, ops::mul(n.saved(2), log_a)), n.inputs[1].shape);
    }
    return {ga, gb};
  });
  return y;
}

namespace {
// maximum/minimum: the winner takes the gradient, a tie splits it in half (as torch).
Tensor extremum(const char* op, const Tensor& a, const Tensor& b, bool is_max) {
  Tensor y = is_max ? ops::maximum(a, b) : ops::minimum(a, b);
  record(op, y, {a, b}, {a, b}, [is_max](Node& n, const Tensor& gy) -> Grads {
    Tensor a = n.saved(0), b = n.saved(1);
    Tensor a_wins = ops::add(ops::mul(is_max ? ops::gt(a, b) : ops::lt(a, b), 1.0), ops::mul(ops::eq(a, b), 0.5));
    Tensor ga = ops::mul(gy, a_wins);
    return {n.needs_grad(0) ? sum_to(ga, n.inputs[0].shape) : Tensor(),
            n.needs_grad(1) ? sum_to(ops::sub(gy, ga), n.inputs[1].shape) : Tensor()};
  });
  return y;
}
}  // namespace

Tensor maximum(const Tensor& a, const Tensor& b) { return extremum("maximum", a, b, true); }
Tensor minimum(const Tensor& a, const Tensor& b) { return extremum("minimum", a, b, false); }

Tensor add(const Tensor& a, Scalar b) {
  return unary("add", a, ops::add(a, b), 0, [](const Tensor& gy, const Tensor&, const Tensor&) { return gy; });
}

Tensor sub(const Tensor& a, Scalar b) {
  return unary("sub", a, ops::sub(a, b), 0, [](const Tensor& gy, const Tensor&, const Tensor&) { return gy; });
}

Tensor rsub(const Tensor& a, Scalar b) {
  return unary("rsub", a, ops::rsub(a, b), 0,
               [](const Tensor& gy, const Tensor&, const Tensor&) { return ops::neg(gy); });
}

Tensor mul(const Tensor& a, Scalar b) {
  return unary("mul", a, ops::mul(a, b), 0,
               [b](const Tensor& gy, const Tensor&, const Tensor&) { return ops::mul(gy, b); });
}

Tensor div(const Tensor& a, Scalar b) {
  return unary("div", a, ops::div(a, b), 0,
               [b](const Tensor& gy, const Tensor&, const Tensor&) { return ops::div(gy, b); });
}

Tensor pow(const Tensor& a, Scalar exponent) {  // e a^(e-1)
  auto scalar_pow = [](const Tensor& base, Scalar e) { return pow(base, e); };
  if (auto y = autocast_redispatch("pow", scalar_pow, a, exponent)) return *y;
  return unary("pow", a, ops::pow(a, exponent), keep_x, [exponent](const Tensor& gy, const Tensor& a, const Tensor&) {
    if (exponent.f == 0) return zeros_like(gy);
    return ops::mul(gy, ops::mul(ops::pow(a, exponent.f - 1), exponent));
  });
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  Tensor y = ops::where(cond, a, b);
  record("where", y, {a, b}, {cond}, [](Node& n, const Tensor& gy) -> Grads {
    Tensor cond = n.saved(0), zero = zeros({}, options_of(gy));
    return {n.needs_grad(0) ? sum_to(ops::where(cond, gy, zero), n.inputs[0].shape) : Tensor(),
            n.needs_grad(1) ? sum_to(ops::where(cond, zero, gy), n.inputs[1].shape) : Tensor()};
  });
  return y;
}

}  // namespace cj
