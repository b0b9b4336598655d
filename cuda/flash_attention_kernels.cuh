#pragma once
// Fused flash attention, forward and backward, for head dims 8, 18, 32 and 64 in f32/bf16/f16.
// Included once per dtype by flash_attention_{f32,bf16,f16}.cu, which instantiate forward_for /
// backward_for below (three files compile in parallel); flash_attention.cu dispatches to them.
// The scores never reach global memory: each block streams key (or query) tiles through shared
// memory, widened to f32, and every thread runs the per-row maths of tensor/flash_tile.hpp on them
// (see that header for the formulas; tests/tensor/test_flash_tile.cpp replays these kernels on the
// CPU). Three kernels, no atomics:
//   forward: 64 threads = 64/G query rows × G lanes; a thread holds its q row, its running (m, l,
//            acc[E]) and its scores of the current tile in registers; the G lanes of a row merge
//            with shuffles at the end. G = 4 for short query sets (slots), else 1.
//   dQ:      the same tiling; a thread holds q, dO, dq (3E registers) and D_i (dO_i·O_i in f32; for
//            16-bit inputs Σ_j p_ij dp_ij from a first pass over the keys), which it also writes out for
//            the next kernel.
//   dK/dV:   128 threads = 64 keys × 2 lanes streaming query tiles (q, dO, lse, D) through shared
//            memory; lane 0 holds k_j and sums dK_j, lane 1 holds v_j and sums dV_j; they swap p_ij
//            and dp_ij with one shuffle per query.
#include <type_traits>

#include "cuda/check.hpp"
#include "cuda/dtype.cuh"
#include "cuda/flash_attention.hpp"
#include "cuda/stream.hpp"

