#pragma once
// Runtime element types, PyTorch's promotion rules, and the 16-bit float formats.
#include <cstddef>
#include <cstdint>
#include <string>

namespace cj {

enum class DType : uint8_t { f32, f64, bf16, f16, i32, i64, u8, b8 };

constexpr int kNumDTypes = 8;

std::size_t dtype_size(DType t);           // bytes per element
const char* dtype_name(DType t);           // "float32", "bfloat16", ... (PyTorch's names)
const char* dtype_short_name(DType t);     // "f32", "bf16", ...
DType dtype_from_name(const std::string& s);  // accepts both forms; throws cj::Error otherwise
bool is_floating(DType t);
bool is_integral(DType t);  // bool excluded

}  // namespace cj
