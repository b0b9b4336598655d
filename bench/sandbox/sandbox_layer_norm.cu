// layer_norm forward over the last dim, versions side by side at the models' shapes:
//   existing  cuda/layer_norm.cu: one warp per row, three passes over x in global memory (mean,
//             variance, normalise)
//   registers one warp per row holding the row in registers (C <= 32 * PER_LANE): one read of x,
//             the same two-pass statistics from registers
// Correctness (y, mean, rstd) on the first 4096 rows against the CPU op in f64; timing on the whole shape.
#include "bench/sandbox/sandbox.hpp"
#include "cuda/dtype.cuh"
#include "cuda/stream.hpp"

// A named namespace, not a global using-directive: cj::erfinv would clash with CUDA's in the stub.
namespace sandbox_layer_norm {

using namespace cj;
using namespace cj::sandbox;

constexpr int kWarps = 8;  // rows per block of the variant

__device__ __forceinline__ float warp_sum(float v) {
  for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
  return v;
}

// x, y: (rows, C) contiguous; w, b: (C); mean, rstd: (rows)
template <typename T, int PER_LANE>
__global__ void layer_norm_registers_kernel(int64_t rows, int C, const T* x, const T* w, const T* b, float eps, T* y,
                                            float* mean_out, float* rstd_out) {
  const int64_t row = blockIdx.x * int64_t(kWarps) + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (row >= rows) return;  // the whole warp leaves together
  const T* px = x + row * C;
  float v[PER_LANE];
  float s = 0.f;
#pragma unroll
  for (int n = 0; n < PER_LANE; ++n) {
    const int c = lane + 32 * n;
    v[n] = c < C ? cuda::cast_to<float>(px[c]) : 0.f;
    s += v[n];
  }
  const float mean = warp_sum(s) / float(C);
  float sq = 0.f;
#pragma unroll
  for (int n = 0; n < PER_LANE; ++n) {
    const float d = lane + 32 * n < C ? v[n] - mean : 0.f;
    sq += d * d;
  }
  const float rstd = rsqrtf(warp_sum(sq) / float(C) + eps);
  T* py = y + row * C;
#pragma unroll
  for (int n = 0; n < PER_LANE; ++n) {
    const int c = lane + 32 * n;
    if (c < C) py[c] = cuda::cast_to<T>((v[n] - mean) * rstd * cuda::cast_to<float>(w[c]) + cuda::cast_to<float>(b[c]));
  }
  if (lane == 0) {
    mean_out[row] = mean;
    rstd_out[row] = rstd;
  }
}

template <typename T>
ops::LayerNormOut layer_norm_registers(const Tensor& x, const Tensor& w, const Tensor& b) {
  const int64_t C = x.size(-1), rows = x.numel() / C;
  ops::LayerNormOut r{Tensor::empty(x.shape(), {x.dtype(), x.device()}),
                      Tensor::empty({rows}, {DType::f32, x.device()}), Tensor::empty({rows}, {DType::f32, x.device()})};
  const unsigned blocks = unsigned((rows + kWarps - 1) / kWarps);
  auto p = [](const Tensor& t) { return static_cast<const T*>(t.data_ptr()); };
  T* py = static_cast<T*>(r.out.data_ptr());
  float *pm = static_cast<float*>(r.mean.data_ptr()), *pr = static_cast<float*>(r.rstd.data_ptr());
  auto s = cuda::current_stream();
  if (C <= 128)
    layer_norm_registers_kernel<T, 4><<<blocks, kWarps * 32, 0, s>>>(rows, int(C), p(x), p(w), p(b), 1e-5f, py, pm, pr);
  else if (C <= 384)
    layer_norm_registers_kernel<T, 12>
        <<<blocks, kWarps * 32, 0, s>>>(rows, int(C), p(x), p(w), p(b), 1e-5f, py, pm, pr);
  else if (C <= 1024)
    layer_norm_registers_kernel<T, 32>
        <<<blocks, kWarps * 32, 0, s>>>(rows, int(C), p(x), p(w), p(b), 1e-5f, py, pm, pr);
  else
    fail("sandbox_layer_norm: the registers variant takes rows of at most 1024");
  CJ_CUDA_CHECK_LAUNCH("layer_norm_registers");
  return r;
}

ops::LayerNormOut registers_version(const Tensor& x, const Tensor& w, const Tensor& b) {
  return x.dtype() == DType::f32 ? layer_norm_registers<float>(x, w, b) : layer_norm_registers<__nv_bfloat16>(x, w, b);
}

int run() {
  if (!gpu_present("sandbox_layer_norm")) return 0;
  struct Case {
    const char* name;
    int64_t rows, C;
  };
  const Case cases[] = {{"predictor 256*112 tokens x 128", 28672, 128}, {"DINOv2-S 192*197 tokens x 384", 37824, 384}};
  bool failed = false;
  std::printf("%-32s %-12s %-5s %-10s %10s %10s %6s %10s\n", "workload", "rows x C", "dtype", "version", "err y",
              "err stats", "", "ms");
  for (const Case& c : cases)
    for (DType dt : {DType::f32, DType::bf16}) {
      Tensor x = random({c.rows, c.C}, dt, 6, Device::cuda());
      Tensor w = random({c.C}, dt, 7, Device::cuda()), b = random({c.C}, dt, 8, Device::cuda());
      Tensor head = ops::contiguous(ops::slice(x, 0, 0, 4096, 1));
      auto cpu64 = [](const Tensor& t) { return ops::to(ops::to(t, Device::cpu()), DType::f64); };
      auto ref = ops::layer_norm(cpu64(head), {c.C}, cpu64(w), cpu64(b), 1e-5);
      const std::string dims = std::to_string(c.rows) + "x" + std::to_string(c.C);
      using Run = std::function<ops::LayerNormOut(const Tensor&, const Tensor&, const Tensor&)>;
      auto row = [&](const char* version, const Run& run) {
        auto got = run(head, w, b);
        const double err = normalized_error(got.out, ref.out);
        const double err_stats = std::max(normalized_error(got.mean, ref.mean), normalized_error(got.rstd, ref.rstd));
        bool wrong = false;
        verdict(err, dt, wrong);
        verdict(err_stats, DType::f32, wrong);  // mean and rstd are f32 whatever the dtype
        failed |= wrong;
        const double ms = median_ms([&] { run(x, w, b); });
        std::printf("%-32s %-12s %-5s %-10s %10.2e %10.2e %6s %10.4f\n", c.name, dims.c_str(), dtype_name(dt), version,
                    err, err_stats, wrong ? "WRONG" : "ok", ms);
      };
      row("existing", [&](const Tensor& t, const Tensor& wt, const Tensor& bt) {
        return cuda::layer_norm(t, {c.C}, wt, bt, 1e-5);
      });
      row("registers", registers_version);
    }
  return failed ? 1 : 0;
}

}  // namespace sandbox_layer_norm

int main() { return sandbox_layer_norm::run(); }
