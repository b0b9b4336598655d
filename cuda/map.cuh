#pragma once
// Pointwise kernels whose operands have different element types (compare: T, T -> bool; where:
// bool, T, T -> T). Every operand is read through its strides (broadcast: stride 0) and converted
// to its math type; f returns the output's math type. Same-type maps use launch.cuh's fast path.
#include <array>

#include "cuda/launch.cuh"

namespace cj::cuda {

template <typename O, typename A, typename B, typename C, int NIN, typename F>
__global__ void map_kernel(int64_t n, OffsetCalculator<NIN + 1> oc, O* out, const A* a, const B* b, const C* c, F f) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(blockDim.x) * gridDim.x) {
    int64_t off[NIN + 1];
    oc.get(i, off);
    if constexpr (NIN == 1) out[off[0]] = cast_to<O>(f(load_math(a + off[1])));
    else if constexpr (NIN == 2) out[off[0]] = cast_to<O>(f(load_math(a + off[1]), load_math(b + off[2])));
    else out[off[0]] = cast_to<O>(f(load_math(a + off[1]), load_math(b + off[2]), load_math(c + off[3])));
  }
}

// out = f(in[0], ...) over out's shape; O, A, B, C are device element types (unused ones: any).
template <typename O, typename A, typename B, typename C, int NIN, typename F>
void launch_map(const char* op, const Tensor& out, const std::array<Tensor, NIN>& in, const F& f) {
  const int64_t n = out.numel();
  if (n == 0) return;
  std::array<Shape, NIN + 1> strides;
  strides[0] = out.strides();
  for (int k = 0; k < NIN; ++k) strides[k + 1] = broadcast_strides(in[k], out.shape());
  auto oc = make_offset_calculator<NIN + 1>(out.shape(), strides, op);
  auto ptr = [&](int k) { return k < NIN ? in[k].data_ptr() : nullptr; };
  map_kernel<O, A, B, C, NIN, F><<<grid_for(n), kThreads, 0, current_stream()>>>(
      n, oc, static_cast<O*>(out.data_ptr()), static_cast<const A*>(ptr(0)), static_cast<const B*>(ptr(1)),
      static_cast<const C*>(ptr(2)), f);
  CJ_CUDA_CHECK_LAUNCH(op);
}

}  // namespace cj::cuda
