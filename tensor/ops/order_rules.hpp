#pragma once
// Ordering rules shared by the CPU ops (sort.cpp, reduce_index.cpp) and the CUDA kernels
// (cuda/sort.cu, cuda/reduce_index.cu), compiled by g++ and nvcc alike. K is the comparison type:
// float for 16-bit floats, else the element type.
#include <cstdint>

#include "tensor/host_device.hpp"

namespace cj::order {

// Strict total order on the positions of one line: by value with NaN above every number (so
// ascending puts NaN last, descending first), ties broken by position. Stable by construction.
template <typename K>
CJ_HD bool before(K x, int64_t a, K y, int64_t b, bool descending) {
  const bool x_nan = x != x, y_nan = y != y;
  if (x_nan || y_nan) {
    if (x_nan && y_nan) return a < b;
    return descending ? x_nan : y_nan;
  }
  if (x != y) return descending ? y < x : x < y;
  return a < b;
}

// Whether v replaces the running extreme m of max/min along a dim: strictly better (ties keep the
// first index), or the first NaN (which then stays, as torch.max returns the first NaN).
template <bool IsMax, typename A>
CJ_HD bool replaces(A v, A m) {
  if (m != m) return false;
  if (v != v) return true;
  return IsMax ? v > m : v < m;
}

}  // namespace cj::order
