#pragma once
// Compile-time kernels for a runtime dtype: dispatch_*(dtype, "op", [&](auto tag) {
//   using T = typename decltype(tag)::type; ... }) instantiates the lambda once per supported type.
#include <cstdint>
#include <type_traits>

#include "tensor/dtype.hpp"
#include "tensor/error.hpp"
#include "tensor/half.hpp"

namespace cj {

template <typename T> struct type_tag { using type = T; };

// Accumulation type: 16-bit floats accumulate in float (as PyTorch's CPU kernels), integers in int64.
template <typename T> struct acc_type { using type = T; };
template <> struct acc_type<bf16> { using type = float; };
template <> struct acc_type<f16> { using type = float; };
template <> struct acc_type<int32_t> { using type = int64_t; };
template <> struct acc_type<uint8_t> { using type = int64_t; };
template <> struct acc_type<bool> { using type = int64_t; };
template <typename T> using acc_t = typename acc_type<T>::type;

template <typename T> constexpr bool is_float_type_v =
    std::is_floating_point_v<T> || std::is_same_v<T, bf16> || std::is_same_v<T, f16>;

template <typename F>
decltype(auto) dispatch_floating(DType t, const char* op, F&& f) {
  switch (t) {
    case DType::f32: return f(type_tag<float>{});
    case DType::f64: return f(type_tag<double>{});
    case DType::bf16: return f(type_tag<bf16>{});
    case DType::f16: return f(type_tag<f16>{});
    default: fail(op, ": expected a floating dtype (f32, f64, bf16, f16), got ", dtype_name(t));
  }
}

template <typename F>
decltype(auto) dispatch_numeric(DType t, const char* op, F&& f) {  // everything but bool
  switch (t) {
    case DType::f32: return f(type_tag<float>{});
    case DType::f64: return f(type_tag<double>{});
    case DType::bf16: return f(type_tag<bf16>{});
    case DType::f16: return f(type_tag<f16>{});
    case DType::i32: return f(type_tag<int32_t>{});
    case DType::i64: return f(type_tag<int64_t>{});
    case DType::u8: return f(type_tag<uint8_t>{});
    default: fail(op, ": expected a numeric dtype, got ", dtype_name(t));
  }
}

template <typename F>
decltype(auto) dispatch_all(DType t, const char* op, F&& f) {
  switch (t) {
    case DType::f32: return f(type_tag<float>{});
    case DType::f64: return f(type_tag<double>{});
    case DType::bf16: return f(type_tag<bf16>{});
    case DType::f16: return f(type_tag<f16>{});
    case DType::i32: return f(type_tag<int32_t>{});
    case DType::i64: return f(type_tag<int64_t>{});
    case DType::u8: return f(type_tag<uint8_t>{});
    case DType::b8: return f(type_tag<bool>{});
  }
  fail(op, ": invalid dtype");
}

template <typename F>
decltype(auto) dispatch_index(DType t, const char* op, F&& f) {  // index tensors: i32 or i64
  switch (t) {
    case DType::i32: return f(type_tag<int32_t>{});
    case DType::i64: return f(type_tag<int64_t>{});
    default: fail(op, ": index tensors must be int64 or int32, got ", dtype_name(t));
  }
}

// Converts between any two element types the way PyTorch's casts do (float -> 16-bit rounds to
// nearest even; float -> int truncates toward zero; anything -> bool is != 0).
template <typename To, typename From>
inline To cast_value(From v) {
  if constexpr (std::is_same_v<To, From>) {
    return v;
  } else if constexpr (std::is_same_v<To, bool>) {
    if constexpr (std::is_same_v<From, bf16> || std::is_same_v<From, f16>) return static_cast<float>(v) != 0.0f;
    else return v != From(0);
  } else if constexpr (std::is_same_v<To, bf16> || std::is_same_v<To, f16>) {
    // From double this rounds twice (double -> float -> 16-bit), as PyTorch's CPU cast does.
    return To(static_cast<float>(v));
  } else if constexpr (std::is_same_v<From, bf16> || std::is_same_v<From, f16>) {
    return static_cast<To>(static_cast<float>(v));
  } else {
    return static_cast<To>(v);
  }
}

}  // namespace cj
