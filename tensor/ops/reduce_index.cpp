// Reductions along one dim that track positions: max/min with indices, argmax/argmin; and the
// running sum cumsum.
#include <memory>

#include "tensor/backend.hpp"
#include "tensor/cpu/reduce_kernel.hpp"
#include "tensor/ops/order_rules.hpp"
#include "tensor/ops/reduction.hpp"

namespace cj::ops {

namespace {

using cpu::ReduceLayout;

using order::replaces;

// values: (outer * inner) in x's dtype, or null for argmax/argmin; indices: (outer * inner) i64.
template <typename T, bool IsMax>
void arg_extreme(const ReduceLayout& L, T* values, int64_t* indices) {
  using A = cpu::compute_t<T>;
  const T* x = static_cast<const T*>(L.input.data_ptr());
  if (L.inner == 1) {
    for (int64_t o = 0; o < L.outer; ++o) {
      const T* row = x + o * L.reduce;
      A best = cpu::load(row[0]);
      int64_t at = 0;
      for (int64_t r = 1; r < L.reduce; ++r) {
        A v = cpu::load(row[r]);
        if (replaces<IsMax>(v, best)) best = v, at = r;
      }
      if (values) values[o] = cast_value<T>(best);
      indices[o] = at;
    }
    return;
  }
  std::unique_ptr<A[]> best(new A[L.inner]);
  for (int64_t o = 0; o < L.outer; ++o) {
    const T* block = x + o * L.reduce * L.inner;
    int64_t* at = indices + o * L.inner;
    for (int64_t k = 0; k < L.inner; ++k) best[k] = cpu::load(block[k]), at[k] = 0;
    for (int64_t r = 1; r < L.reduce; ++r) {
      const T* row = block + r * L.inner;
      for (int64_t k = 0; k < L.inner; ++k) {
        A v = cpu::load(row[k]);
        if (replaces<IsMax>(v, best[k])) best[k] = v, at[k] = r;
      }
    }
    if (values)
      for (int64_t k = 0; k < L.inner; ++k) values[o * L.inner + k] = cast_value<T>(best[k]);
  }
}

std::pair<Tensor, Tensor> extreme_with_index(const char* op, const Tensor& x, int64_t dim, bool keepdim,
                                             bool is_max, bool want_values) {
  ReduceLayout L = cpu::plan_reduction(op, x, {dim}, keepdim);
  CJ_CHECK(L.reduce > 0, op, ": cannot reduce over dim ", dim, " of size 0 (input shape ", x.shape(), ")");
  Tensor values = want_values ? Tensor::empty(L.out_shape, x.dtype()) : Tensor();
  Tensor indices = Tensor::empty(L.out_shape, DType::i64);
  dispatch_all(x.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* v = want_values ? values.data<T>() : nullptr;
    if (is_max) arg_extreme<T, true>(L, v, indices.data<int64_t>());
    else arg_extreme<T, false>(L, v, indices.data<int64_t>());
  });
  return {values, indices};
}

}  // namespace

using ExtremeSig = std::pair<Tensor, Tensor>(const Tensor&, int64_t, bool);  // a macro argument cannot hold its comma

std::pair<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim) {
  CJ_FORWARD_TO_DEVICE(ExtremeSig, "max", x, x, dim, keepdim);
  return extreme_with_index("max", x, dim, keepdim, true, true);
}
std::pair<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim) {
  CJ_FORWARD_TO_DEVICE(ExtremeSig, "min", x, x, dim, keepdim);
  return extreme_with_index("min", x, dim, keepdim, false, true);
}
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&, int64_t, bool), "argmax", x, x, dim, keepdim);
  return extreme_with_index("argmax", x, dim, keepdim, true, false).second;
}
Tensor argmin(const Tensor& x, int64_t dim, bool keepdim) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&, int64_t, bool), "argmin", x, x, dim, keepdim);
  return extreme_with_index("argmin", x, dim, keepdim, false, false).second;
}

// Running sum in acc_t (float for 16-bit, int64 for integers, whose result is int64 as in torch).
Tensor cumsum(const Tensor& x, int64_t dim) {
  CJ_FORWARD_TO_DEVICE(decltype(cumsum), "cumsum", x, x, dim);
  ReduceLayout L = cpu::plan_along_dim("cumsum", x, dim);
  Tensor out = Tensor::empty(L.out_shape, is_floating(x.dtype()) ? x.dtype() : DType::i64);
  dispatch_all(x.dtype(), "cumsum", [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = acc_t<T>;
    dispatch_all(out.dtype(), "cumsum", [&](auto otag) {
      using O = typename decltype(otag)::type;
      const T* in = static_cast<const T*>(L.input.data_ptr());
      O* o = out.data<O>();
      std::unique_ptr<A[]> run(new A[L.inner]);
      for (int64_t b = 0; b < L.outer; ++b) {
        std::fill(run.get(), run.get() + L.inner, A(0));
        for (int64_t r = 0; r < L.reduce; ++r) {
          const int64_t base = (b * L.reduce + r) * L.inner;
          for (int64_t k = 0; k < L.inner; ++k) {
            run[k] += A(cpu::load(in[base + k]));
            o[base + k] = cast_value<O>(run[k]);
          }
        }
      }
    });
  });
  return out;
}

}  // namespace cj::ops
