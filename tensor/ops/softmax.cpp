// softmax / log_softmax over one dim, each beside its backward kernel. Numerically stable (the
// row max is subtracted before exp) and computed in acc_t (float for bf16/f16).
//
//   softmax:      y = exp(x - m) / s,          s = sum exp(x - m)
//                 gx = y * (gy - sum(gy * y))
//   log_softmax:  y = x - m - log(s)
//                 gx = gy - exp(y) * sum(gy)
//
// Rows (dim innermost) are processed one at a time through an f32/f64 scratch row; other dims are
// processed a row of columns at a time so that the loops run along contiguous memory. exp is
// cpu::fast_exp (vectorisable, ~2 ulp in float); independent rows/blocks run on OpenMP threads.
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "tensor/cpu/fast_math.hpp"
#include "tensor/cpu/parallel.hpp"
#include "tensor/cpu/softmax_row.hpp"
#include "tensor/cpu/reduce_kernel.hpp"
#include "tensor/ops/reduction.hpp"
#include "tensor/backend.hpp"

namespace cj::ops {

namespace {

using cpu::ReduceLayout;

// Rows are independent, so they are split across threads (each with its own scratch row).
template <typename T, bool Log>
void softmax_forward(const ReduceLayout& L, T* out) {
  using A = acc_t<T>;
  const T* x = static_cast<const T*>(L.input.data_ptr());
  const int64_t R = L.reduce, K = L.inner;
  if (K == 1) {
    cpu::parallel_for(L.outer, std::max<int64_t>(1, 4096 / std::max<int64_t>(R, 1)), [&](int64_t begin, int64_t end) {
      std::vector<A> scratch(std::is_same_v<T, A> ? 0 : R);
      for (int64_t o = begin; o < end; ++o) {
        const T* row = x + o * R;
        T* y = out + o * R;
        // the row in the compute type: the output row itself when that is already A
        A* e = std::is_same_v<T, A> ? reinterpret_cast<A*>(y) : scratch.data();
        for (int64_t r = 0; r < R; ++r) e[r] = A(row[r]);
        if constexpr (Log) {
          const A m = cpu::row_max(e, R);
          cpu::exp_shifted(e, R, m);
          const A shift = m + std::log(cpu::row_sum(e, R));
          for (int64_t r = 0; r < R; ++r) y[r] = T(A(row[r]) - shift);
        } else {
          cpu::softmax_row_inplace(e, R);
          if constexpr (!std::is_same_v<T, A>)
            for (int64_t r = 0; r < R; ++r) y[r] = T(e[r]);
        }
      }
    });
    return;
  }
  cpu::parallel_for(L.outer, 1, [&](int64_t begin, int64_t end) {
    std::vector<A> m(K), s(K);
    for (int64_t o = begin; o < end; ++o) {
      const T* block = x + o * R * K;
      T* yb = out + o * R * K;
      std::fill(m.begin(), m.end(), -std::numeric_limits<A>::infinity());
      std::fill(s.begin(), s.end(), A(0));
      for (int64_t r = 0; r < R; ++r)
        for (int64_t k = 0; k < K; ++k) m[k] = cpu::MaxStep{}(m[k], A(block[r * K + k]));
      for (int64_t r = 0; r < R; ++r)
        for (int64_t k = 0; k < K; ++k) s[k] += cpu::fast_exp(A(block[r * K + k]) - m[k]);
      for (int64_t k = 0; k < K; ++k) s[k] = Log ? m[k] + std::log(s[k]) : A(1) / s[k];
      for (int64_t r = 0; r < R; ++r)
        for (int64_t k = 0; k < K; ++k) {
          const A v = A(block[r * K + k]);
          yb[r * K + k] = T(Log ? v - s[k] : cpu::fast_exp(v - m[k]) * s[k]);
        }
    }
  });
}

// gx from y and gy, both laid out like L (same shape, contiguous).
template <typename T, bool Log>
void softmax_backward_kernel(const ReduceLayout& L, const T* y, const T* gy, T* gx) {
  using A = acc_t<T>;
  const int64_t R = L.reduce, K = L.inner;
  // term summed over the dim: gy * y (softmax) or gy (log_softmax)
  auto term = [](A yv, A g) { return Log ? g : g * yv; };
  auto grad = [](A yv, A g, A sum) { return Log ? g - cpu::fast_exp(yv) * sum : yv * (g - sum); };
  if (K == 1) {  // rows: the sum in 8 lanes, so both loops vectorise
    cpu::parallel_for(L.outer, std::max<int64_t>(1, 4096 / std::max<int64_t>(R, 1)), [&](int64_t begin, int64_t end) {
      for (int64_t o = begin; o < end; ++o) {
        const T *yr = y + o * R, *gr = gy + o * R;
        A lane[8] = {};
        int64_t i = 0;
        for (; i + 8 <= R; i += 8)
          for (int64_t j = 0; j < 8; ++j) lane[j] += term(A(yr[i + j]), A(gr[i + j]));
        for (; i < R; ++i) lane[0] += term(A(yr[i]), A(gr[i]));
        const A sum = ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
        for (int64_t r = 0; r < R; ++r) gx[o * R + r] = T(grad(A(yr[r]), A(gr[r]), sum));
      }
    });
    return;
  }
  cpu::parallel_for(L.outer, std::max<int64_t>(1, 4096 / std::max<int64_t>(R * K, 1)), [&](int64_t begin, int64_t end) {
    std::vector<A> sum(K);
    for (int64_t o = begin; o < end; ++o) {
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
  });
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

using SoftmaxSig = Tensor(const Tensor&, int64_t);
using SoftmaxBackwardSig = Tensor(const Tensor&, const Tensor&, int64_t);

Tensor softmax(const Tensor& x, int64_t dim) {
  CJ_FORWARD_TO_DEVICE(SoftmaxSig, "softmax", x, x, dim);
  return softmax_impl<false>("softmax", x, dim);
}
Tensor softmax_backward(const Tensor& y, const Tensor& gy, int64_t dim) {
  CJ_FORWARD_TO_DEVICE(SoftmaxBackwardSig, "softmax_backward", y, y, gy, dim);
  return softmax_backward_impl<false>("softmax_backward", y, gy, dim);
}

Tensor log_softmax(const Tensor& x, int64_t dim) {
  CJ_FORWARD_TO_DEVICE(SoftmaxSig, "log_softmax", x, x, dim);
  return softmax_impl<true>("log_softmax", x, dim);
}
Tensor log_softmax_backward(const Tensor& y, const Tensor& gy, int64_t dim) {
  CJ_FORWARD_TO_DEVICE(SoftmaxBackwardSig, "log_softmax_backward", y, y, gy, dim);
  return softmax_backward_impl<true>("log_softmax_backward", y, gy, dim);
}

}  // namespace cj::ops