namespace cj::cuda::flash_attention::detail {


template <typename T>
struct Args {
  const T *q, *k, *v;
  int64_t q_batch, q_row, k_batch, k_row, v_batch, v_row;  // element strides of the (Bt, L, E) views
  int64_t Lq, Lk;
  float scale;
  flash::MaskDesc mask;
};

__device__ __forceinline__ int tile_count(int64_t tile, int64_t left) { return int(tile < left ? tile : left); }

// One row of E values, widened to f32.
template <typename T, int E>
__device__ __forceinline__ void load_row(float (&dst)[E], const T* src) {
#pragma unroll
  for (int e = 0; e < E; ++e) dst[e] = cast_to<float>(src[e]);
}

// Rows [0, count) of a strided (L, E) matrix into a (rows, S) f32 tile; all threads of the block.
template <typename T, int E, int S>
__device__ __forceinline__ void load_tile(float* tile, const T* src, int64_t row_stride, int count) {
  for (int idx = threadIdx.x; idx < count * E; idx += blockDim.x) {
    const int r = idx / E, e = idx - r * E;
    tile[r * S + e] = cast_to<float>(src[r * row_stride + e]);
  }
}

// Where a thread of a RowConfig block works: batch entry b, query row i, lane; idle rows (i >= Lq)
// still load tiles and join the shuffles.
struct RowPlace {
  int64_t b, i;
  int lane;
  bool active;
};

template <typename C>
__device__ __forceinline__ RowPlace row_place(int64_t Lq) {
  const int64_t blocks_per_batch = (Lq + C::kRows - 1) / C::kRows;
  const int64_t i = (blockIdx.x % blocks_per_batch) * C::kRows + threadIdx.x / C::G;
  return {blockIdx.x / blocks_per_batch, i, int(threadIdx.x % C::G), i < Lq};
}

// Keys [j0, j0 + count) of batch entry b into the K and V tiles, between two barriers.
template <typename C, typename T>
__device__ __forceinline__ void load_kv_tiles(float* k_tile, float* v_tile, const Args<T>& a, int64_t b, int64_t j0,
                                              int count) {
  __syncthreads();  // everyone is done with the previous tiles
  load_tile<T, C::E, C::kStride>(k_tile, a.k + b * a.k_batch + j0 * a.k_row, a.k_row, count);
  load_tile<T, C::E, C::kStride>(v_tile, a.v + b * a.v_batch + j0 * a.v_row, a.v_row, count);
  __syncthreads();
}

// ---- forward ------------------------------------------------------------------------------------
// out: (Bt, Lq, E) contiguous, lse: (Bt, Lq)
template <typename T, int E, int G>
__global__ void __launch_bounds__(flash::RowConfig<E, G>::kThreads) forward_kernel(Args<T> a, T* out, float* lse) {
  using C = flash::RowConfig<E, G>;
  __shared__ float k_tile[C::kKeys * C::kStride], v_tile[C::kKeys * C::kStride];
  const auto [b, i, lane, active] = row_place<C>(a.Lq);
  float q[E];
  load_row<T, E>(q, a.q + b * a.q_batch + (active ? i : 0) * a.q_row);
  const int64_t mask_base = a.mask.batch_offset(b);
  flash::RowState<E> st;
  flash::init(st);
  for (int64_t j0 = 0; j0 < a.Lk; j0 += C::kKeys) {
    const int count = tile_count(C::kKeys, a.Lk - j0);
    load_kv_tiles<C>(k_tile, v_tile, a, b, j0, count);
    if (active)
      flash::forward_tile<E, C::kPerLane, C::kStride>(st, q, k_tile, v_tile, count, lane, G, a.scale, a.mask,
                                                      mask_base, i, j0);
  }
#pragma unroll
  for (int off = 1; off < G; off <<= 1) {  // butterfly: every lane ends with the row's whole state
    flash::RowState<E> other;
    other.m = __shfl_xor_sync(0xffffffffu, st.m, off);
    other.l = __shfl_xor_sync(0xffffffffu, st.l, off);
#pragma unroll
    for (int e = 0; e < E; ++e) other.acc[e] = __shfl_xor_sync(0xffffffffu, st.acc[e], off);
    st = (threadIdx.x & off) ? flash::merge(other, st) : flash::merge(st, other);
  }
  if (!active || lane != 0) return;
  float o[E];
  lse[b * a.Lq + i] = flash::finish(st, o);
  T* dst = out + (b * a.Lq + i) * E;
#pragma unroll
  for (int e = 0; e < E; ++e) dst[e] = cast_to<T>(o[e]);
}

// ---- backward: dQ (and D) ---------------------------------------------------------------------
// gout, out, gq: (Bt, Lq, E) contiguous; lse, D: (Bt, Lq)
template <typename T, int E, int G>
__global__ void __launch_bounds__(flash::RowConfig<E, G>::kThreads)
    backward_dq_kernel(Args<T> a, const T* gout, const T* out, const float* lse, T* gq, float* D_out) {
  using C = flash::RowConfig<E, G>;
  __shared__ float k_tile[C::kKeys * C::kStride], v_tile[C::kKeys * C::kStride];
  const auto [b, i, lane, active] = row_place<C>(a.Lq);
  const int64_t row = b * a.Lq + (active ? i : 0);
  float q[E], go[E], dq[E];
  load_row<T, E>(q, a.q + b * a.q_batch + (active ? i : 0) * a.q_row);
  load_row<T, E>(go, gout + row * E);
  const float row_lse = lse[row];
  const int64_t mask_base = a.mask.batch_offset(b);
  float D = 0.f;
  if constexpr (std::is_same_v<T, float>) {
    float o[E];
    load_row<T, E>(o, out + row * E);
    D = flash::dot<E>(go, o);
  } else {  // a first pass over the keys: D from P and dP, not from the 16-bit O
    for (int64_t j0 = 0; j0 < a.Lk; j0 += C::kKeys) {
      const int count = tile_count(C::kKeys, a.Lk - j0);
      load_kv_tiles<C>(k_tile, v_tile, a, b, j0, count);
      if (active)
        D += flash::d_tile<E, C::kPerLane, C::kStride>(q, go, row_lse, k_tile, v_tile, count, lane, G, a.scale, a.mask,
                                                       mask_base, i, j0);
    }
#pragma unroll
    for (int off = 1; off < G; off <<= 1) {
      const float other = __shfl_xor_sync(0xffffffffu, D, off);
      D = (threadIdx.x & off) ? other + D : D + other;
    }
  }
#pragma unroll
  for (int e = 0; e < E; ++e) dq[e] = 0.f;
  for (int64_t j0 = 0; j0 < a.Lk; j0 += C::kKeys) {
    const int count = tile_count(C::kKeys, a.Lk - j0);
    load_kv_tiles<C>(k_tile, v_tile, a, b, j0, count);
    if (active)
      flash::dq_tile<E, C::kPerLane, C::kStride>(dq, q, go, row_lse, D, k_tile, v_tile, count, lane, G, a.scale,
                                                 a.mask, mask_base, i, j0);
  }
#pragma unroll
  for (int off = 1; off < G; off <<= 1) {
#pragma unroll
    for (int e = 0; e < E; ++e) {
      const float other = __shfl_xor_sync(0xffffffffu, dq[e], off);
      dq[e] = (threadIdx.x & off) ? other + dq[e] : dq[e] + other;  // lower + upper on both lanes
    }
  }
  if (!active || lane != 0) return;
  T* dst = gq + row * E;
#pragma unroll
  for (int e = 0; e < E; ++e) dst[e] = cast_to<T>(dq[e] * a.scale);
  D_out[row] = D;
}

// ---- backward: dK and dV ----------------------------------------------------------------------
// gout: (Bt, Lq, E) contiguous; lse, D: (Bt, Lq); gk, gv: (Bt, Lk, E) contiguous
template <typename T, int E>
__global__ void __launch_bounds__(flash::KeyConfig<E>::kThreads)
    backward_kv_kernel(Args<T> a, const T* gout, const float* lse, const float* D, T* gk, T* gv) {
  using C = flash::KeyConfig<E>;
  // q rows, then dO rows 4 floats further on, so that the two lanes of a key read different banks
  constexpr int kGoAt = C::kQueries * E + 4;
  __shared__ float qg_tile[kGoAt + C::kQueries * E];
  __shared__ float l_tile[C::kQueries], d_tile[C::kQueries];
  const int64_t blocks_per_batch = (a.Lk + C::kKeys - 1) / C::kKeys;
  const int64_t b = blockIdx.x / blocks_per_batch;
  const int64_t j = (blockIdx.x % blocks_per_batch) * C::kKeys + threadIdx.x / 2;
  const int lane = threadIdx.x & 1;
  const bool active = j < a.Lk;
  const int64_t jc = active ? j : a.Lk - 1;  // idle keys read a real mask element, and discard it
  float own[E], acc[E];
#pragma unroll
  for (int e = 0; e < E; ++e) acc[e] = own[e] = 0.f;
  if (active) load_row<T, E>(own, lane == 0 ? a.k + b * a.k_batch + j * a.k_row : a.v + b * a.v_batch + j * a.v_row);
  const int64_t mask_base = a.mask.batch_offset(b);
  for (int64_t i0 = 0; i0 < a.Lq; i0 += C::kQueries) {
    const int count = tile_count(C::kQueries, a.Lq - i0);
    __syncthreads();
    load_tile<T, E, E>(qg_tile, a.q + b * a.q_batch + i0 * a.q_row, a.q_row, count);
    load_tile<T, E, E>(qg_tile + kGoAt, gout + (b * a.Lq + i0) * E, E, count);
    for (int r = threadIdx.x; r < count; r += blockDim.x) {
      l_tile[r] = lse[b * a.Lq + i0 + r];
      d_tile[r] = D[b * a.Lq + i0 + r];
    }
    __syncthreads();
    for (int r = 0; r < count; ++r) {
      const float* x = qg_tile + (lane == 0 ? 0 : kGoAt) + r * E;
      const float mine =
          flash::kv_lane_value(lane, flash::dot<E>(own, x), a.scale, l_tile[r], a.mask, mask_base, i0 + r, jc);
      const float theirs = __shfl_xor_sync(0xffffffffu, mine, 1);
      flash::kv_accumulate<E>(lane, acc, x, mine, theirs, d_tile[r]);
    }
  }
  if (!active) return;
  T* dst = (lane == 0 ? gk : gv) + (b * a.Lk + j) * E;
  const float factor = lane == 0 ? a.scale : 1.f;
#pragma unroll
  for (int e = 0; e < E; ++e) dst[e] = cast_to<T>(acc[e] * factor);
}

// ---- launches -----------------------------------------------------------------------------------
template <typename T>
Args<T> args_of(const Operands& x) {
  Args<T> a;
  a.q = static_cast<const T*>(x.q.data_ptr());
  a.k = static_cast<const T*>(x.k.data_ptr());
  a.v = static_cast<const T*>(x.v.data_ptr());
  a.q_batch = x.q.stride(0);
  a.q_row = x.q.stride(1);
  a.k_batch = x.k.stride(0);
  a.k_row = x.k.stride(1);
  a.v_batch = x.v.stride(0);
  a.v_row = x.v.stride(1);
  a.Lq = x.q.size(1);
  a.Lk = x.k.size(1);
  a.scale = x.scale;
  a.mask = x.mask;
  return a;
}

// Four lanes per query row when the query set is short (slots): more threads on the same keys.
inline bool few_queries(int64_t Lq) { return Lq <= 32; }

// One-dimensional grids: Bt × ceil(L / per_block) blocks (Bt may exceed gridDim.y's limit).
inline unsigned blocks(int64_t Bt, int64_t L, int per_block) {
  return unsigned(Bt * ((L + per_block - 1) / per_block));
}

template <typename T, int E, int G>
void launch_forward(const Operands& x, const Tensor& out, const Tensor& lse) {
  using C = flash::RowConfig<E, G>;
  const Args<T> a = args_of<T>(x);
  forward_kernel<T, E, G><<<blocks(x.q.size(0), a.Lq, C::kRows), C::kThreads, 0, current_stream()>>>(
      a, static_cast<T*>(out.data_ptr()), static_cast<float*>(lse.data_ptr()));
}

template <typename T, int E, int G>
void launch_backward_dq(const Operands& x, const Tensor& gout, const Tensor& out, const Tensor& lse,
                        const Tensor& gq, const Tensor& D) {
  using C = flash::RowConfig<E, G>;
  const Args<T> a = args_of<T>(x);
  backward_dq_kernel<T, E, G><<<blocks(x.q.size(0), a.Lq, C::kRows), C::kThreads, 0, current_stream()>>>(
      a, static_cast<const T*>(gout.data_ptr()), static_cast<const T*>(out.data_ptr()),
      static_cast<const float*>(lse.data_ptr()), static_cast<T*>(gq.data_ptr()), static_cast<float*>(D.data_ptr()));
}

template <typename T, int E>
void launch_backward(const Operands& x, const Tensor& gout, const Tensor& out, const Tensor& lse, const Tensor& gq,
                     const Tensor& gk, const Tensor& gv) {
  using C = flash::KeyConfig<E>;
  Tensor D = Tensor::empty({x.q.size(0), x.q.size(1)}, {DType::f32, x.q.device()});
  if (few_queries(x.q.size(1))) launch_backward_dq<T, E, 4>(x, gout, out, lse, gq, D);
  else launch_backward_dq<T, E, 1>(x, gout, out, lse, gq, D);
  CJ_CUDA_CHECK_LAUNCH("scaled_dot_product_attention_backward (flash dQ)");
  const Args<T> a = args_of<T>(x);
  backward_kv_kernel<T, E><<<blocks(x.q.size(0), a.Lk, C::kKeys), C::kThreads, 0, current_stream()>>>(
      a, static_cast<const T*>(gout.data_ptr()), static_cast<const float*>(lse.data_ptr()),
      static_cast<const float*>(D.data_ptr()), static_cast<T*>(gk.data_ptr()), static_cast<T*>(gv.data_ptr()));
  CJ_CUDA_CHECK_LAUNCH("scaled_dot_product_attention_backward (flash dK/dV)");
}

// Four lanes per query row for short query sets (slots), one otherwise.
template <typename T, int E>
void launch_forward_tiled(const Operands& x, const Tensor& out, const Tensor& lse) {
  if (few_queries(x.q.size(1))) launch_forward<T, E, 4>(x, out, lse);
  else launch_forward<T, E, 1>(x, out, lse);
}

// The launches for one dtype, by head dim.
template <typename T>
void forward_for(const Operands& x, const Tensor& out, const Tensor& lse) {
  switch (x.q.size(2)) {
    case 8: return launch_forward_tiled<T, 8>(x, out, lse);
    case 18: return launch_forward_tiled<T, 18>(x, out, lse);
    case 32: return launch_forward_tiled<T, 32>(x, out, lse);
    case 64: return launch_forward_tiled<T, 64>(x, out, lse);
    default: fail("flash attention: no kernel for head dim ", x.q.size(2), " (8, 18, 32, 64)");
  }
}

template <typename T>
void backward_for(const Operands& x, const Tensor& gout, const Tensor& out, const Tensor& lse, const Tensor& gq,
                  const Tensor& gk, const Tensor& gv) {
  switch (x.q.size(2)) {
    case 8: return launch_backward<T, 8>(x, gout, out, lse, gq, gk, gv);
    case 18: return launch_backward<T, 18>(x, gout, out, lse, gq, gk, gv);
    case 32: return launch_backward<T, 32>(x, gout, out, lse, gq, gk, gv);
    case 64: return launch_backward<T, 64>(x, gout, out, lse, gq, gk, gv);
    default: fail("flash attention: no kernel for head dim ", x.q.size(2), " (8, 18, 32, 64)");
  }
}

}  // namespace cj::cuda::flash_attention::detail
