#pragma once
// The softmax of one contiguous row, written so that every pass vectorises (the row max and sum in
// 16 independent lanes, exp by cpu::fast_exp): what softmax and attention spend their time in.
// A NaN anywhere makes the whole row NaN, as in torch (exp(NaN - max) poisons the sum).
#include <cmath>
#include <cstdint>
#include <limits>

#include "tensor/cpu/fast_math.hpp"

namespace cj::cpu {

constexpr int kRowLanes = 16;

// max over v[0, n) ignoring NaN (callers get NaN through the sum); -inf for n == 0.
template <typename T>
T row_max(const T* v, int64_t n) {
  T lane[kRowLanes];
  for (int j = 0; j < kRowLanes; ++j) lane[j] = -std::numeric_limits<T>::infinity();
  int64_t i = 0;
  for (; i + kRowLanes <= n; i += kRowLanes)
    for (int j = 0; j < kRowLanes; ++j) lane[j] = v[i + j] > lane[j] ? v[i + j] : lane[j];
  for (; i < n; ++i) lane[0] = v[i] > lane[0] ? v[i] : lane[0];
  T m = lane[0];
  for (int j = 1; j < kRowLanes; ++j) m = lane[j] > m ? lane[j] : m;
  return m;
}

// sum of v[0, n) in 16 lanes, combined pairwise (a fixed order: results are reproducible).
template <typename T>
T row_sum(const T* v, int64_t n) {
  T lane[kRowLanes] = {};
  int64_t i = 0;
  for (; i + kRowLanes <= n; i += kRowLanes)
    for (int j = 0; j < kRowLanes; ++j) lane[j] += v[i + j];
  for (; i < n; ++i) lane[0] += v[i];
  for (int width = kRowLanes / 2; width >= 1; width /= 2)
    for (int j = 0; j < width; ++j) lane[j] += lane[j + width];
  return lane[0];
}

// row <- exp(row - shift), elementwise.
template <typename T>
void exp_shifted(T* row, int64_t n, T shift) {
  for (int64_t j = 0; j < n; ++j) row[j] = fast_exp(row[j] - shift);
}

// row <- softmax(row) in place; returns the row's log-sum-exp (max + log(sum exp(row - max))).
// A row of -inf only (every key masked) is left to the caller: it gives NaN here, as torch.softmax.
template <typename T>
T softmax_row_inplace(T* row, int64_t n) {
  const T m = row_max(row, n);
  exp_shifted(row, n, m);
  const T sum = row_sum(row, n);
  const T inv = T(1) / sum;
  for (int64_t j = 0; j < n; ++j) row[j] *= inv;
  return m + std::log(sum);
}

}  // namespace cj::cpu
