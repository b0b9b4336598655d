#pragma once
// Device-side element types: cj::bf16 / cj::f16 (host structs) have the same bits as CUDA's
// __nv_bfloat16 / __half, which kernels use instead. 16-bit values are computed in float.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <type_traits>

#include "tensor/half.hpp"

namespace cj::cuda {

template <typename T> struct device_type { using type = T; };
template <> struct device_type<bf16> { using type = __nv_bfloat16; };
template <> struct device_type<f16> { using type = __half; };
template <typename T> using device_t = typename device_type<T>::type;  // host type -> kernel type

template <typename T> constexpr bool is_half_v = std::is_same_v<T, __half> || std::is_same_v<T, __nv_bfloat16>;

// The type arithmetic happens in: float for 16-bit floats, the type itself otherwise.
template <typename T> using math_t = std::conditional_t<is_half_v<T>, float, T>;
// The type sums accumulate in: double for double, float for the other floats.
template <typename T> using accum_t = std::conditional_t<std::is_same_v<T, double>, double, float>;

// Casts like cj::cast_value on the host: 16-bit targets round to nearest even (from double via
// float, as PyTorch's CPU cast does), floats truncate to integers, anything != 0 is true.
template <typename To, typename From>
__device__ __forceinline__ To cast_to(From v) {
  if constexpr (std::is_same_v<To, From>) {
    return v;
  } else if constexpr (is_half_v<From>) {
    return cast_to<To>(static_cast<float>(v));
  } else if constexpr (std::is_same_v<To, bool>) {
    return v != From(0);
  } else if constexpr (std::is_same_v<To, __half>) {
    return __float2half_rn(static_cast<float>(v));
  } else if constexpr (std::is_same_v<To, __nv_bfloat16>) {
    return __float2bfloat16_rn(static_cast<float>(v));
  } else {
    return static_cast<To>(v);
  }
}

// Loads a value into its math type, and stores a math-type value back.
template <typename T>
__device__ __forceinline__ math_t<T> load_math(const T* p) {
  return cast_to<math_t<T>>(*p);
}

// Vectors of VEC elements for 16-byte loads and stores on the contiguous fast paths.
template <typename T, int VEC>
struct alignas(sizeof(T) * VEC) Vec {
  T v[VEC];
};

}  // namespace cj::cuda
