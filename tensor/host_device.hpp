#pragma once
// CJ_HD marks a function that compiles for both the CPU (g++) and the GPU (nvcc): the per-element
// and per-tile math of a CUDA kernel lives in such a function, so the CPU test suites run the very
// code the GPU runs and only the launch around it needs a device to be checked.
#if defined(__CUDACC__)
#define CJ_HD __host__ __device__ __forceinline__
#else
#define CJ_HD inline
#endif

// CJ_UNROLL before a loop with a compile-time trip count: nvcc unrolls it (so arrays indexed by the
// loop stay in registers); g++ ignores it.
#if defined(__CUDA_ARCH__)
#define CJ_UNROLL _Pragma("unroll")
#else
#define CJ_UNROLL
#endif
