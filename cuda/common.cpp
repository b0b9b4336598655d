// Small host helpers shared by the op files: type promotion, device checks, dtype conversion.
#include "cuda/ops.hpp"
#include "tensor/ops/views.hpp"

namespace cj::cuda {

namespace {
int category(DType t) { return t == DType::b8 ? 0 : is_integral(t) ? 1 : 2; }
}  // namespace

DType promote_types(DType a, DType b) {
  if (a == b) return a;
  const int ca = category(a), cb = category(b);
  if (ca != cb) return ca > cb ? a : b;
  if (ca == 2) {
    if (a == DType::f64 || b == DType::f64) return DType::f64;
    if (a == DType::f32 || b == DType::f32) return DType::f32;
    return DType::f32;  // bf16 with f16: neither holds the other
  }
  // integers: u8 < i32 < i64 (u8 with a signed type takes the signed one, which is wider here)
  auto rank = [](DType t) { return t == DType::u8 ? 0 : t == DType::i32 ? 1 : 2; };
  return rank(a) > rank(b) ? a : b;
}

DType promote_with_scalar(DType a, const Scalar& s) {
  if (s.kind == Scalar::Kind::floating && !is_floating(a)) return DType::f32;
  if (s.kind == Scalar::Kind::integral && a == DType::b8) return DType::i64;
  return a;
}

void check_cuda(const char* op, const Tensor& t) {
  CJ_CHECK(t.defined(), op, ": got an undefined tensor");
  CJ_CHECK(t.is_cuda(), op, ": expected a cuda tensor, got one on ", t.device().str(), " (", t.describe(),
           "); move it with ops::to(t, Device::cuda())");
}

Tensor as_dtype(const Tensor& t, DType dtype) { return ops::to(t, dtype); }

}  // namespace cj::cuda
