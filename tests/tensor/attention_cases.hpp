#pragma once
// Attention masks and the comparison shared by the flash tests (CPU replay and GPU): every mask
// form the flash kernels read, and an error measure that also checks the -inf log-sum-exp of a
// fully masked query row.
#include <cmath>
#include <vector>

#include "tests/tensor/numeric_check.hpp"

namespace cj::test {

enum class MaskKind { none, key_padding, full_bool, additive };
inline const char* mask_name(MaskKind m) {
  const char* names[] = {"no mask", "key padding", "full bool", "additive"};
  return names[int(m)];
}
inline const MaskKind kAllMasks[] = {MaskKind::none, MaskKind::key_padding, MaskKind::full_bool, MaskKind::additive};

// attn_mask for (B, H, Lq, Lk) scores (Lq > 5, Lk > 7): key padding (B, 1, 1, Lk) where batch 1 sees
// keys 0, 1 and the last five only (whole key tiles empty); full bool (B, H, Lq, Lk) and additive
// f32 (Lq, Lk) with some -inf, both masking every key of query 5 (of the first head).
inline Tensor make_attention_mask(MaskKind kind, int64_t B, int64_t H, int64_t Lq, int64_t Lk) {
  if (kind == MaskKind::none) return {};
  if (kind == MaskKind::key_padding) {
    std::vector<bool> keep(B * Lk, true);
    for (int64_t j = 2; j < Lk - 5; ++j) keep[Lk + j] = false;
    return from_vector(keep, {B, 1, 1, Lk});
  }
  Tensor u = seeded_uniform({kind == MaskKind::full_bool ? B * H : 1, Lq, Lk}, 99);
  std::vector<double> x = to_vector<double>(u);
  for (int64_t j = 0; j < Lk; ++j) x[5 * Lk + j] = -1;
  if (kind == MaskKind::full_bool) {
    std::vector<bool> keep(x.size());
    for (size_t n = 0; n < x.size(); ++n) keep[n] = x[n] > -0.4;
    return from_vector(keep, {B, H, Lq, Lk});
  }
  for (auto& v : x) v = v < -0.9 ? -INFINITY : 2 * v;
  return ops::to(from_vector(x, {Lq, Lk}), DType::f32);
}

// make_attention_mask where the lengths allow it (Lq > 5, Lk > 7); shorter ones get a bool key mask
// (B, 1, 1, Lk) dropping key 0 of batch 1 (key padding, full bool) or an additive (Lk) row broadcast
// to every query and head.
inline Tensor attention_mask_any_length(MaskKind kind, int64_t B, int64_t H, int64_t Lq, int64_t Lk) {
  if (kind == MaskKind::none || (Lq > 5 && Lk > 7)) return make_attention_mask(kind, B, H, Lq, Lk);
  if (kind == MaskKind::additive) return seeded_uniform({Lk}, 7, -3, 3, DType::f32);
  std::vector<bool> keep(B * Lk, true);
  if (Lk > 1) keep[Lk] = false;
  return from_vector(keep, {B, 1, 1, Lk});
}

// Query 5 of the first (batch, head) entry of t (B, H, Lq, ...): the one query that both the full bool
// and the additive mask leave without a live key (the bool mask keeps keys of query 5 elsewhere).
inline Tensor the_empty_query(const Tensor& t) { return ops::select(ops::select(ops::select(t, 0, 0), 0, 0), 0, 5); }

// max |got - want| / max |want| over the finite reference values; infinite ones must match exactly.
inline double finite_normalized_error(const std::vector<double>& got, const std::vector<double>& want) {
  if (got.size() != want.size()) return INFINITY;
  double worst = 0, scale = 0;
  for (size_t n = 0; n < got.size(); ++n) {
    if (std::isinf(want[n]) || std::isinf(got[n])) {
      if (got[n] != want[n]) return INFINITY;
      continue;
    }
    if (std::isnan(got[n]) || std::isnan(want[n])) return INFINITY;
    worst = std::fmax(worst, std::fabs(got[n] - want[n]));
    scale = std::fmax(scale, std::fabs(want[n]));
  }
  return worst / std::fmax(scale, 1e-12);
}

}  // namespace cj::test
