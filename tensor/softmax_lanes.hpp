#pragma once
// The per-lane maths of the register-resident softmax kernels (cuda/softmax.cu), as CJ_HD functions
// that tests/tensor/test_softmax_lanes.cpp replays on the CPU in the same order.
//
// One warp per row of at most 32·P columns (P = per_lane(cols) values per lane, P in 1..32): lane l
// holds columns l, l + 32, ..., l + 32(P - 1) in registers (consecutive lanes read consecutive
// columns: coalesced), so the row is read from global memory once.
//   forward:  m = max x (NaN skipped, as the CPU's row_max; NaN still reaches every output through
//             exp(NaN - m)), s = Σ exp(x - m); softmax y = exp(x - m) / s, log_softmax
//             y = (x - m) - log s; lse = m + log s.
//   backward: s = Σ gy·y (softmax) or Σ gy (log_softmax); gx = y (gy - s) or gy - exp(y) s.
// Each sum runs per lane over its values in order n = 0..P-1, then across lanes by a butterfly
// (lane l takes lane l ^ o for o = 16, 8, 4, 2, 1; every lane ends with the same value).
// Statistics are in A: float for f32/bf16/f16, double for f64. fma is explicit where nvcc would
// contract, so both compilers round the same way.
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "tensor/host_device.hpp"

namespace cj::softmax_lanes {

constexpr int kLanes = 32;
constexpr int kMaxPerLane = 32;
constexpr int64_t kMaxCols = int64_t(kLanes) * kMaxPerLane;  // longer rows: one block per row, three passes

// Values per lane for a row of `cols` <= kMaxCols: the smallest power of two with 32·P >= cols.
constexpr int per_lane(int64_t cols) {
  int p = 1;
  while (int64_t(kLanes) * p < cols) p *= 2;
  return p;
}

// f(std::integral_constant<int, P>) with P = per_lane(cols): one template instance per row length class.
template <typename F>
void with_per_lane(int64_t cols, F&& f) {
  switch (per_lane(cols)) {
    case 1: return f(std::integral_constant<int, 1>{});
    case 2: return f(std::integral_constant<int, 2>{});
    case 4: return f(std::integral_constant<int, 4>{});
    case 8: return f(std::integral_constant<int, 8>{});
    case 16: return f(std::integral_constant<int, 16>{});
    default: return f(std::integral_constant<int, 32>{});
  }
}

template <typename A> CJ_HD A neg_inf() { return -A(INFINITY); }
template <typename A> CJ_HD A exp_of(A x) {
  if constexpr (sizeof(A) == 4) return ::expf(x); else return ::exp(x);
}
template <typename A> CJ_HD A log_of(A x) {
  if constexpr (sizeof(A) == 4) return ::logf(x); else return ::log(x);
}
template <typename A> CJ_HD A fma_of(A a, A b, A c) {
  if constexpr (sizeof(A) == 4) return ::fmaf(a, b, c); else return ::fma(a, b, c);
}

// The two combines of the butterflies. max keeps the accumulator `a` when b is NaN (a never is).
struct MaxSkipNan {
  template <typename A> CJ_HD A operator()(A a, A b) const { return b > a ? b : a; }
};
struct Plus {
  template <typename A> CJ_HD A operator()(A a, A b) const { return a + b; }
};

// Column of lane `lane`'s n-th value.
CJ_HD int column(int lane, int n) { return lane + kLanes * n; }

// ---- forward ----------------------------------------------------------------------------------
// v: this lane's values (past the row end: anything, they are skipped) -> the lane's max.
template <typename A, int P>
CJ_HD A lane_max(const A (&v)[P], int lane, int cols) {
  A m = neg_inf<A>();
  CJ_UNROLL
  for (int n = 0; n < P; ++n)
    if (column(lane, n) < cols) m = MaxSkipNan{}(m, v[n]);
  return m;
}

// The lane's Σ exp(v - m); softmax keeps exp(v - m) in v for the write (log_softmax keeps x).
template <typename A, int P, bool LOG>
CJ_HD A lane_exp_sum(A (&v)[P], A m, int lane, int cols) {
  A s = 0;
  CJ_UNROLL
  for (int n = 0; n < P; ++n)
    if (column(lane, n) < cols) {
      const A e = exp_of(v[n] - m);
      if constexpr (!LOG) v[n] = e;
      s += e;
    }
  return s;
}

// What the writes need from the row's max m and sum s. `empty`: the row had no entry above -inf
// and the caller asked for attention's rule (zeros, lse = -inf) instead of softmax's NaN.
template <typename A>
struct RowScale {
  A m, log_s, inv_s;
  bool empty;
};
template <typename A>
CJ_HD RowScale<A> row_scale(A m, A s, bool zero_empty_rows) {
  return {m, log_of(s), A(1) / s, zero_empty_rows && m == neg_inf<A>()};
}

// One output from lane_exp_sum's v (softmax: exp(x - m); log_softmax: x).
template <typename A, bool LOG>
CJ_HD A forward_value(A v, const RowScale<A>& r) {
  if (r.empty) return A(0);
  return LOG ? (v - r.m) - r.log_s : v * r.inv_s;
}

template <typename A>
CJ_HD A log_sum_exp(const RowScale<A>& r) { return r.empty ? neg_inf<A>() : r.m + r.log_s; }

// ---- backward ---------------------------------------------------------------------------------
// The lane's share of Σ gy·y (softmax) or Σ gy (log_softmax).
template <typename A, int P, bool LOG>
CJ_HD A lane_grad_sum(const A (&y)[P], const A (&g)[P], int lane, int cols) {
  A s = 0;
  CJ_UNROLL
  for (int n = 0; n < P; ++n)
    if (column(lane, n) < cols) s = LOG ? s + g[n] : fma_of(g[n], y[n], s);
  return s;
}

template <typename A, bool LOG>
CJ_HD A backward_value(A y, A g, A s) {
  return LOG ? fma_of(-exp_of(y), s, g) : y * (g - s);
}

}  // namespace cj::softmax_lanes
