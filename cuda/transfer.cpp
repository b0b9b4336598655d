#include "cuda/transfer.hpp"

#include <cuda_runtime.h>

#include <algorithm>
#include <cstring>
#include <mutex>

#include "cuda/check.hpp"
#include "cuda/stream.hpp"

namespace cj::cuda {

namespace {

constexpr std::size_t kStagingBytes = std::size_t(32) << 20;  // larger copies go in 32 MiB chunks

struct PinnedStaging {
  std::mutex mutex;
  char* buffer = nullptr;  // allocated on first use, kept for the life of the process

  char* get() {
    if (!buffer) CJ_CUDA_CHECK(cudaMallocHost(reinterpret_cast<void**>(&buffer), kStagingBytes));
    return buffer;
  }
};

PinnedStaging& staging() {
  static PinnedStaging* s = new PinnedStaging;  // never freed: see cuda_allocator()
  return *s;
}

}  // namespace

void copy_host_to_device(void* device_dst, const void* host_src, std::size_t nbytes) {
  if (nbytes == 0) return;
  require_device();
  auto& s = staging();
  std::lock_guard<std::mutex> lock(s.mutex);
  char* pinned = s.get();
  cudaStream_t stream = current_stream();
  for (std::size_t done = 0; done < nbytes;) {
    std::size_t n = std::min(kStagingBytes, nbytes - done);
    std::memcpy(pinned, static_cast<const char*>(host_src) + done, n);
    CJ_CUDA_CHECK(cudaMemcpyAsync(static_cast<char*>(device_dst) + done, pinned, n, cudaMemcpyHostToDevice, stream));
    CJ_CUDA_CHECK(cudaStreamSynchronize(stream));  // the buffer is refilled next round
    done += n;
  }
}

void copy_device_to_host(void* host_dst, const void* device_src, std::size_t nbytes) {
  if (nbytes == 0) return;
  require_device();
  auto& s = staging();
  std::lock_guard<std::mutex> lock(s.mutex);
  char* pinned = s.get();
  cudaStream_t stream = current_stream();
  for (std::size_t done = 0; done < nbytes;) {
    std::size_t n = std::min(kStagingBytes, nbytes - done);
    CJ_CUDA_CHECK(cudaMemcpyAsync(pinned, static_cast<const char*>(device_src) + done, n, cudaMemcpyDeviceToHost, stream));
    CJ_CUDA_CHECK(cudaStreamSynchronize(stream));
    std::memcpy(static_cast<char*>(host_dst) + done, pinned, n);
    done += n;
  }
}

}  // namespace cj::cuda
