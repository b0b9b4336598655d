#pragma once
// Error checking for CUDA runtime calls: every failure names the call and the op it served.
#include <cuda_runtime.h>

#include "tensor/error.hpp"

#define CJ_CUDA_CHECK(call)                                                          \
  do {                                                                               \
    cudaError_t cj_err_ = (call);                                                    \
    if (cj_err_ != cudaSuccess)                                                      \
      ::cj::fail("CUDA error in ", #call, ": ", cudaGetErrorString(cj_err_), " (",   \
                 __FILE__, ":", __LINE__, ")");                                      \
  } while (0)

// After a kernel launch: a bad configuration (grid too large, too much shared memory) shows up
// here, named after the op that launched it.
#define CJ_CUDA_CHECK_LAUNCH(op)                                                     \
  do {                                                                               \
    cudaError_t cj_err_ = cudaGetLastError();                                        \
    if (cj_err_ != cudaSuccess)                                                      \
      ::cj::fail(op, ": CUDA kernel launch failed: ", cudaGetErrorString(cj_err_));  \
  } while (0)
