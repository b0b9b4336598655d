#pragma once
// The per-thread maths of the fused flash attention kernels (cuda/flash_attention.cu), as CJ_HD
// functions: the kernels only move tiles into shared memory and call these, and
// tests/tensor/test_flash_tile.cpp runs the same functions over the same tiles in the same order on
// the CPU. Everything is f32 (inputs of any dtype are widened as they are loaded).
//
// Forward (one thread per (query row, lane); G lanes share a row and split each key tile's keys):
//   per key tile: s_j = scale·q·k_j (+ mask), m' = max(m, max_j s_j), l = l·e^(m-m') + Σ e^(s_j-m'),
//   acc = acc·e^(m-m') + Σ e^(s_j-m')·v_j; lanes merge their states; out = acc / l, lse = m + log l.
// Backward (P recomputed from lse, D_i = dO_i·O_i):
//   p_ij = e^(s_ij - lse_i), dp_ij = dO_i·v_j, ds_ij = p_ij (dp_ij - D_i) (D_i = Σ_j p_ij dp_ij);
//   dQ_i = scale Σ_j ds_ij k_j (query-parallel), dK_j = scale Σ_i ds_ij q_i, dV_j = Σ_i p_ij dO_i
//   (key-parallel, two threads per key: the "k lane" holds k_j and sums dK, the "v lane" holds v_j
//   and sums dV; they swap p and dp once per query). No atomics anywhere.
// A query whose keys are all masked gets out = 0, lse = -inf and zero gradients, as the CPU op.
#include <cmath>
#include <cstdint>

#include "tensor/host_device.hpp"

namespace cj::flash {

constexpr int kMaxBatchDims = 6;  // batch dims a mask may broadcast over (more: the GEMM path)

// Tiling of the forward and the dQ kernels: 64 threads = (64 / G) query rows × G lanes.
template <int E_, int G_>
struct RowConfig {
  static constexpr int E = E_, G = G_;
  static constexpr int kThreads = 64;
  static constexpr int kRows = kThreads / G;        // query rows per block
  static constexpr int kKeys = E <= 32 ? 64 : 32;   // keys per shared-memory tile (registers: q, acc, scores)
  static constexpr int kPerLane = kKeys / G;        // scores one thread holds per tile
  static constexpr int kStride = G == 1 ? E : E + 1;  // row stride in shared memory: +1 spreads the G lanes over banks
  static_assert(kKeys % G == 0 && 32 % G == 0, "lanes of a row must share a warp and split tiles evenly");
};

// Tiling of the dK/dV kernel: 128 threads = 64 keys × 2 lanes, query tiles in shared memory.
template <int E_>
struct KeyConfig {
  static constexpr int E = E_;
  static constexpr int kThreads = 128;
  static constexpr int kKeys = kThreads / 2;
  static constexpr int kQueries = E <= 32 ? 64 : 32;
};

// ---- masks ------------------------------------------------------------------------------------
// attn_mask broadcast to (batch..., Lq, Lk) by strides (0 where it broadcasts); at most one of
// keep (bool, true = attend) and add (additive, f32) is set.
struct MaskDesc {
  const bool* keep = nullptr;
  const float* add = nullptr;
  int nbatch = 0;
  int64_t size[kMaxBatchDims] = {}, stride[kMaxBatchDims] = {};
  int64_t stride_i = 0, stride_j = 0;

