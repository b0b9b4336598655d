#pragma once
// Naive f64 reference loops for the CUDA suites, on row-major values. They take the CPU tensors
// (already rounded to the tested dtype) so both sides see exactly the same inputs.
#include <cmath>
#include <functional>
#include <vector>

#include "tests/cuda/gpu_test.hpp"

namespace cj::test::ref {

using Values = std::vector<double>;

inline Values map(const Tensor& x, const std::function<double(double)>& f) {
  Values v = values(x);
  for (auto& e : v) e = f(e);
  return v;
}

// f(a, b) over the broadcast of a and b.
inline Values zip(const Tensor& a, const Tensor& b, const std::function<double(double, double)>& f) {
  Shape out = broadcast_shapes(a.shape(), b.shape(), "reference");
  Values va = values(ops::expand(a, out)), vb = values(ops::expand(b, out)), r(va.size());
  for (size_t i = 0; i < r.size(); ++i) r[i] = f(va[i], vb[i]);
  return r;
}

inline double gelu_erf(double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }
inline double gelu_tanh(double x) {
  const double k = std::sqrt(2.0 / M_PI);
  return 0.5 * x * (1 + std::tanh(k * (x + 0.044715 * x * x * x)));
}
inline double gelu_erf_grad(double x) {
  return 0.5 * (1 + std::erf(x / std::sqrt(2.0))) + x * std::exp(-0.5 * x * x) / std::sqrt(2 * M_PI);
}
inline double gelu_tanh_grad(double x) {
  const double k = std::sqrt(2.0 / M_PI), c = 0.044715;
  double t = std::tanh(k * (x + c * x * x * x));
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * c * x * x);
}

// Row-wise helpers over a (rows, cols) row-major block.
inline Values softmax_rows(const Values& x, int64_t cols, bool log) {
  Values y(x.size());
  for (size_t r = 0; r < x.size() / cols; ++r) {
    const double* p = &x[r * cols];
    double m = -INFINITY, s = 0;
    for (int64_t c = 0; c < cols; ++c) m = std::fmax(m, p[c]);
    for (int64_t c = 0; c < cols; ++c) s += std::exp(p[c] - m);
    for (int64_t c = 0; c < cols; ++c) y[r * cols + c] = log ? p[c] - m - std::log(s) : std::exp(p[c] - m) / s;
  }
  return y;
}

inline Values softmax_backward_rows(const Values& y, const Values& gy, int64_t cols, bool log) {
  Values gx(y.size());
  for (size_t r = 0; r < y.size() / cols; ++r) {
    double s = 0;
    for (int64_t c = 0; c < cols; ++c) s += log ? gy[r * cols + c] : gy[r * cols + c] * y[r * cols + c];
    for (int64_t c = 0; c < cols; ++c) {
      size_t i = r * cols + c;
      gx[i] = log ? gy[i] - std::exp(y[i]) * s : y[i] * (gy[i] - s);
    }
  }
  return gx;
}

// c (M, N) = a (M, K) · b (K, N), batched over `batch` matrices, row-major.
inline Values matmul(const Values& a, const Values& b, int64_t batch, int64_t M, int64_t K, int64_t N) {
  Values c(batch * M * N, 0.0);
  for (int64_t t = 0; t < batch; ++t)
    for (int64_t i = 0; i < M; ++i)
      for (int64_t k = 0; k < K; ++k) {
        double av = a[(t * M + i) * K + k];
        for (int64_t j = 0; j < N; ++j) c[(t * M + i) * N + j] += av * b[(t * K + k) * N + j];
      }
  return c;
}

// (batch, R, C) -> (batch, C, R)
inline Values transpose(const Values& x, int64_t batch, int64_t R, int64_t C) {
  Values y(x.size());
  for (int64_t t = 0; t < batch; ++t)
    for (int64_t r = 0; r < R; ++r)
      for (int64_t c = 0; c < C; ++c) y[(t * C + c) * R + r] = x[(t * R + r) * C + c];
  return y;
}

}  // namespace cj::test::ref
