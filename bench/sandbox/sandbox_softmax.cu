// Softmax over the last dim, versions side by side at the attention-probability shapes:
//   existing  cuda/softmax.cu: one warp per row, three passes over x in global memory (max, sum, write)
//   registers one warp per row holding the row in registers (cols <= 32 * PER_LANE): one read of x,
//             max and sum by shuffles
// Correctness on the first 4096 rows against the CPU op in f64; timing on the whole shape.
#include "bench/sandbox/sandbox.hpp"
#include "cuda/dtype.cuh"
#include "cuda/stream.hpp"

// A named namespace, not a global using-directive: cj::erfinv would clash with CUDA's in the stub.
namespace sandbox_softmax {

using namespace cj;
using namespace cj::sandbox;

constexpr int kWarps = 8;  // rows per block of the variant

__device__ __forceinline__ float warp_max(float v) {
  for (int off = 16; off > 0; off >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, off));
  return v;
}
__device__ __forceinline__ float warp_sum(float v) {
  for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
  return v;
}

// x, y: (rows, cols) contiguous
template <typename T, int PER_LANE>
__global__ void softmax_registers_kernel(int64_t rows, int cols, const T* x, T* y) {
  const int64_t row = blockIdx.x * int64_t(kWarps) + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (row >= rows) return;  // the whole warp leaves together
  const T* px = x + row * cols;
  float v[PER_LANE];
  float m = -INFINITY;
#pragma unroll
  for (int n = 0; n < PER_LANE; ++n) {
    const int c = lane + 32 * n;
    v[n] = c < cols ? cuda::cast_to<float>(px[c]) : -INFINITY;
    m = fmaxf(m, v[n]);
  }
  m = warp_max(m);
  float s = 0.f;
#pragma unroll
  for (int n = 0; n < PER_LANE; ++n) {
    v[n] = lane + 32 * n < cols ? expf(v[n] - m) : 0.f;
    s += v[n];
  }
  const float inv = 1.f / warp_sum(s);
  T* py = y + row * cols;
#pragma unroll
  for (int n = 0; n < PER_LANE; ++n)
    if (lane + 32 * n < cols) py[lane + 32 * n] = cuda::cast_to<T>(v[n] * inv);
}

template <typename T>
void softmax_registers(const Tensor& x, const Tensor& y) {
  const int64_t cols = x.size(-1), rows = x.numel() / cols;
  const unsigned blocks = unsigned((rows + kWarps - 1) / kWarps);
  const T* px = static_cast<const T*>(x.data_ptr());
  T* py = static_cast<T*>(y.data_ptr());
  auto s = cuda::current_stream();
  if (cols <= 128) softmax_registers_kernel<T, 4><<<blocks, kWarps * 32, 0, s>>>(rows, int(cols), px, py);
  else if (cols <= 256) softmax_registers_kernel<T, 8><<<blocks, kWarps * 32, 0, s>>>(rows, int(cols), px, py);
  else if (cols <= 512) softmax_registers_kernel<T, 16><<<blocks, kWarps * 32, 0, s>>>(rows, int(cols), px, py);
  else fail("sandbox_softmax: the registers variant takes rows of at most 512");
  CJ_CUDA_CHECK_LAUNCH("softmax_registers");
}

Tensor registers_version(const Tensor& x) {
  Tensor y = Tensor::empty(x.shape(), {x.dtype(), x.device()});
  if (x.dtype() == DType::f32) softmax_registers<float>(x, y);
  else softmax_registers<__nv_bfloat16>(x, y);
  return y;
}

int run() {
  if (!gpu_present("sandbox_softmax")) return 0;
  struct Case {
    const char* name;
    int64_t rows, cols;
  };
  const Case cases[] = {{"predictor probs 256*16*112 rows", 458752, 112}, {"DINOv2 probs 192*6*197 rows", 226944, 197}};
  bool failed = false;
  std::printf("%-34s %-14s %-5s %-10s %10s %6s %10s\n", "workload", "rows x cols", "dtype", "version", "error", "",
              "ms");
  for (const Case& c : cases)
    for (DType dt : {DType::f32, DType::bf16}) {
      Tensor x = random({c.rows, c.cols}, dt, 5, Device::cuda());
      Tensor head = ops::contiguous(ops::slice(x, 0, 0, 4096, 1));
      Tensor ref = ops::softmax(ops::to(ops::to(head, Device::cpu()), DType::f64), -1);
      const std::string dims = std::to_string(c.rows) + "x" + std::to_string(c.cols);
      auto row = [&](const char* version, const std::function<Tensor(const Tensor&)>& run) {
        const double err = normalized_error(run(head), ref);
        const double ms = median_ms([&] { run(x); });
        std::printf("%-34s %-14s %-5s %-10s %10.2e %6s %10.4f\n", c.name, dims.c_str(), dtype_name(dt), version, err,
                    verdict(err, dt, failed), ms);
      };
      row("existing", [](const Tensor& t) { return cuda::softmax(t, -1); });
      row("registers", registers_version);
    }
  return failed ? 1 : 0;
}

}  // namespace sandbox_softmax

int main() { return sandbox_softmax::run(); }
