#pragma once
// The one N-d loop every CPU kernel is built on: walks `shape` for K operands, each with its own
// byte strides (0 for a broadcast dim), and hands the innermost run to a kernel as K base
// pointers, a length and K byte strides (operands may have different dtypes, as in casts). Adjacent dims that are contiguous in every operand are
// merged first, so a contiguous tensor becomes one long inner run.
#include <array>
#include <cstdint>
#include <vector>

#include <cstddef>

#include "tensor/shape.hpp"

namespace cj::cpu {

template <int K>
struct StridedLayout {
  Shape shape;                                 // after coalescing; innermost last
  std::vector<std::array<int64_t, K>> strides;  // per dim, per operand, in bytes
};

// Merges dims i and i+1 when every operand has stride[i] == stride[i+1] * shape[i+1], and drops
// size-1 dims. The result iterates the same elements in the same order.
template <int K>
StridedLayout<K> coalesce(const Shape& shape, const std::array<const Shape*, K>& strides) {
  StridedLayout<K> out;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    std::array<int64_t, K> s;
    for (int k = 0; k < K; ++k) s[k] = (*strides[k])[d];
    if (!out.shape.empty()) {
      bool mergeable = true;
      for (int k = 0; k < K; ++k) mergeable &= out.strides.back()[k] == s[k] * shape[d];
      if (mergeable) {
        out.shape.back() *= shape[d];
        out.strides.back() = s;
        continue;
      }
    }
    out.shape.push_back(shape[d]);
    out.strides.push_back(s);
  }
  return out;
}

// inner(ptrs, n, strides): process n elements; operand k's i-th element is at ptrs[k] + i * strides[k].
template <int K, typename Inner>
void strided_loop(const Shape& shape, const std::array<const Shape*, K>& byte_strides, std::array<char*, K> base,
                  Inner&& inner) {
  if (shape_numel(shape) == 0) return;
  StridedLayout<K> L = coalesce<K>(shape, byte_strides);
  if (L.shape.empty()) {  // a single element
    std::array<int64_t, K> zero{};
    inner(base, int64_t(1), zero);
    return;
  }
  const int64_t nd = static_cast<int64_t>(L.shape.size());
  const int64_t n_inner = L.shape[nd - 1];
  const std::array<int64_t, K> inner_strides = L.strides[nd - 1];
  std::vector<int64_t> counter(nd, 0);
  std::array<char*, K> ptrs = base;
  while (true) {
    inner(ptrs, n_inner, inner_strides);
    int64_t d = nd - 2;  // advance the outer counter like an odometer
    for (; d >= 0; --d) {
      for (int k = 0; k < K; ++k) ptrs[k] += L.strides[d][k];
      if (++counter[d] < L.shape[d]) break;
      for (int k = 0; k < K; ++k) ptrs[k] -= L.strides[d][k] * L.shape[d];
      counter[d] = 0;
    }
    if (d < 0) return;
  }
}

// Byte strides of t's view, broadcast to out_shape (leading and size-1 dims get stride 0).
Shape broadcast_byte_strides(const Shape& shape, const Shape& strides, std::size_t element_size,
                             const Shape& out_shape);

}  // namespace cj::cpu
