// A one-kernel self test: proves the toolchain, the driver and the device agree end to end.
#include <cmath>
#include <vector>

#include "cuda/check.hpp"
#include "cuda/device.hpp"

namespace cj::cuda {

namespace {
__global__ void saxpy_kernel(int n, float a, const float* x, float* y) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = a * x[i] + y[i];
}
}  // namespace

double selftest_saxpy(int n) {
  std::vector<float> x(n), y(n);
  for (int i = 0; i < n; ++i) {
    x[i] = 0.5f * i;
    y[i] = 1.0f - i;
  }
  float *dx = nullptr, *dy = nullptr;
  CJ_CUDA_CHECK(cudaMalloc(&dx, n * sizeof(float)));
  CJ_CUDA_CHECK(cudaMalloc(&dy, n * sizeof(float)));
  CJ_CUDA_CHECK(cudaMemcpy(dx, x.data(), n * sizeof(float), cudaMemcpyHostToDevice));
  CJ_CUDA_CHECK(cudaMemcpy(dy, y.data(), n * sizeof(float), cudaMemcpyHostToDevice));
  saxpy_kernel<<<(n + 255) / 256, 256>>>(n, 2.0f, dx, dy);
  CJ_CUDA_CHECK(cudaGetLastError());
  std::vector<float> out(n);
  CJ_CUDA_CHECK(cudaMemcpy(out.data(), dy, n * sizeof(float), cudaMemcpyDeviceToHost));
  CJ_CUDA_CHECK(cudaFree(dx));
  CJ_CUDA_CHECK(cudaFree(dy));
  double worst = 0;
  for (int i = 0; i < n; ++i) worst = std::fmax(worst, std::fabs(out[i] - (2.0f * x[i] + y[i])));
  return worst;
}

}  // namespace cj::cuda
