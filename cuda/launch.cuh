#pragma once
// The generic strided elementwise machinery every pointwise kernel is built on: an offset
// calculator over up to 8 (merged) dims, and launchers with a vectorised path for the common
// all-contiguous case. Operands may broadcast (stride 0).
#include <algorithm>
#include <array>
#include <cstdint>

#include "cuda/check.hpp"
#include "cuda/dtype.cuh"
#include "cuda/stream.hpp"
#include "tensor/cpu/strided_loop.hpp"
#include "tensor/tensor.hpp"

namespace cj::cuda {

constexpr int kMaxDims = 8;
constexpr int kThreads = 256;

// Maps a linear index over the output shape to an element offset in each of K operands.
template <int K>
struct OffsetCalculator {
  int ndim = 0;
  int64_t sizes[kMaxDims] = {};
  int64_t strides[kMaxDims][K] = {};  // in elements of each operand's own type

  __device__ __forceinline__ void get(int64_t linear, int64_t (&off)[K]) const {
#pragma unroll
    for (int k = 0; k < K; ++k) off[k] = 0;
#pragma unroll
    for (int d = kMaxDims - 1; d >= 0; --d) {
      if (d < ndim) {
        int64_t i = linear % sizes[d];
        linear /= sizes[d];
#pragma unroll
        for (int k = 0; k < K; ++k) off[k] += i * strides[d][k];
      }
    }
  }
};

// Operand k's element strides broadcast to `shape` (stride 0 where it broadcasts).
inline Shape broadcast_strides(const Tensor& t, const Shape& shape) {
  return cpu::broadcast_byte_strides(t.shape(), t.strides(), 1, shape);
}

// Merges dims that are contiguous in every operand (the CPU loop's rule), so most tensors need
// only one or two dims; throws when more than 8 remain.
template <int K>
OffsetCalculator<K> make_offset_calculator(const Shape& shape, const std::array<Shape, K>& strides, const char* op) {
  std::array<const Shape*, K> ptrs;
  for (int k = 0; k < K; ++k) ptrs[k] = &strides[k];
  cpu::StridedLayout<K> L = cpu::coalesce<K>(shape, ptrs);
  CJ_CHECK(L.shape.size() <= size_t(kMaxDims), op, ": shape ", shape, " has ", L.shape.size(),
           " dims that cannot be merged; the CUDA kernels handle at most ", kMaxDims);
  OffsetCalculator<K> oc;
  oc.ndim = int(L.shape.size());
  for (int d = 0; d < oc.ndim; ++d) {
    oc.sizes[d] = L.shape[d];
    for (int k = 0; k < K; ++k) oc.strides[d][k] = L.strides[d][k];
  }
  return oc;
}

// Blocks for a grid-stride loop over `work` items: enough to fill the device, never more.
inline unsigned grid_for(int64_t work, int threads = kThreads) {
  int64_t wanted = (work + threads - 1) / threads;
  int64_t cap = int64_t(multiprocessor_count()) * 16;
  return unsigned(std::max<int64_t>(1, std::min(wanted, cap)));
}

inline bool aligned_to(const void* p, std::size_t bytes) { return reinterpret_cast<uintptr_t>(p) % bytes == 0; }

template <typename T, int NIN>
struct InPtrs {
  const T* p[NIN];
};

template <int NIN, typename F, typename M>
__device__ __forceinline__ M apply(const F& f, const M (&x)[NIN]) {
  if constexpr (NIN == 1) return f(x[0]);
  else if constexpr (NIN == 2) return f(x[0], x[1]);
  else return f(x[0], x[1], x[2]);
}

template <typename T, int NIN, typename F>
__global__ void elementwise_strided_kernel(int64_t n, OffsetCalculator<NIN + 1> oc, T* out, InPtrs<T, NIN> in, F f) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(blockDim.x) * gridDim.x) {
    int64_t off[NIN + 1];
    oc.get(i, off);
    math_t<T> x[NIN];
#pragma unroll
    for (int k = 0; k < NIN; ++k) x[k] = load_math(in.p[k] + off[k + 1]);
    out[off[0]] = cast_to<T>(apply<NIN>(f, x));
  }
}

template <typename T, int NIN, int VEC, typename F>
__global__ void elementwise_contiguous_kernel(int64_t n, T* out, InPtrs<T, NIN> in, F f) {
  const int64_t start = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  const int64_t step = int64_t(blockDim.x) * gridDim.x;
  const int64_t nvec = n / VEC;
  for (int64_t v = start; v < nvec; v += step) {
    Vec<T, VEC> a[NIN];
#pragma unroll
    for (int k = 0; k < NIN; ++k) a[k] = reinterpret_cast<const Vec<T, VEC>*>(in.p[k])[v];
    Vec<T, VEC> o;
#pragma unroll
    for (int j = 0; j < VEC; ++j) {
      math_t<T> x[NIN];
#pragma unroll
      for (int k = 0; k < NIN; ++k) x[k] = cast_to<math_t<T>>(a[k].v[j]);
      o.v[j] = cast_to<T>(apply<NIN>(f, x));
    }
    reinterpret_cast<Vec<T, VEC>*>(out)[v] = o;
  }
  for (int64_t i = nvec * VEC + start; i < n; i += step) {  // the tail that does not fill a vector
    math_t<T> x[NIN];
#pragma unroll
    for (int k = 0; k < NIN; ++k) x[k] = load_math(in.p[k] + i);
    out[i] = cast_to<T>(apply<NIN>(f, x));
  }
}

// out = f(in...) elementwise; every operand has device type T and lives on the GPU; inputs
// broadcast to out's shape. f takes and returns math_t<T>.
template <typename T, int NIN, typename F>
void launch_elementwise(const char* op, const Tensor& out, const std::array<Tensor, NIN>& in, const F& f) {
  const int64_t n = out.numel();
  if (n == 0) return;
  InPtrs<T, NIN> ptrs;
  bool contiguous = out.is_contiguous();
  bool aligned = aligned_to(out.data_ptr(), 16);
  for (int k = 0; k < NIN; ++k) {
    ptrs.p[k] = static_cast<const T*>(in[k].data_ptr());
    contiguous &= in[k].is_contiguous() && in[k].shape() == out.shape();
    aligned &= aligned_to(in[k].data_ptr(), 16);
  }
  T* o = static_cast<T*>(out.data_ptr());
  cudaStream_t stream = current_stream();
  constexpr int kVec = 16 / sizeof(T) > 0 ? int(16 / sizeof(T)) : 1;
  if (contiguous && aligned) {
    elementwise_contiguous_kernel<T, NIN, kVec, F><<<grid_for(n / kVec + 1), kThreads, 0, stream>>>(n, o, ptrs, f);
  } else if (contiguous) {
    elementwise_contiguous_kernel<T, NIN, 1, F><<<grid_for(n), kThreads, 0, stream>>>(n, o, ptrs, f);
  } else {
    std::array<Shape, NIN + 1> strides;
    strides[0] = out.strides();
    for (int k = 0; k < NIN; ++k) strides[k + 1] = broadcast_strides(in[k], out.shape());
    auto oc = make_offset_calculator<NIN + 1>(out.shape(), strides, op);
    elementwise_strided_kernel<T, NIN, F><<<grid_for(n), kThreads, 0, stream>>>(n, oc, o, ptrs, f);
  }
  CJ_CUDA_CHECK_LAUNCH(op);
}

}  // namespace cj::cuda