  // offset of batch entry b (row-major over the batch dims)
  CJ_HD int64_t batch_offset(int64_t b) const {
    int64_t off = 0;
    for (int d = nbatch - 1; d >= 0; --d) {
      off += (b % size[d]) * stride[d];
      b /= size[d];
    }
    return off;
  }
  // the masked score of query i, key j of the batch entry at offset `base`
  CJ_HD float apply(float s, int64_t base, int64_t i, int64_t j) const {
    const int64_t at = base + i * stride_i + j * stride_j;
    if (keep) return keep[at] ? s : -INFINITY;
    if (add) return s + add[at];
    return s;
  }
};

// ---- small vector pieces (explicit fma: one rounding per step, the same on both compilers) -----
template <int E>
CJ_HD float dot(const float* a, const float* b) {
  float s = 0.f;
  CJ_UNROLL
  for (int e = 0; e < E; ++e) s = fmaf(a[e], b[e], s);
  return s;
}

template <int E>
CJ_HD void axpy(float* acc, float a, const float* x) {
  CJ_UNROLL
  for (int e = 0; e < E; ++e) acc[e] = fmaf(a, x[e], acc[e]);
}

// f(j) for the keys of a tile that one thread takes: j = lane, lane + G, ... < count (N of them at most).
template <int N, typename F>
CJ_HD void for_my_keys(int lane, int G, int count, const F& f) {
  CJ_UNROLL
  for (int n = 0; n < N; ++n) {
    const int j = lane + n * G;
    if (j < count) f(j);
  }
}

// p = exp(s - lse), 0 for a query whose keys are all masked (lse = -inf)
CJ_HD float probability(float s, float lse) { return lse == -INFINITY ? 0.f : expf(s - lse); }

// ---- forward ----------------------------------------------------------------------------------
template <int E>
struct RowState {
  float m, l;    // running max and sum of exp(s - m)
  float acc[E];  // running Σ exp(s_j - m) v_j
};

template <int E>
CJ_HD void init(RowState<E>& st) {
  st.m = -INFINITY;
  st.l = 0.f;
  CJ_UNROLL
  for (int e = 0; e < E; ++e) st.acc[e] = 0.f;
}

// One key tile for one thread: the scores of its keys (j = lane, lane + G, ... < count), then the
// online-softmax update. k_tile, v_tile: (kKeys, S) in shared memory; j0: the tile's first key.
template <int E, int N, int S>
CJ_HD void forward_tile(RowState<E>& st, const float (&q)[E], const float* k_tile, const float* v_tile, int count,
                        int lane, int G, float scale, const MaskDesc& mask, int64_t mask_base, int64_t i, int64_t j0) {
  float s[N];
  float tile_max = -INFINITY;
  CJ_UNROLL
  for (int n = 0; n < N; ++n) {
    const int j = lane + n * G;
    s[n] = j < count ? mask.apply(scale * dot<E>(q, k_tile + j * S), mask_base, i, j0 + j) : -INFINITY;
    tile_max = fmaxf(tile_max, s[n]);
  }
  if (tile_max == -INFINITY) return;  // every key of this tile is masked for this row
  const float m_new = fmaxf(st.m, tile_max);
  const float correction = expf(st.m - m_new);  // 0 on the first live tile (m = -inf)
  st.l *= correction;
  CJ_UNROLL
  for (int e = 0; e < E; ++e) st.acc[e] *= correction;
  CJ_UNROLL
  for (int n = 0; n < N; ++n) {
    const int j = lane + n * G;
    if (j < count) {
      const float p = expf(s[n] - m_new);
      st.l += p;
      axpy<E>(st.acc, p, v_tile + j * S);
    }
  }
  st.m = m_new;
}

// The state of the lower lane merged with the upper lane's: both lanes call it with the same
// argument order, so they hold bit-identical results afterwards.
template <int E>
CJ_HD RowState<E> merge(const RowState<E>& lower, const RowState<E>& upper) {
  RowState<E> r;
  r.m = fmaxf(lower.m, upper.m);
  if (r.m == -INFINITY) return lower;  // neither lane saw a live key
  const float a = expf(lower.m - r.m), b = expf(upper.m - r.m);
  r.l = lower.l * a + upper.l * b;
  CJ_UNROLL
  for (int e = 0; e < E; ++e) r.acc[e] = lower.acc[e] * a + upper.acc[e] * b;
  return r;
}

// out = acc / l and lse = m + log l; a fully masked row gives out = 0, lse = -inf.
template <int E>
CJ_HD float finish(const RowState<E>& st, float (&out)[E]) {
  const float inv = st.l > 0.f ? 1.f / st.l : 0.f;
  CJ_UNROLL
  for (int e = 0; e < E; ++e) out[e] = st.acc[e] * inv;
  return st.l > 0.f ? st.m + logf(st.l) : -INFINITY;
}

// ---- backward: dQ (query-parallel, same tiling as the forward) -----------------------------------
// p_ij and dp_ij = dO_i·v_j for key j of a tile.
template <int E, int S>
CJ_HD void p_and_dp(float& p, float& dp, const float (&q)[E], const float (&go)[E], float lse, const float* k_tile,
                    const float* v_tile, int j, float scale, const MaskDesc& mask, int64_t mask_base, int64_t i,
                    int64_t j0) {
  p = probability(mask.apply(scale * dot<E>(q, k_tile + j * S), mask_base, i, j0 + j), lse);
  dp = dot<E>(go, v_tile + j * S);
}

// Σ_j p_ij dp_ij over one thread's keys of a tile: summed over tiles and lanes, D_i = dO_i·O_i. The
// 16-bit kernels take D this way, since from the saved O (rounded to 16 bits) it put bf16 gradients
// about 0.5% off; f32 kernels take dO_i·O_i.
template <int E, int N, int S>
CJ_HD float d_tile(const float (&q)[E], const float (&go)[E], float lse, const float* k_tile, const float* v_tile,
                   int count, int lane, int G, float scale, const MaskDesc& mask, int64_t mask_base, int64_t i,
                   int64_t j0) {
  float d = 0.f;
  for_my_keys<N>(lane, G, count, [&](int j) {
    float p, dp;
    p_and_dp<E, S>(p, dp, q, go, lse, k_tile, v_tile, j, scale, mask, mask_base, i, j0);
    d = fmaf(p, dp, d);
  });
  return d;
}

// One key tile for one thread: dq += Σ_j ds_ij k_j over its keys (scale applied once at the end).
template <int E, int N, int S>
CJ_HD void dq_tile(float (&dq)[E], const float (&q)[E], const float (&go)[E], float lse, float D, const float* k_tile,
                   const float* v_tile, int count, int lane, int G, float scale, const MaskDesc& mask,
                   int64_t mask_base, int64_t i, int64_t j0) {
  for_my_keys<N>(lane, G, count, [&](int j) {
    float p, dp;
    p_and_dp<E, S>(p, dp, q, go, lse, k_tile, v_tile, j, scale, mask, mask_base, i, j0);
    axpy<E>(dq, p * (dp - D), k_tile + j * S);
  });
}

// ---- backward: dK, dV (key-parallel, two lanes per key) -------------------------------------------
// Lane 0 holds own = k_j and x = q_i and returns p_ij; lane 1 holds own = v_j and x = dO_i and
// returns dp_ij. The kernel swaps the two values between the lanes (a shuffle), then calls
// kv_accumulate.
CJ_HD float kv_lane_value(int lane, float dot_own_x, float scale, float lse, const MaskDesc& mask, int64_t mask_base,
                          int64_t i, int64_t j) {
  if (lane == 1) return dot_own_x;  // dp_ij = dO_i · v_j
  return probability(mask.apply(scale * dot_own_x, mask_base, i, j), lse);
}

// Lane 0: dk += ds_ij q_i with ds = p (dp - D_i); lane 1: dv += p_ij dO_i. `mine` and `theirs` are
// the two lanes' kv_lane_value results.
template <int E>
CJ_HD void kv_accumulate(int lane, float (&acc)[E], const float* x, float mine, float theirs, float D) {
  const float p = lane == 0 ? mine : theirs, dp = lane == 0 ? theirs : mine;
  axpy<E>(acc, lane == 0 ? p * (dp - D) : p, x);
}

}  // namespace cj::flash
