// Pointwise ops: arithmetic with broadcasting and PyTorch's promotion, unary maths, activations
// and gelu's backward. Mixed-dtype inputs are converted to the result dtype first, so each kernel
// sees one element type.
#include "cuda/gelu.cuh"
#include "cuda/launch.cuh"
#include "cuda/math.cuh"
#include "cuda/ops.hpp"
#include "tensor/dispatch.hpp"

namespace cj::cuda {

namespace {

// ---- functors: math type M in, M out ---------------------------------------------------------------
template <typename M> struct AddAlpha { M alpha; __device__ M operator()(M a, M b) const { return a + alpha * b; } };
template <typename M> struct Mul { __device__ M operator()(M a, M b) const { return a * b; } };
template <typename M> struct Div { __device__ M operator()(M a, M b) const { return a / b; } };
template <typename M> struct AddScalar { M s; __device__ M operator()(M a) const { return a + s; } };
template <typename M> struct SubScalar { M s; __device__ M operator()(M a) const { return a - s; } };
template <typename M> struct MulScalar { M s; __device__ M operator()(M a) const { return a * s; } };
template <typename M> struct DivScalar { M s; __device__ M operator()(M a) const { return a / s; } };
template <typename M> struct Neg { __device__ M operator()(M a) const { return -a; } };
template <typename M> struct Exp { __device__ M operator()(M a) const { return dmath::exp(a); } };
template <typename M> struct Log { __device__ M operator()(M a) const { return dmath::log(a); } };
template <typename M> struct Sqrt { __device__ M operator()(M a) const { return dmath::sqrt(a); } };
template <typename M> struct Rsqrt { __device__ M operator()(M a) const { return dmath::rsqrt(a); } };
template <typename M> struct Tanh { __device__ M operator()(M a) const { return dmath::tanh(a); } };
template <typename M> struct Sigmoid { __device__ M operator()(M a) const { return M(1) / (M(1) + dmath::exp(-a)); } };
template <typename M> struct Relu { __device__ M operator()(M a) const { return a > M(0) ? a : (a != a ? a : M(0)); } };

enum class Dtypes { all, numeric, floating };  // all: add and mul, which the CPU ops take for bool too

template <Dtypes which, typename F>
void dispatch(DType t, const char* op, F&& f) {
  if constexpr (which == Dtypes::floating) dispatch_floating(t, op, f);
  else if constexpr (which == Dtypes::numeric) dispatch_numeric(t, op, f);
  else dispatch_all(t, op, f);
}

// out = Functor<M>{args...}(a, b) with a, b broadcast and promoted.
template <Dtypes which, typename MakeFunctor>
Tensor binary(const char* op, const Tensor& a, const Tensor& b, bool int_to_float, MakeFunctor make) {
  check_cuda(op, a);
  check_cuda(op, b);
  DType rt = promote_types(a.dtype(), b.dtype());
  if (int_to_float && !is_floating(rt)) rt = DType::f32;
  Tensor out = Tensor::empty(broadcast_shapes(a.shape(), b.shape(), op), {rt, a.device()});
  Tensor ac = as_dtype(a, rt), bc = as_dtype(b, rt);
  dispatch<which>(rt, op, [&](auto tag) {
    using T = device_t<typename decltype(tag)::type>;
    launch_elementwise<T, 2>(op, out, {ac, bc}, make(type_tag<math_t<T>>{}));
  });
  return out;
}

// out = Functor(x) with integer inputs promoted to f32 when the op is a float op.
template <Dtypes which, typename MakeFunctor>
Tensor unary(const char* op, const Tensor& x, DType rt, MakeFunctor make) {
  check_cuda(op, x);
  Tensor out = Tensor::empty(x.shape(), {rt, x.device()});
  Tensor xc = as_dtype(x, rt);
  dispatch<which>(rt, op, [&](auto tag) {
    using T = device_t<typename decltype(tag)::type>;
    launch_elementwise<T, 1>(op, out, {xc}, make(type_tag<math_t<T>>{}));
  });
  return out;
}

DType float_result(DType t) { return is_floating(t) ? t : DType::f32; }

template <template <typename> class Functor>
Tensor float_unary(const char* op, const Tensor& x) {
  return unary<Dtypes::floating>(op, x, float_result(x.dtype()), [](auto m) {
    return Functor<typename decltype(m)::type>{};
  });
}

template <template <typename> class Functor, Dtypes which = Dtypes::numeric>
Tensor scalar_op(const char* op, const Tensor& a, Scalar s, bool int_to_float) {
  DType rt = promote_with_scalar(a.dtype(), s);
  if (int_to_float) rt = float_result(rt);
  return unary<which>(op, a, rt, [&](auto m) {
    using M = typename decltype(m)::type;
    return Functor<M>{s.to<M>()};
  });
}

}  // namespace

namespace {
// The CPU ops' argument rules for add/sub: no floating alpha for an integral result, no bool sub.
void check_add_args(const char* op, const Tensor& a, const Tensor& b, const Scalar& alpha, bool is_sub) {
  check_cuda(op, a);
  check_cuda(op, b);
  const DType rt = promote_types(a.dtype(), b.dtype());
  CJ_CHECK(!is_sub || rt != DType::b8, op, ": not supported for bool tensors; use logical_xor instead");
  CJ_CHECK(is_floating(rt) || alpha.kind != Scalar::Kind::floating, op, ": for integral inputs (", dtype_name(rt),
           "), alpha must not be a floating point number (got ", alpha.f, ")");
}
}  // namespace

Tensor add(const Tensor& a, const Tensor& b, Scalar alpha) {
  check_add_args("add", a, b, alpha, false);
  return binary<Dtypes::all>("add", a, b, false, [&](auto m) {
    using M = typename decltype(m)::type;
    return AddAlpha<M>{alpha.to<M>()};
  });
}
Tensor sub(const Tensor& a, const Tensor& b, Scalar alpha) {
  check_add_args("sub", a, b, alpha, true);
  return binary<Dtypes::numeric>("sub", a, b, false, [&](auto m) {
    using M = typename decltype(m)::type;
    return AddAlpha<M>{M(-alpha.to<M>())};
  });
}
Tensor mul(const Tensor& a, const Tensor& b) {
  return binary<Dtypes::all>("mul", a, b, false, [](auto m) { return Mul<typename decltype(m)::type>{}; });
}
Tensor div(const Tensor& a, const Tensor& b) {
  return binary<Dtypes::floating>("div", a, b, true, [](auto m) { return Div<typename decltype(m)::type>{}; });
}

Tensor add_scalar(const Tensor& a, Scalar b) { return scalar_op<AddScalar, Dtypes::all>("add", a, b, false); }
Tensor sub_scalar(const Tensor& a, Scalar b) { return scalar_op<SubScalar>("sub", a, b, false); }
Tensor mul_scalar(const Tensor& a, Scalar b) { return scalar_op<MulScalar, Dtypes::all>("mul", a, b, false); }
Tensor div_scalar(const Tensor& a, Scalar b) { return scalar_op<DivScalar>("div", a, b, true); }

Tensor neg(const Tensor& x) {
  return unary<Dtypes::numeric>("neg", x, x.dtype(), [](auto m) { return Neg<typename decltype(m)::type>{}; });
}
Tensor exp(const Tensor& x) { return float_unary<Exp>("exp", x); }
Tensor log(const Tensor& x) { return float_unary<Log>("log", x); }
Tensor sqrt(const Tensor& x) { return float_unary<Sqrt>("sqrt", x); }
Tensor rsqrt(const Tensor& x) { return float_unary<Rsqrt>("rsqrt", x); }
Tensor tanh(const Tensor& x) { return float_unary<Tanh>("tanh", x); }
Tensor sigmoid(const Tensor& x) { return float_unary<Sigmoid>("sigmoid", x); }
Tensor relu(const Tensor& x) {
  return unary<Dtypes::numeric>("relu", x, x.dtype(), [](auto m) { return Relu<typename decltype(m)::type>{}; });
}
Tensor gelu(const Tensor& x, GeluApprox approx) {
  return approx == GeluApprox::tanh ? float_unary<GeluTanh>("gelu", x) : float_unary<GeluErf>("gelu", x);
}

Tensor gelu_backward(const Tensor& gy, const Tensor& x, GeluApprox approx) {
  CJ_CHECK(gy.shape() == x.shape(), "gelu_backward: gy ", gy.shape(), " and x ", x.shape(), " differ in shape");
  if (approx == GeluApprox::tanh)
    return binary<Dtypes::floating>("gelu_backward", gy, x, true,
                                    [](auto m) { return GeluTanhBackward<typename decltype(m)::type>{}; });
  return binary<Dtypes::floating>("gelu_backward", gy, x, true,
                                 [](auto m) { return GeluErfBackward<typename decltype(m)::type>{}; });
}

}  // namespace cj::cuda
