// Binds the caching allocator to cudaMalloc/cudaFree on device 0.
#include <cuda_runtime.h>

#include <string>

#include "cuda/allocator.hpp"
#include "cuda/check.hpp"
#include "cuda/stream.hpp"

namespace cj::cuda {

namespace {

class CudaMemory final : public RawMemory {
 public:
  void* raw_alloc(std::size_t nbytes) override {
    require_device();
    void* p = nullptr;
    cudaError_t err = cudaMalloc(&p, nbytes);
    if (err == cudaErrorMemoryAllocation) {
      cudaGetLastError();  // not sticky: clear it so the next call starts clean
      return nullptr;
    }
    CJ_CUDA_CHECK(err);
    return p;
  }
  void raw_free(void* ptr) override { CJ_CUDA_CHECK(cudaFree(ptr)); }
  std::string name() const override { return "cuda:0"; }
  std::string device_info() const override {
    std::size_t free_bytes = 0, total = 0;
    if (cudaMemGetInfo(&free_bytes, &total) != cudaSuccess) {
      cudaGetLastError();
      return "";
    }
    return "; the device has " + std::to_string(free_bytes >> 20) + " MiB free of " + std::to_string(total >> 20) +
           " MiB";
  }
};

}  // namespace

void require_device() {
  static const std::string why_not = [] {
    int count = 0;
    cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess) {
      cudaGetLastError();
      return std::string(cudaGetErrorString(err));
    }
    return count == 0 ? std::string("0 devices") : std::string();
  }();
  CJ_CHECK(why_not.empty(), "cuda: this build has the CUDA backend, but no CUDA device is usable on this machine (",
           why_not, ")");
}

int multiprocessor_count() {
  static const int count = [] {
    require_device();
    int n = 0;
    CJ_CUDA_CHECK(cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, 0));
    return n;
  }();
  return count;
}

CachingAllocator& cuda_allocator() {
  // Never destroyed: tensors held in statics may outlive it, and cudaFree after the runtime has
  // shut down fails; the driver reclaims everything at exit.
  static CachingAllocator* allocator = new CachingAllocator(std::make_unique<CudaMemory>());
  return *allocator;
}

AllocatorStats memory_stats() { return cuda_allocator().stats(); }
void empty_cache() { cuda_allocator().empty_cache(); }

}  // namespace cj::cuda
