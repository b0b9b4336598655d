#pragma once
// The one dense matrix-product entry point of the CPU backend (Eigen's blocked, multithreaded GEMM).
// Every operand is row-major with a leading dimension (the distance between consecutive rows):
//   C (M, N) = alpha * op(A) (M, K) * op(B) (K, N) + beta * C
// where op(A) = A when !trans_a (A stored as M rows of K, lda >= K) and Aᵀ when trans_a (A stored as
// K rows of M, lda >= M); likewise for B. beta == 0 never reads C (it may hold garbage or NaN).
// Transposed views therefore need no copy: pass the untransposed storage with trans = true.
#include <cstdint>

namespace cj::cpu {

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc);
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t lda,
          const double* B, int64_t ldb, double beta, double* C, int64_t ldc);

// `batch` independent products; operand i starts at A + i * stride_a (and so on). A stride of 0
// reuses one operand for every product (a broadcast batch dim). Small products run in parallel
// across the batch; large ones one after another, each split across threads by Eigen.
void gemm_batched(int64_t batch, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                  const float* A, int64_t lda, int64_t stride_a, const float* B, int64_t ldb, int64_t stride_b,
                  float beta, float* C, int64_t ldc, int64_t stride_c);
void gemm_batched(int64_t batch, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, double alpha,
                  const double* A, int64_t lda, int64_t stride_a, const double* B, int64_t ldb, int64_t stride_b,
                  double beta, double* C, int64_t ldc, int64_t stride_c);

// Threads the CPU kernels may use (OpenMP's max threads).
int num_threads();

}  // namespace cj::cpu
