#pragma once
// The stream every kernel, copy and GEMM of the backend is queued on. One stream for now (the
// legacy default stream), so ops run in issue order and the caching allocator can reuse a freed
// block at once; per-op streams and events come with overlap work later.
#include <cuda_runtime.h>

namespace cj::cuda {

inline cudaStream_t current_stream() { return cudaStream_t(0); }

// Throws cj::Error naming why, when this machine has no usable CUDA device (the build does have
// the backend: that is the other error, raised by tensor/storage.cpp). Checked once, then cached.
void require_device();

// Number of streaming multiprocessors of device 0 (sizes grids); requires a device.
int multiprocessor_count();

}  // namespace cj::cuda
