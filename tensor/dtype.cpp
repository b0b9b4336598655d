#include "tensor/dtype.hpp"

#include "tensor/error.hpp"

namespace cj {

namespace {
struct DTypeInfo {
  DType type;
  std::size_t size;
  const char* name;
  const char* short_name;
};
constexpr DTypeInfo kInfo[kNumDTypes] = {
    {DType::f32, 4, "float32", "f32"}, {DType::f64, 8, "float64", "f64"},
    {DType::bf16, 2, "bfloat16", "bf16"}, {DType::f16, 2, "float16", "f16"},
    {DType::i32, 4, "int32", "i32"},   {DType::i64, 8, "int64", "i64"},
    {DType::u8, 1, "uint8", "u8"},     {DType::b8, 1, "bool", "bool"},
};
const DTypeInfo& info(DType t) {
  auto i = static_cast<int>(t);
  CJ_CHECK(i >= 0 && i < kNumDTypes, "dtype: invalid dtype code ", i);
  return kInfo[i];
}
}  // namespace

std::size_t dtype_size(DType t) { return info(t).size; }
const char* dtype_name(DType t) { return info(t).name; }
const char* dtype_short_name(DType t) { return info(t).short_name; }

DType dtype_from_name(const std::string& s) {
  for (const auto& i : kInfo)
    if (s == i.name || s == i.short_name) return i.type;
  fail("dtype: unknown dtype '", s, "' (expected one of f32, f64, bf16, f16, i32, i64, u8, bool)");
}

bool is_floating(DType t) {
  return t == DType::f32 || t == DType::f64 || t == DType::bf16 || t == DType::f16;
}
bool is_integral(DType t) {
  return t == DType::i32 || t == DType::i64 || t == DType::u8;
}

}  // namespace cj
