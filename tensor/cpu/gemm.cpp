#include "tensor/cpu/gemm.hpp"

#include <omp.h>

#include <Eigen/Core>
#include <algorithm>

#include "tensor/cpu/parallel.hpp"

namespace cj::cpu {

namespace {

template <typename T>
using RowMajorMap = Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>, 0,
                               Eigen::OuterStride<>>;
template <typename T>
using MutableRowMajorMap =
    Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>, 0, Eigen::OuterStride<>>;

// Eigen sees a transposed operand as a column-major matrix, so its product kernel packs it
// directly from the untransposed storage.
template <typename T, typename ProductA, typename ProductB>
void assign_product(MutableRowMajorMap<T>& c, T alpha, const ProductA& a, const ProductB& b, T beta) {
  if (beta == T(0)) {
    c.noalias() = alpha * a * b;
  } else {
    if (beta != T(1)) c *= beta;
    c.noalias() += alpha * a * b;
  }
}

template <typename T>
void gemm_impl(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
               const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  MutableRowMajorMap<T> c(C, M, N, Eigen::OuterStride<>(ldc));
  if (K == 0) {  // empty sum: C = beta * C
    if (beta == T(0)) c.setZero();
    else c *= beta;
    return;
  }
  RowMajorMap<T> a(A, trans_a ? K : M, trans_a ? M : K, Eigen::OuterStride<>(lda));
  RowMajorMap<T> b(B, trans_b ? N : K, trans_b ? K : N, Eigen::OuterStride<>(ldb));
  if (!trans_a && !trans_b) assign_product(c, alpha, a, b, beta);
  else if (trans_a && !trans_b) assign_product(c, alpha, a.transpose(), b, beta);
  else if (!trans_a && trans_b) assign_product(c, alpha, a, b.transpose(), beta);
  else assign_product(c, alpha, a.transpose(), b.transpose(), beta);
}

// Large products are split into independent row (or column) blocks, one per thread, each an
// Eigen product run single-threaded. Eigen's own multithreaded GEMM shares packed panels between
// its threads and busy-waits on them, which collapses when the cores are shared with other
// processes; independent blocks only meet at the join (the un-split operand is packed once per
// thread, a cost of 1 / block-size per multiply-add).
template <typename T>
void gemm_parallel(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
                   const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  static const bool eigen_single_threaded = (Eigen::setNbThreads(1), true);  // all threading is ours
  (void)eigen_single_threaded;
  constexpr int64_t kMinWorkPerThread = 64 * 64 * 64, kMinBlock = 16;
  const int64_t work = M * N * K, split = std::max(M, N);
  if (omp_in_parallel() || omp_get_max_threads() == 1 || work < 2 * kMinWorkPerThread || split < 2 * kMinBlock) {
    gemm_impl<T>(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  const int64_t grain = std::max(kMinBlock, kMinWorkPerThread / std::max<int64_t>(1, work / split));
  if (M >= N) {  // rows of op(A) and C
    parallel_for(M, grain, [&](int64_t m0, int64_t m1) {
      gemm_impl<T>(trans_a, trans_b, m1 - m0, N, K, alpha, trans_a ? A + m0 : A + m0 * lda, lda, B, ldb, beta,
                   C + m0 * ldc, ldc);
    });
  } else {  // columns of op(B) and C
    parallel_for(N, grain, [&](int64_t n0, int64_t n1) {
      gemm_impl<T>(trans_a, trans_b, M, n1 - n0, K, alpha, A, lda, trans_b ? B + n0 * ldb : B + n0, ldb, beta,
                   C + n0, ldc);
    });
  }
}

template <typename T>
void gemm_batched_impl(int64_t batch, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha,
                       const T* A, int64_t lda, int64_t stride_a, const T* B, int64_t ldb, int64_t stride_b, T beta,
                       T* C, int64_t ldc, int64_t stride_c) {
  // Below this many multiply-adds per product gemm_parallel would not split it, so parallelise
  // across the batch instead.
  constexpr int64_t kSmallProduct = 64 * 64 * 64;
  const bool across_batch = batch > 1 && M * N * K < kSmallProduct;
#pragma omp parallel for schedule(static) if (across_batch)
  for (int64_t i = 0; i < batch; ++i) {
    gemm_parallel<T>(trans_a, trans_b, M, N, K, alpha, A + i * stride_a, lda, B + i * stride_b, ldb, beta,
                 C + i * stride_c, ldc);
  }
}

}  // namespace

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  gemm_parallel<float>(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t lda,
          const double* B, int64_t ldb, double beta, double* C, int64_t ldc) {
  gemm_parallel<double>(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
void gemm_batched(int64_t batch, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                  const float* A, int64_t lda, int64_t stride_a, const float* B, int64_t ldb, int64_t stride_b,
                  float beta, float* C, int64_t ldc, int64_t stride_c) {
  gemm_batched_impl<float>(batch, trans_a, trans_b, M, N, K, alpha, A, lda, stride_a, B, ldb, stride_b, beta, C, ldc,
                           stride_c);
}
void gemm_batched(int64_t batch, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, double alpha,
                  const double* A, int64_t lda, int64_t stride_a, const double* B, int64_t ldb, int64_t stride_b,
                  double beta, double* C, int64_t ldc, int64_t stride_c) {
  gemm_batched_impl<double>(batch, trans_a, trans_b, M, N, K, alpha, A, lda, stride_a, B, ldb, stride_b, beta, C,
                            ldc, stride_c);
}

int num_threads() { return omp_get_max_threads(); }

}  // namespace cj::cpu
