// PyTorch's type promotion for elementwise ops (torch.result_type).
//
// Simplification: every tensor operand counts as "dimensioned"; PyTorch lets a 0-d tensor act like
// a Scalar (f32 tensor + 0-d f64 tensor -> f32), which we do not model. Pass a Scalar for that.
#include <algorithm>

#include "tensor/ops/elementwise.hpp"

namespace cj::ops {

namespace {

enum class Category { boolean = 0, integral = 1, floating = 2 };

Category category(DType t) {
  if (t == DType::b8) return Category::boolean;
  return is_floating(t) ? Category::floating : Category::integral;
}

Category category(const Scalar& s) {
  switch (s.kind) {
    case Scalar::Kind::boolean: return Category::boolean;
    case Scalar::Kind::integral: return Category::integral;
    case Scalar::Kind::floating: break;
  }
  return Category::floating;
}

// Within one category: the wider type; bf16 with f16 meet at f32 (neither holds the other).
DType promote_same_category(DType a, DType b) {
  if (a == b) return a;
  if (is_floating(a)) {
    if (a == DType::f64 || b == DType::f64) return DType::f64;
    return DType::f32;  // {f32, bf16, f16} mixed
  }
  // integers: u8 < i32 < i64 (u8 fits in both signed types)
  auto rank = [](DType t) { return t == DType::u8 ? 0 : t == DType::i32 ? 1 : 2; };
  return rank(a) >= rank(b) ? a : b;
}

}  // namespace

DType result_type(DType a, DType b) {
  Category ca = category(a), cb = category(b);
  if (ca != cb) return ca > cb ? a : b;
  return promote_same_category(a, b);
}

DType result_type(DType a, const Scalar& b) {
  Category ct = category(a), cs = category(b);
  if (cs <= ct) return a;
  // A Scalar of a higher category gives that category's default dtype.
  return cs == Category::floating ? DType::f32 : DType::i64;
}

}  // namespace cj::ops
