#pragma once
// Warp and block reductions used by the row kernels (reductions, softmax, layer norm).
#include "cuda/math.cuh"

namespace cj::cuda {

template <typename A> __device__ __forceinline__ A warp_sum(A v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

template <typename A> __device__ __forceinline__ A warp_max(A v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = dmath::nan_max(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Any associative combine across a warp (every lane gets the result).
template <typename Op, typename A> __device__ __forceinline__ A warp_fold(A v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = Op::combine(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

struct SumOp {
  template <typename A> __device__ static A warp(A v) { return warp_sum(v); }
  template <typename A> __device__ static A combine(A a, A b) { return a + b; }
};
struct MaxOp {
  template <typename A> __device__ static A warp(A v) { return warp_max(v); }
  template <typename A> __device__ static A combine(A a, A b) { return dmath::nan_max(a, b); }
};

struct MinOp {
  template <typename A> __device__ static A combine(A a, A b) { return dmath::nan_min(a, b); }
  template <typename A> __device__ static A warp(A v) { return warp_fold<MinOp>(v); }
};
struct ProdOp {
  template <typename A> __device__ static A combine(A a, A b) { return a * b; }
  template <typename A> __device__ static A warp(A v) { return warp_fold<ProdOp>(v); }
};

// Reduces v over the whole block (blockDim.x a multiple of 32, at most 1024) and returns the result
// to every thread. `scratch` holds 32 values; the leading barrier lets callers reuse it back to back.
template <typename Op, typename A>
__device__ __forceinline__ A block_reduce(A v, A* scratch) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  v = Op::warp(v);
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  A r = scratch[0];
  for (int w = 1; w < warps; ++w) r = Op::combine(r, scratch[w]);
  return r;
}

// Reduction across the threads that share one row: a warp (GROUP == 32) or the whole block.
template <int GROUP, typename Op, typename A>
__device__ __forceinline__ A group_reduce(A v, A* scratch) {
  if constexpr (GROUP == 32) return Op::warp(v);
  else return block_reduce<Op>(v, scratch);
}

// Row bookkeeping shared by the row kernels (softmax, layer norm): which row this thread serves and its index in the group.
template <int GROUP>
struct RowThread {
  int64_t row;
  int t, group_size;
  __device__ RowThread() {
    if constexpr (GROUP == 32) {
      row = blockIdx.x * int64_t(blockDim.x / 32) + threadIdx.x / 32;
      t = threadIdx.x % 32;
      group_size = 32;
    } else {
      row = blockIdx.x;
      t = threadIdx.x;
      group_size = blockDim.x;
    }
  }
};

}  // namespace cj::cuda
