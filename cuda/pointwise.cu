// The remaining pointwise maths: abs, sign, square, reciprocal, sin, cos, erf, log1p, expm1, clamp,
// pow, rsub, maximum, minimum. dtypes follow the CPU ops (float ops promote integers to f32;
// sign-preserving ops keep the dtype); the per-element rules are tensor/ops/pointwise_rules.hpp.
#include "cuda/launch.cuh"
#include "cuda/math.cuh"
#include "cuda/ops.hpp"
#include "tensor/ops/pointwise_rules.hpp"
#include "tensor/dispatch.hpp"
#include "tensor/ops/elementwise.hpp"

namespace cj::cuda {

namespace {

template <typename M> struct Abs { __device__ M operator()(M v) const { return pointwise::abs_value(v); } };
template <typename M> struct Sign { __device__ M operator()(M v) const { return pointwise::sign_value(v); } };
template <typename M> struct Square { __device__ M operator()(M v) const { return v * v; } };
template <typename M> struct Reciprocal { __device__ M operator()(M v) const { return M(1) / v; } };
template <typename M> struct Sin { __device__ M operator()(M v) const { return dmath::sin(v); } };
template <typename M> struct Cos { __device__ M operator()(M v) const { return dmath::cos(v); } };
template <typename M> struct Erf { __device__ M operator()(M v) const { return dmath::erf(v); } };
template <typename M> struct Log1p { __device__ M operator()(M v) const { return dmath::log1p(v); } };
template <typename M> struct Expm1 { __device__ M operator()(M v) const { return dmath::expm1(v); } };
template <typename M> struct Clamp {
  bool has_lo, has_hi;
  M lo, hi;
  __device__ M operator()(M v) const { return pointwise::clamp_value(v, has_lo, lo, has_hi, hi); }
};
template <typename M> struct Pow { __device__ M operator()(M a, M b) const { return pointwise::pow_value(a, b); } };
template <typename M> struct PowScalar {
  M e;
  __device__ M operator()(M a) const { return pointwise::pow_value(a, e); }
};
template <typename M> struct RsubScalar {
  M s;
  __device__ M operator()(M a) const { return s - a; }
};
template <typename M> struct Maximum { __device__ M operator()(M a, M b) const { return pointwise::maximum_value(a, b); } };
template <typename M> struct Minimum { __device__ M operator()(M a, M b) const { return pointwise::minimum_value(a, b); } };

DType float_result(DType t) { return is_floating(t) ? t : DType::f32; }

// The host value of a Scalar in math type M (16-bit floats compute in float).
template <typename M> M scalar_as(const Scalar& s) { return s.to<M>(); }

// out = Functor<M>(x) in dtype rt (x converted first); which dtypes are allowed is dispatch's.
template <template <typename> class Functor, typename Dispatch, typename... Args>
Tensor map_unary(const char* op, const Tensor& x, DType rt, Dispatch dispatch, const Args&... args) {
  check_cuda(op, x);
  Tensor out = Tensor::empty(x.shape(), {rt, x.device()});
  Tensor xc = as_dtype(x, rt);
  dispatch(rt, op, [&](auto tag) {
    using T = device_t<typename decltype(tag)::type>;
    using M = math_t<T>;
    launch_elementwise<T, 1>(op, out, {xc}, Functor<M>{args.template get<M>()...});
  });
  return out;
}

template <template <typename> class Functor>
Tensor map_binary(const char* op, const Tensor& a, const Tensor& b) {
  check_cuda(op, a);
  check_cuda(op, b);
  const DType rt = ops::result_type(a.dtype(), b.dtype());
  Tensor out = Tensor::empty(broadcast_shapes(a.shape(), b.shape(), op), {rt, a.device()});
  Tensor ac = as_dtype(a, rt), bc = as_dtype(b, rt);
  dispatch_all(rt, op, [&](auto tag) {
    using T = device_t<typename decltype(tag)::type>;
    launch_elementwise<T, 2>(op, out, {ac, bc}, Functor<math_t<T>>{});
  });
  return out;
}

// A functor argument read in the functor's math type.
struct Arg {
  Scalar s;
  template <typename M> M get() const { return scalar_as<M>(s); }
};
struct Flag {
  bool b;
  template <typename M> bool get() const { return b; }
};

const auto kFloating = [](DType t, const char* op, auto&& f) { dispatch_floating(t, op, f); };
const auto kNumeric = [](DType t, const char* op, auto&& f) { dispatch_numeric(t, op, f); };
const auto kAll = [](DType t, const char* op, auto&& f) { dispatch_all(t, op, f); };

template <template <typename> class Functor>
Tensor float_unary(const char* op, const Tensor& x) {
  return map_unary<Functor>(op, x, float_result(x.dtype()), kFloating);
}

void check_not_bool(const char* op, const Tensor& x) {
  CJ_CHECK(x.dtype() != DType::b8, op, ": not supported for bool tensors (got ", x.describe(), ")");
}

}  // namespace

Tensor abs(const Tensor& x) {
  check_not_bool("abs", x);
  return map_unary<Abs>("abs", x, x.dtype(), kNumeric);
}
Tensor sign(const Tensor& x) { return map_unary<Sign>("sign", x, x.dtype(), kAll); }
Tensor square(const Tensor& x) {  // torch.square(bool) is pow(x, 2) in int64
  return map_unary<Square>("square", x, x.dtype() == DType::b8 ? DType::i64 : x.dtype(), kNumeric);
}
Tensor reciprocal(const Tensor& x) { return float_unary<Reciprocal>("reciprocal", x); }
Tensor sin(const Tensor& x) { return float_unary<Sin>("sin", x); }
Tensor cos(const Tensor& x) { return float_unary<Cos>("cos", x); }
Tensor erf(const Tensor& x) { return float_unary<Erf>("erf", x); }
Tensor log1p(const Tensor& x) { return float_unary<Log1p>("log1p", x); }
Tensor expm1(const Tensor& x) { return float_unary<Expm1>("expm1", x); }

Tensor clamp(const Tensor& x, std::optional<Scalar> min, std::optional<Scalar> max) {
  CJ_CHECK(min || max, "clamp: at least one of min and max must be given");
  check_not_bool("clamp", x);
  DType rt = x.dtype();
  if (min) rt = ops::result_type(rt, *min);
  if (max) rt = ops::result_type(rt, *max);
  return map_unary<Clamp>("clamp", x, rt, kNumeric, Flag{min.has_value()}, Flag{max.has_value()},
                          Arg{min.value_or(Scalar(0))}, Arg{max.value_or(Scalar(0))});
}

Tensor pow(const Tensor& a, const Tensor& b) { return map_binary<Pow>("pow", a, b); }
Tensor maximum(const Tensor& a, const Tensor& b) { return map_binary<Maximum>("maximum", a, b); }
Tensor minimum(const Tensor& a, const Tensor& b) { return map_binary<Minimum>("minimum", a, b); }

Tensor pow_scalar(const Tensor& a, Scalar exponent) {
  const DType rt = ops::result_type(a.dtype(), exponent);
  CJ_CHECK(is_floating(rt) || exponent.i >= 0, "pow: integers to negative integer powers are not allowed (",
           a.describe(), " ** ", exponent.i, ")");
  return map_unary<PowScalar>("pow", a, rt, kAll, Arg{exponent});
}

Tensor rsub_scalar(const Tensor& a, Scalar b) {
  const DType rt = ops::result_type(a.dtype(), b);
  CJ_CHECK(rt != DType::b8, "rsub: not supported for bool tensors; use logical_xor instead");
  return map_unary<RsubScalar>("rsub", a, rt, kNumeric, Arg{b});
}

}  // namespace cj::cuda
