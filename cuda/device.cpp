#include "cuda/device.hpp"

#include <cuda_runtime.h>
#include <cublasLt.h>
#ifdef CJ_WITH_CUDNN
#include <cudnn.h>
#endif

#include <string>

namespace cj::cuda {

namespace {
std::string version_string(int v) {  // CUDA encodes 13.0 as 13000
  return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10);
}
}  // namespace

DeviceQuery query_devices() {
  DeviceQuery q;
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    q.why_none = std::string("none visible (") + cudaGetErrorString(err) + ")";
    cudaGetLastError();  // clear the sticky error so later calls start clean
    return q;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp p{};
    if (cudaGetDeviceProperties(&p, i) != cudaSuccess) continue;
    q.devices.push_back({i, p.name, p.major, p.minor, p.totalGlobalMem, p.multiProcessorCount});
  }
  if (q.devices.empty()) q.why_none = "none visible (0 devices)";
  return q;
}

std::vector<std::string> library_versions() {
  std::vector<std::string> v;
  v.push_back("CUDA runtime " + version_string(CUDART_VERSION) + " (compiled)");
  int driver = 0;
  if (cudaDriverGetVersion(&driver) == cudaSuccess && driver > 0)
    v.push_back("CUDA driver " + version_string(driver));
  else
    v.push_back("CUDA driver: not installed");
  v.push_back("cuBLASLt " + std::to_string(cublasLtGetVersion()));
#ifdef CJ_WITH_CUDNN
  v.push_back("cuDNN " + std::to_string(cudnnGetVersion()));
#else
  v.push_back("cuDNN: not compiled in");
#endif
  return v;
}

}  // namespace cj::cuda
