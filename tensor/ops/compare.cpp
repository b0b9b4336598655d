// Comparisons, logical ops and where (bool results), plus the allclose / max_rel_error test helpers.
#include <algorithm>
#include <cmath>

#include "tensor/backend.hpp"
#include "tensor/cpu/elementwise_kernel.hpp"
#include "tensor/ops/elementwise.hpp"

namespace cj::ops {

namespace {

// a `f` b elementwise -> bool, compared in the promoted dtype of a and b.
template <typename F>
Tensor compare(const char* op, const Tensor& a, const Tensor& b, DType compute, F f) {
  cpu::check_cpu(op, a);
  cpu::check_cpu(op, b);
  Tensor out = Tensor::empty(broadcast_shapes(a.shape(), b.shape(), op), DType::b8);
  cpu::binary_into(op, out, a, b, compute, f);
  return out;
}

template <typename F>
Tensor compare(const char* op, const Tensor& a, const Tensor& b, F f) {
  return compare(op, a, b, cpu::promoted(op, a, b), f);
}

template <typename F>
Tensor compare(const char* op, const Tensor& a, const Scalar& s, F f) {
  DType compute = cpu::promoted(op, a, s);
  Tensor out = Tensor::empty(a.shape(), DType::b8);
  cpu::scalar_into(op, out, a, s, compute, f);
  return out;
}

const auto kEq = [](auto x, auto y) { return x == y; };
const auto kNe = [](auto x, auto y) { return x != y; };
const auto kLt = [](auto x, auto y) { return x < y; };
const auto kLe = [](auto x, auto y) { return x <= y; };
const auto kGt = [](auto x, auto y) { return x > y; };
const auto kGe = [](auto x, auto y) { return x >= y; };

template <typename C>
bool truthy(C v) {
  return v != C(0);  // NaN is truthy, as in torch
}

}  // namespace

Tensor eq(const Tensor& a, const Tensor& b) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&, const Tensor&), "eq", a, a, b);
  return compare("eq", a, b, kEq);
}
Tensor ne(const Tensor& a, const Tensor& b) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&, const Tensor&), "ne", a, a, b);
  return compare("ne", a, b, kNe);
}
Tensor lt(const Tensor& a, const Tensor& b) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&, const Tensor&), "lt", a, a, b);
  return compare("lt", a, b, kLt);
}
Tensor le(const Tensor& a, const Tensor& b) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&, const Tensor&), "le", a, a, b);
  return compare("le", a, b, kLe);
}
Tensor gt(const Tensor& a, const Tensor& b) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&, const Tensor&), "gt", a, a, b);
  return compare("gt", a, b, kGt);
}
Tensor ge(const Tensor& a, const Tensor& b) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&, const Tensor&), "ge", a, a, b);
  return compare("ge", a, b, kGe);
}
Tensor eq(const Tensor& a, Scalar b) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&, Scalar), "eq.scalar", a, a, b);
  return compare("eq", a, b, kEq);
}
Tensor ne(const Tensor& a, Scalar b) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&, Scalar), "ne.scalar", a, a, b);
  return compare("ne", a, b, kNe);
}
Tensor lt(const Tensor& a, Scalar b) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&, Scalar), "lt.scalar", a, a, b);
  return compare("lt", a, b, kLt);
}
Tensor le(const Tensor& a, Scalar b) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&, Scalar), "le.scalar", a, a, b);
  return compare("le", a, b, kLe);
}
Tensor gt(const Tensor& a, Scalar b) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&, Scalar), "gt.scalar", a, a, b);
  return compare("gt", a, b, kGt);
}
Tensor ge(const Tensor& a, Scalar b) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&, Scalar), "ge.scalar", a, a, b);
  return compare("ge", a, b, kGe);
}

Tensor logical_and(const Tensor& a, const Tensor& b) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&, const Tensor&), "logical_and", a, a, b);
  return compare("logical_and", a, b, [](auto x, auto y) { return truthy(x) && truthy(y); });
}
Tensor logical_or(const Tensor& a, const Tensor& b) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&, const Tensor&), "logical_or", a, a, b);
  return compare("logical_or", a, b, [](auto x, auto y) { return truthy(x) || truthy(y); });
}
Tensor logical_xor(const Tensor& a, const Tensor& b) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&, const Tensor&), "logical_xor", a, a, b);
  return compare("logical_xor", a, b, [](auto x, auto y) { return truthy(x) != truthy(y); });
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  CJ_FORWARD_TO_DEVICE(decltype(where), "where", cond, cond, a, b);
  for (const Tensor* t : {&cond, &a, &b}) cpu::check_cpu("where", *t);
  CJ_CHECK(cond.dtype() == DType::b8, "where: condition must be a bool tensor, got ", cond.describe());
  Shape shape = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  DType rt = result_type(a.dtype(), b.dtype());
  Tensor ac = to(a, rt), bc = to(b, rt);
  Tensor out = Tensor::empty(shape, rt);
  dispatch_all(rt, "where", [&](auto tag) {
    using T = typename decltype(tag)::type;
    cpu::map3<T, bool, T>(out, cond, ac, bc, [](bool c, auto x, auto y) { return c ? x : y; });
  });
  return out;
}

// ---- test helpers: they compare on the host, so either tensor may live on a device ----------------

namespace {
Tensor on_host(const Tensor& t) { return t.defined() ? to(t, Device::cpu()) : t; }
}  // namespace

bool allclose(const Tensor& a, const Tensor& b, double rtol, double atol, bool equal_nan) {
  Tensor close = compare("allclose", on_host(a), on_host(b), DType::f64, [=](double x, double y) {
    if (x == y) return true;  // also equal infinities
    if (std::isnan(x) || std::isnan(y)) return equal_nan && std::isnan(x) && std::isnan(y);
    if (std::isinf(x) || std::isinf(y)) return false;
    return std::fabs(x - y) <= atol + rtol * std::fabs(y);
  });
  const bool* p = close.data<bool>();  // fresh, contiguous
  return std::all_of(p, p + close.numel(), [](bool c) { return c; });
}

double max_rel_error(const Tensor& a, const Tensor& b) {
  cpu::check_cpu("max_rel_error", on_host(a));
  cpu::check_cpu("max_rel_error", on_host(b));
  CJ_CHECK(a.shape() == b.shape(), "max_rel_error: shapes ", a.shape(), " and ", b.shape(), " differ");
  Tensor x = contiguous(to(on_host(a), DType::f64)), y = contiguous(to(on_host(b), DType::f64));
  const double *px = x.data<double>(), *py = y.data<double>();
  double max_diff = 0, max_ref = 0;
  for (int64_t i = 0; i < x.numel(); ++i) {
    if (std::isnan(px[i]) || std::isnan(py[i])) return std::nan("");  // any NaN fails a "<= tol" check
    double d = px[i] == py[i] ? 0.0 : std::fabs(px[i] - py[i]);  // equal infinities differ by 0
    max_diff = std::max(max_diff, d);
    max_ref = std::max(max_ref, std::fabs(py[i]));
  }
  return max_diff / std::max(max_ref, 1e-12);
}

}  // namespace cj::ops
