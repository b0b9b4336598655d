// Value reductions over any set of dims: sum, mean, prod, amax/amin, var/std, logsumexp, all/any.
// The loop strategy and summation accuracy are described in tensor/cpu/reduce_kernel.hpp.
#include "tensor/ops/reduction.hpp"

#include "tensor/backend.hpp"

#include <cmath>
#include <limits>

#include "tensor/cpu/reduce_kernel.hpp"

namespace cj::ops {

namespace {

using cpu::ReduceLayout;

// sum/prod of integers and bools give int64, as torch.
DType widened_integer_result(DType t) { return is_floating(t) ? t : DType::i64; }

// sum over the layout, each output finished by `post` (acc -> acc) and stored in out's dtype.
template <typename Post>
Tensor sum_like(const char* op, const ReduceLayout& L, DType out_dtype, const Post& post) {
  Tensor out = Tensor::empty(L.out_shape, out_dtype);
  dispatch_all(L.input.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = acc_t<T>;
    dispatch_all(out_dtype, op, [&](auto otag) {
      using O = typename decltype(otag)::type;
      O* o = out.data<O>();
      cpu::sum_reduce<A, T>(
          L, [](T v, int64_t) { return A(cpu::load(v)); }, [&](int64_t i, A s) { o[i] = cast_value<O>(post(s)); });
    });
  });
  return out;
}

template <typename Step>
Tensor fold_like(const char* op, const ReduceLayout& L, DType out_dtype, bool needs_elements, const Step& step,
                 double init) {
  CJ_CHECK(!needs_elements || L.reduce > 0 || L.out_numel() == 0, op,
           ": cannot reduce over a zero-size dimension (input shape ", L.input.shape(), ")");
  Tensor out = Tensor::empty(L.out_shape, out_dtype);
  dispatch_all(L.input.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = std::conditional_t<std::is_same_v<T, bool>, bool, acc_t<T>>;
    dispatch_all(out_dtype, op, [&](auto otag) {
      using O = typename decltype(otag)::type;
      O* o = out.data<O>();
      cpu::fold_reduce<A, T>(L, cast_value<A>(init), step, [&](int64_t i, A r) { o[i] = cast_value<O>(r); });
    });
  });
  return out;
}

// amax/amin: a fold from -inf/+inf (lowest/max for integers) with NaN-propagating steps.
Tensor extreme(const char* op, const Tensor& x, const Dims& dims, bool keepdim, bool is_max) {
  ReduceLayout L = cpu::plan_reduction(op, x, dims, keepdim);
  CJ_CHECK(L.reduce > 0 || L.out_numel() == 0, op, ": cannot reduce over a zero-size dimension (input shape ",
           x.shape(), ", dims ", Shape(dims), ")");
  Tensor out = Tensor::empty(L.out_shape, x.dtype());
  dispatch_all(x.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = cpu::compute_t<T>;
    using lim = std::numeric_limits<A>;
    A init = is_max ? lim::lowest() : lim::max();
    if constexpr (lim::has_infinity) init = is_max ? -lim::infinity() : lim::infinity();
    T* o = out.data<T>();
    auto store = [&](int64_t i, A r) { o[i] = cast_value<T>(r); };
    if (is_max) cpu::fold_reduce<A, T>(L, init, cpu::MaxStep{}, store);
    else cpu::fold_reduce<A, T>(L, init, cpu::MinStep{}, store);
  });
  return out;
}

}  // namespace

using ReduceSig = Tensor(const Tensor&, const Dims&, bool);

Tensor sum(const Tensor& x, const Dims& dims, bool keepdim) {
  CJ_FORWARD_TO_DEVICE(ReduceSig, "sum", x, x, dims, keepdim);
  ReduceLayout L = cpu::plan_reduction("sum", x, dims, keepdim);
  return sum_like("sum", L, widened_integer_result(x.dtype()), [](auto s) { return s; });
}

Tensor mean(const Tensor& x, const Dims& dims, bool keepdim) {
  CJ_FORWARD_TO_DEVICE(ReduceSig, "mean", x, x, dims, keepdim);
  cpu::check_cpu("mean", x);
  Tensor xf = is_floating(x.dtype()) ? x : to(x, DType::f32);
  ReduceLayout L = cpu::plan_reduction("mean", xf, dims, keepdim);
  const double n = double(L.reduce);
  return sum_like("mean", L, xf.dtype(), [n](auto s) { return s / decltype(s)(n); });
}

