#include "cuda/transfer.hpp"

#include <cuda_runtime.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <vector>

#include "cuda/check.hpp"
#include "cuda/staging_ring.hpp"
#include "cuda/stream.hpp"

namespace cj::cuda {

namespace {

constexpr std::size_t kUploadBytes = std::size_t(64) << 20;    // the upload ring
constexpr std::size_t kUploadChunk = kUploadBytes / 4;         // larger uploads go in pieces, pipelined
constexpr std::size_t kDownloadBytes = std::size_t(32) << 20;  // larger downloads go in 32 MiB chunks

// Uploads: a ring of pinned memory whose regions are guarded by events (see staging_ring.hpp).
// Downloads: one pinned buffer, since the host must wait for the bytes anyway. Both are allocated
// on first use and kept for the life of the process (the backend uses one device, device 0).
struct Staging {
  std::mutex mutex;
  char* upload = nullptr;
  char* download = nullptr;
  StagingRing<cudaEvent_t> ring{kUploadBytes};
  std::vector<cudaEvent_t> spare_events;  // events of released regions, reused

  char* upload_buffer() {
    if (!upload) CJ_CUDA_CHECK(cudaMallocHost(reinterpret_cast<void**>(&upload), kUploadBytes));
    return upload;
  }
  char* download_buffer() {
    if (!download) CJ_CUDA_CHECK(cudaMallocHost(reinterpret_cast<void**>(&download), kDownloadBytes));
    return download;
  }
  cudaEvent_t take_event() {
    if (spare_events.empty()) {
      cudaEvent_t e;
      CJ_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
      return e;
    }
    cudaEvent_t e = spare_events.back();
    spare_events.pop_back();
    return e;
  }
  // Room for n bytes in the upload ring; waits only on copies still reading that room.
  char* reserve_upload(std::size_t n) {
    const auto done = [this](cudaEvent_t e) {
      const cudaError_t status = cudaEventQuery(e);
      if (status == cudaErrorNotReady) {
        cudaGetLastError();  // not an error: clear it so the next launch check does not see it
        return false;
      }
      CJ_CUDA_CHECK(status);
      spare_events.push_back(e);
      return true;
    };
    const auto wait = [this](cudaEvent_t e) {
      CJ_CUDA_CHECK(cudaEventSynchronize(e));
      spare_events.push_back(e);
    };
    return upload_buffer() + ring.reserve(n, done, wait);
  }
};

Staging& staging() {
  static Staging* s = new Staging;  // never freed: see cuda_allocator()
  return *s;
}

}  // namespace

void copy_host_to_device(void* device_dst, const void* host_src, std::size_t nbytes) {
  if (nbytes == 0) return;
  require_device();
  auto& s = staging();
  std::lock_guard<std::mutex> lock(s.mutex);
  cudaStream_t stream = current_stream();
  for (std::size_t done = 0; done < nbytes;) {
    const std::size_t n = std::min(kUploadChunk, nbytes - done);
    char* pinned = s.reserve_upload(n);
    cudaEvent_t copied = s.take_event();  // first: once the copy is queued, nothing may throw before commit
    std::memcpy(pinned, static_cast<const char*>(host_src) + done, n);
    CJ_CUDA_CHECK(cudaMemcpyAsync(static_cast<char*>(device_dst) + done, pinned, n, cudaMemcpyHostToDevice, stream));
    const cudaError_t recorded = cudaEventRecord(copied, stream);
    if (recorded != cudaSuccess) {  // the copy is queued but unguarded: wait for it, then report
      s.spare_events.push_back(copied);
      CJ_CUDA_CHECK(cudaStreamSynchronize(stream));
      CJ_CUDA_CHECK(recorded);
    }
    s.ring.commit(copied);
    done += n;
  }
}

void copy_device_to_host(void* host_dst, const void* device_src, std::size_t nbytes) {
  if (nbytes == 0) return;
  require_device();
  auto& s = staging();
  std::lock_guard<std::mutex> lock(s.mutex);
  char* pinned = s.download_buffer();
  cudaStream_t stream = current_stream();
  for (std::size_t done = 0; done < nbytes;) {
    const std::size_t n = std::min(kDownloadBytes, nbytes - done);
    CJ_CUDA_CHECK(cudaMemcpyAsync(pinned, static_cast<const char*>(device_src) + done, n, cudaMemcpyDeviceToHost, stream));
    CJ_CUDA_CHECK(cudaStreamSynchronize(stream));
    std::memcpy(static_cast<char*>(host_dst) + done, pinned, n);
    done += n;
  }
}

}  // namespace cj::cuda
