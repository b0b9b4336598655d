// Softmax over the last dim, forward and backward, versions side by side at the attention-probability
// shapes:
//   three-pass  the production kernels before issue #6: one warp per row, the row read from global
//               memory once per pass (forward: max, sum, write; backward: sum, write)
//   registers   cuda::softmax / cuda::softmax_backward now: one warp per row holding the row in
//               registers (P = 1..32 values per lane), one read (tensor/softmax_lanes.hpp)
// Correctness on the first 4096 rows against the CPU op in f64; timing on the whole shape.
#include "bench/sandbox/sandbox.hpp"
#include "cuda/dtype.cuh"
#include "cuda/reduce.cuh"
#include "cuda/stream.hpp"

// A named namespace, not a global using-directive: cj::erfinv would clash with CUDA's in the stub.
namespace sandbox_softmax {

using namespace cj;
using namespace cj::sandbox;

constexpr int kWarps = 8;  // rows per block

// ---- three-pass (the previous production kernels, warp rows only) ------------------------------
// x, y: (rows, cols) contiguous
template <typename T>
__global__ void softmax_three_pass_kernel(int64_t rows, int64_t cols, const T* x, T* y) {
  using A = float;
  cuda::RowThread<32> rt;
  if (rt.row >= rows) return;
  const T* px = x + rt.row * cols;
  T* py = y + rt.row * cols;
  A m = -INFINITY;
  for (int64_t c = rt.t; c < cols; c += 32) m = cuda::dmath::nan_max(m, cuda::load_math(px + c));
  m = cuda::warp_max(m);
  A s = 0;
  for (int64_t c = rt.t; c < cols; c += 32) s += expf(cuda::load_math(px + c) - m);
  const A inv_s = 1.f / cuda::warp_sum(s);
  for (int64_t c = rt.t; c < cols; c += 32) py[c] = cuda::cast_to<T>(expf(cuda::load_math(px + c) - m) * inv_s);
}

// y, gy, gx: (rows, cols) contiguous; gx = y (gy - Σ gy y)
template <typename T>
__global__ void softmax_backward_three_pass_kernel(int64_t rows, int64_t cols, const T* y, const T* gy, T* gx) {
  cuda::RowThread<32> rt;
  if (rt.row >= rows) return;
  const int64_t base = rt.row * cols;
  float s = 0;
  for (int64_t c = rt.t; c < cols; c += 32) s += cuda::load_math(gy + base + c) * cuda::load_math(y + base + c);
  s = cuda::warp_sum(s);
  for (int64_t c = rt.t; c < cols; c += 32)
    gx[base + c] = cuda::cast_to<T>(cuda::load_math(y + base + c) * (cuda::load_math(gy + base + c) - s));
}

template <typename T>
const T* in(const Tensor& t) { return static_cast<const T*>(t.data_ptr()); }

template <typename T>
Tensor three_pass_typed(const Tensor& x, const Tensor* gy) {
  const int64_t cols = x.size(-1), rows = x.numel() / cols;
  Tensor out = Tensor::empty(x.shape(), {x.dtype(), x.device()});
  const unsigned blocks = unsigned((rows + kWarps - 1) / kWarps);
  T* po = static_cast<T*>(out.data_ptr());
  auto s = cuda::current_stream();
  if (gy) softmax_backward_three_pass_kernel<T><<<blocks, kWarps * 32, 0, s>>>(rows, cols, in<T>(x), in<T>(*gy), po);
  else softmax_three_pass_kernel<T><<<blocks, kWarps * 32, 0, s>>>(rows, cols, in<T>(x), po);
  CJ_CUDA_CHECK_LAUNCH("sandbox_softmax three-pass");
  return out;
}

// forward: softmax(x); backward (gy given): softmax_backward(x as y, gy)
Tensor three_pass(const Tensor& x, const Tensor* gy) {
  return x.dtype() == DType::f32 ? three_pass_typed<float>(x, gy) : three_pass_typed<__nv_bfloat16>(x, gy);
}

int run() {
  if (!gpu_present("sandbox_softmax")) return 0;
  struct Case {
    const char* name;
    int64_t rows, cols;
  };
  const Case cases[] = {{"predictor probs 256*16*112 rows", 458752, 112}, {"DINOv2 probs 192*6*197 rows", 226944, 197}};
  bool failed = false;
  std::printf("%-34s %-14s %-5s %-9s %-11s %10s %6s %10s\n", "workload", "rows x cols", "dtype", "pass", "version",
              "error", "", "ms");
  for (const Case& c : cases)
    for (DType dt : {DType::f32, DType::bf16}) {
      Tensor y = cuda::softmax(random({c.rows, c.cols}, dt, 5, Device::cuda()), -1);
      Tensor gy = random({c.rows, c.cols}, dt, 6, Device::cuda());
      auto head = [](const Tensor& t) { return ops::contiguous(ops::slice(t, 0, 0, 4096, 1)); };
      auto cpu64 = [](const Tensor& t) { return ops::to(ops::to(t, Device::cpu()), DType::f64); };
      Tensor ref_y = ops::softmax(cpu64(head(y)), -1);  // the forward runs on y: a valid input too
      Tensor ref_g = ops::softmax_backward(cpu64(head(y)), cpu64(head(gy)), -1);
      const std::string dims = std::to_string(c.rows) + "x" + std::to_string(c.cols);
      auto row = [&](const char* pass, const char* version, const Tensor& ref,
                     const std::function<Tensor(const Tensor&, const Tensor&)>& run) {
        const double err = normalized_error(run(head(y), head(gy)), ref);
        const double ms = median_ms([&] { run(y, gy); });
        std::printf("%-34s %-14s %-5s %-9s %-11s %10.2e %6s %10.4f\n", c.name, dims.c_str(), dtype_name(dt), pass,
                    version, err, verdict(err, dt, failed), ms);
      };
      row("forward", "three-pass", ref_y, [](const Tensor& x, const Tensor&) { return three_pass(x, nullptr); });
      row("forward", "registers", ref_y, [](const Tensor& x, const Tensor&) { return cuda::softmax(x, -1); });
      row("backward", "three-pass", ref_g, [](const Tensor& y, const Tensor& g) { return three_pass(y, &g); });
      row("backward", "registers", ref_g,
          [](const Tensor& y, const Tensor& g) { return cuda::softmax_backward(y, g, -1); });
    }
  return failed ? 1 : 0;
}

}  // namespace sandbox_softmax

int main() { return sandbox_softmax::run(); }