Tensor prod(const Tensor& x, const Dims& dims, bool keepdim) {
  CJ_FORWARD_TO_DEVICE(ReduceSig, "prod", x, x, dims, keepdim);
  ReduceLayout L = cpu::plan_reduction("prod", x, dims, keepdim);
  return fold_like("prod", L, widened_integer_result(x.dtype()), false, [](auto a, auto v) { return a * v; }, 1);
}

Tensor amax(const Tensor& x, const Dims& dims, bool keepdim) {
  CJ_FORWARD_TO_DEVICE(ReduceSig, "amax", x, x, dims, keepdim);
  return extreme("amax", x, dims, keepdim, true);
}
Tensor amin(const Tensor& x, const Dims& dims, bool keepdim) {
  CJ_FORWARD_TO_DEVICE(ReduceSig, "amin", x, x, dims, keepdim);
  return extreme("amin", x, dims, keepdim, false);
}

// Two passes (mean, then the cascade sum of squared deviations): as accurate as Welford and
// vectorisable.
Tensor var(const Tensor& x, const Dims& dims, bool unbiased, bool keepdim) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&, const Dims&, bool, bool), "var", x, x, dims, unbiased, keepdim);
  cpu::check_cpu("var", x);
  CJ_CHECK(is_floating(x.dtype()), "var: expected a floating dtype (f32, f64, bf16, f16), got ", dtype_name(x.dtype()));
  ReduceLayout L = cpu::plan_reduction("var", x, dims, keepdim);
  Tensor out = Tensor::empty(L.out_shape, x.dtype());
  dispatch_floating(x.dtype(), "var", [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = acc_t<T>;
    std::vector<A> means(L.out_numel());
    const A n = A(L.reduce), dof = A(L.reduce - (unbiased ? 1 : 0));
    cpu::sum_reduce<A, T>(
        L, [](T v, int64_t) { return A(v); }, [&](int64_t i, A s) { means[i] = s / n; });
    T* o = out.data<T>();
    cpu::sum_reduce<A, T>(
        L, [&](T v, int64_t i) { A d = A(v) - means[i]; return d * d; },
        [&](int64_t i, A s) { o[i] = T(dof > 0 ? s / dof : std::numeric_limits<A>::quiet_NaN()); });
  });
  return out;
}

Tensor std(const Tensor& x, const Dims& dims, bool unbiased, bool keepdim) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&, const Dims&, bool, bool), "std", x, x, dims, unbiased, keepdim);
  return sqrt(var(x, dims, unbiased, keepdim));
}

// logsumexp = m + log(sum exp(x - m)) with m the max; an infinite m is not subtracted, so all -inf
// gives -inf and a +inf gives +inf rather than NaN.
Tensor logsumexp(const Tensor& x, const Dims& dims, bool keepdim) {
  CJ_FORWARD_TO_DEVICE(ReduceSig, "logsumexp", x, x, dims, keepdim);
  cpu::check_cpu("logsumexp", x);
  Tensor xf = is_floating(x.dtype()) ? x : to(x, DType::f32);
  ReduceLayout L = cpu::plan_reduction("logsumexp", xf, dims, keepdim);
  Tensor out = Tensor::empty(L.out_shape, xf.dtype());
  dispatch_floating(xf.dtype(), "logsumexp", [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = acc_t<T>;
    std::vector<A> shift(L.out_numel());
    cpu::fold_reduce<A, T>(L, -std::numeric_limits<A>::infinity(), cpu::MaxStep{},
                           [&](int64_t i, A m) { shift[i] = std::isfinite(m) ? m : A(0); });
    T* o = out.data<T>();
    cpu::sum_reduce<A, T>(
        L, [&](T v, int64_t i) { return std::exp(A(v) - shift[i]); },
        [&](int64_t i, A s) { o[i] = T(shift[i] + std::log(s)); });
  });
  return out;
}

Tensor all(const Tensor& x) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&), "all", x, x);
  ReduceLayout L = cpu::plan_reduction("all", ne(x, 0), {}, false);
  return fold_like("all", L, DType::b8, false, [](bool a, bool v) { return a && v; }, 1);
}

Tensor any(const Tensor& x) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&), "any", x, x);
  ReduceLayout L = cpu::plan_reduction("any", ne(x, 0), {}, false);
  return fold_like("any", L, DType::b8, false, [](bool a, bool v) { return a || v; }, 0);
}

}  // namespace cj::ops
