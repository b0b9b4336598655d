// softmax / log_softmax over one dim, each beside its backward kernel. Numerically stable (the
// row max is subtracted before exp) and computed in acc_t (float for bf16/f16).
//
//   softmax:      y = exp(x - m) / s,          s = sum exp(x - m)
//                 gx = y * (gy - sum(gy * y))
//   log_softmax:  y = x - m - log(s)
//                 gx = gy - exp(y) * sum(gy)
//
// Rows (dim innermost) are processed one at a time through an f32/f64 scratch row; other dims are
// processed a row of columns at a time so that the loops run along contiguous memory.
#include <cmath>
#include <limits>
#include <vector>

#include "tensor/cpu/reduce_kernel.hpp"
#include "tensor/ops/reduction.hpp"

namespace cj::ops {

namespace {

using cpu::ReduceLayout;

template <typename T, bool Log>
void softmax_forward(const ReduceLayout& L, T* out) {
  using A = acc_t<T>;
  const T* x = static_cast<const T*>(L.input.data_ptr());
  const int64_t R = L.reduce, K = L.inner;
  if (K == 1) {
    std::vector<A> e(R);
    for (int64_t o = 0; o < L.outer; ++o) {
      const T* row = x + o * R;
      T* y = out + o * R;
      A m = -std::numeric_limits<A>::infinity();
      for (int64_t r = 0; r < R; ++r) m = cpu::MaxStep{}(m, A(row[r]));
      A s = 0;
      for (int64_t r = 0; r < R; ++r) {
        e[r] = A(row[r]) - m;
        if constexpr (!Log) e[r] = std::exp(e[r]);
        s += Log ? std::exp(e[r]) : e[r];
      }
      if constexpr (Log) {
        const A log_s = std::log(s);
        for (int64_t r = 0; r < R; ++r) y[r] = T(e[r] - log_s);
      } else {
        const A inv = A(1) / s;
        for (int64_t r = 0; r < R; ++r) y[r] = T(e[r] * inv);
      }
    }
    return;
  }
  std::vector<A> m(K), s(K);
  for (int64_t o = 0; o < L.outer; ++o) {
    const T* block = x + o * R * K;
    T* yb = out + o * R * K;
    std::fill(m.begin(), m.end(), -std::numeric_limits<A>::infinity());
    std::fill(s.begin(), s.end(), A(0));
    for (int64_t r = 0; r < R; ++r)
      for (int64_t k = 0; k < K; ++k) m[k] = cpu::MaxStep{}(m[k], A(block[r * K + k]));
    for (int64_t r = 0; r < R; ++r)
      for (int64_t k = 0; k < K; ++k) s[k] += std::exp(A(block[r * K + k]) - m[k]);
    for (int64_t k = 0; k < K; ++k) s[k] = Log ? std::log(s[k]) : A(1) / s[k];
    for (int64_t r = 0; r < R; ++r)
      for (int64_t k = 0; k < K; ++k) {
        A d = A(block[r * K + k]) - m[k];
        yb[r * K + k] = T(Log ? d - s[k] : std::exp(d) * s[k]);
      }
  }
}

// gx from y and gy, both laid out like L (same shape, contiguous).
template <typename T, bool Log>
void softmax_backward_kernel(const ReduceLayout& L, const T* y, const T* gy, T* gx) {
  using A = acc_t<T>;
  const int64_t R = L.reduce, K = L.inner;
  // term summed over the dim: gy * y (softmax) or gy (log_softmax)
  auto term = [](A yv, A g) { return Log ? g : g * yv; };
  auto grad = [](A yv, A g, A sum) { return Log ? g - std::exp(yv) * sum : yv * (g - sum); };
  std::vector<A> sum(K);
  for (int64_t o = 0; o < L.outer; ++o) {
    const int64_t base = o * R * K;
    std::fill(sum.begin(), sum.end(), A(0));
    for (int64_t r = 0; r < R; ++r)
      for (int64_t k = 0; k < K; ++k) sum[k] += term(A(y[base + r * K + k]), A(gy[base + r * K + k]));
    for (int64_t r = 0; r < R; ++r)
      for (int64_t k = 0; k < K; ++k) {
        const int64_t i = base + r * K + k;
        gx[i] = T(grad(A(y[i]), A(gy[i]), sum[k]));
      }
  }
}

template <bool Log>
Tensor softmax_impl(const char* op, const Tensor& x, int64_t dim) {
  ReduceLayout L = cpu::plan_along_dim(op, x, dim);
  Tensor out = Tensor::empty(L.out_shape, x.dtype());
  dispatch_floating(x.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    softmax_forward<T, Log>(L, out.data<T>());
  });
  return out;
}

template <bool Log>
Tensor softmax_backward_impl(const char* op, const Tensor& y, const Tensor& gy, int64_t dim) {
  cpu::check_cpu(op, gy);
  CJ_CHECK(y.shape() == gy.shape() && y.dtype() == gy.dtype(), op, ": output ", y.describe(), " and gradient ",
           gy.describe(), " must have the same shape and dtype");
  ReduceLayout L = cpu::plan_along_dim(op, y, dim);
  Tensor g = contiguous(gy);
  Tensor gx = Tensor::empty(L.out_shape, y.dtype());
  dispatch_floating(y.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    softmax_backward_kernel<T, Log>(L, static_cast<const T*>(L.input.data_ptr()), g.data<T>(), gx.data<T>());
  });
  return gx;
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_impl<false>("softmax", x, dim); }
Tensor softmax_backward(const Tensor& y, const Tensor& gy, int64_t dim) {
  return softmax_backward_impl<false>("softmax_backward", y, gy, dim);
}

Tensor log_softmax(const Tensor& x, int64_t dim) { return softmax_impl<true>("log_softmax", x, dim); }
Tensor log_softmax_backward(const Tensor& y, const Tensor& gy, int64_t dim) {
  return softmax_backward_impl<true>("log_softmax_backward", y, gy, dim);
}

}  // namespace cj::ops
