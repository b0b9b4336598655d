// Contiguous elementwise launches, versions side by side on exact GELU forward and backward at the
// predictor FFN's activation (28672 x 2048), the same functors (cuda/gelu.cuh) in every version:
//   one-vector  cuda::gelu / cuda::gelu_backward now (launch.cuh's contiguous path): a grid-stride
//               loop, each step one 16-byte vector per operand
//   unroll4     four 16-byte vectors per operand loaded before any is computed: more bytes in flight
//               per thread, for the memory latency (what PyTorch's vectorised kernel does)
// Correctness on the first 65536 elements against the CPU op in f64; timing on the whole tensor.
#include "bench/sandbox/sandbox.hpp"
#include "cuda/gelu.cuh"
#include "cuda/launch.cuh"

// A named namespace, not a global using-directive: cj::erfinv would clash with CUDA's in the stub.
namespace sandbox_elementwise {

using namespace cj;
using namespace cj::sandbox;

constexpr int kUnroll = 4;

// out = f(in...) over n contiguous elements, 16-byte aligned; kUnroll vectors per operand per step.
template <typename T, int NIN, typename F>
__global__ void unrolled_kernel(int64_t n, T* out, cuda::InPtrs<T, NIN> in, F f) {
  constexpr int VEC = 16 / sizeof(T);
  using V = cuda::Vec<T, VEC>;
  using M = cuda::math_t<T>;
  const int64_t step = int64_t(blockDim.x) * gridDim.x, nvec = n / VEC;
  for (int64_t first = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; first < nvec; first += step * kUnroll) {
    V a[kUnroll][NIN];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u)
#pragma unroll
      for (int k = 0; k < NIN; ++k)
        if (first + u * step < nvec) a[u][k] = reinterpret_cast<const V*>(in.p[k])[first + u * step];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      if (first + u * step >= nvec) break;
      V o;
#pragma unroll
      for (int j = 0; j < VEC; ++j) {
        M x[NIN];
#pragma unroll
        for (int k = 0; k < NIN; ++k) x[k] = cuda::cast_to<M>(a[u][k].v[j]);
        o.v[j] = cuda::cast_to<T>(cuda::apply<NIN>(f, x));
      }
      reinterpret_cast<V*>(out)[first + u * step] = o;
    }
  }
  for (int64_t i = nvec * VEC + blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += step) {  // tail
    M x[NIN];
#pragma unroll
    for (int k = 0; k < NIN; ++k) x[k] = cuda::load_math(in.p[k] + i);
    out[i] = cuda::cast_to<T>(cuda::apply<NIN>(f, x));
  }
}

template <typename T, int NIN, typename F>
Tensor unrolled(const std::array<Tensor, NIN>& in, F f) {
  Tensor out = Tensor::empty(in[0].shape(), {in[0].dtype(), in[0].device()});
  cuda::InPtrs<T, NIN> ptrs;
  for (int k = 0; k < NIN; ++k) {
    CJ_CHECK(in[k].is_contiguous() && cuda::aligned_to(in[k].data_ptr(), 16), "sandbox_elementwise: operand ", k,
             " must be contiguous and 16-byte aligned");
    ptrs.p[k] = static_cast<const T*>(in[k].data_ptr());
  }
  const int64_t n = out.numel(), vectors = n / (16 / sizeof(T));
  unrolled_kernel<T, NIN, F><<<cuda::grid_for(vectors / kUnroll + 1), cuda::kThreads, 0, cuda::current_stream()>>>(
      n, static_cast<T*>(out.data_ptr()), ptrs, f);
  CJ_CUDA_CHECK_LAUNCH("sandbox_elementwise unroll4");
  return out;
}

Tensor gelu_unrolled(const Tensor& x) {
  if (x.dtype() == DType::f32) return unrolled<float, 1>({x}, cuda::GeluErf<float>{});
  return unrolled<__nv_bfloat16, 1>({x}, cuda::GeluErf<float>{});
}
Tensor gelu_backward_unrolled(const Tensor& gy, const Tensor& x) {
  if (x.dtype() == DType::f32) return unrolled<float, 2>({gy, x}, cuda::GeluErfBackward<float>{});
  return unrolled<__nv_bfloat16, 2>({gy, x}, cuda::GeluErfBackward<float>{});
}

int run() {
  if (!gpu_present("sandbox_elementwise")) return 0;
  const int64_t rows = 28672, cols = 2048;
  bool failed = false;
  std::printf("%-22s %-12s %-5s %-11s %10s %6s %10s\n", "workload", "rows x cols", "dtype", "version", "error", "",
              "ms");
  for (DType dt : {DType::f32, DType::bf16}) {
    Tensor x = random({rows, cols}, dt, 7, Device::cuda()), gy = random({rows, cols}, dt, 8, Device::cuda());
    // the head: 32 rows (65536 elements; the last one is odd-sized to exercise the tail)
    Tensor hx = ops::contiguous(ops::slice(ops::view(x, {-1}), 0, 0, 65535, 1));
    Tensor hg = ops::contiguous(ops::slice(ops::view(gy, {-1}), 0, 0, 65535, 1));
    auto cpu64 = [](const Tensor& t) { return ops::to(ops::to(t, Device::cpu()), DType::f64); };
    Tensor ref_y = ops::gelu(cpu64(hx)), ref_g = ops::gelu_backward(cpu64(hg), cpu64(hx));
    auto row = [&](const char* what, const char* version, const Tensor& ref,
                   const std::function<Tensor(const Tensor&, const Tensor&)>& run) {
      const double err = normalized_error(run(hx, hg), ref);
      const double ms = median_ms([&] { run(x, gy); });
      std::printf("%-22s %-12s %-5s %-11s %10.2e %6s %10.4f\n", what, "28672x2048", dtype_name(dt), version, err,
                  verdict(err, dt, failed), ms);
    };
    auto forward = [](const Tensor& t, const Tensor&) { return cuda::gelu(t, ops::GeluApprox::none); };
    auto backward = [](const Tensor& t, const Tensor& g) { return cuda::gelu_backward(g, t, ops::GeluApprox::none); };
    row("gelu forward", "one-vector", ref_y, forward);
    row("gelu forward", "unroll4", ref_y, [](const Tensor& t, const Tensor&) { return gelu_unrolled(t); });
    row("gelu backward", "one-vector", ref_g, backward);
    row("gelu backward", "unroll4", ref_g, [](const Tensor& t, const Tensor& g) { return gelu_backward_unrolled(g, t); });
  }
  return failed ? 1 : 0;
}

}  // namespace sandbox_elementwise

int main() { return sandbox_elementwise::run(); }
