// CUDA kernels at the models' shapes (bench/workloads.txt; torch_cuda_reference.py times the
// same list in PyTorch). Each sample is GPU time between two events around 10 launches, so host
// overhead that overlaps the GPU is not counted, as in the PyTorch script; the report is the
// median of 10 samples. TF32 stays off.
#include <benchmark/benchmark.h>
#include <cuda_runtime.h>

#include <fstream>
#include <functional>
#include <iostream>
#include <random>
#include <sstream>

#include "cuda/check.hpp"
#include "cuda/device.hpp"
#include "cuda/ops.hpp"
#include "tensor/ops.hpp"

using namespace cj;

namespace {

constexpr int kLaunchesPerSample = 10;

Tensor random_gpu(const Shape& shape, DType dtype, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  std::vector<float> v(shape_numel(shape));
  for (auto& x : v) x = dist(rng);
  return ops::to(ops::to(from_vector(v, shape), dtype), Device::cuda());
}

void time_gpu(benchmark::State& state, const std::function<void()>& op) {
  cudaEvent_t start, stop;
  CJ_CUDA_CHECK(cudaEventCreate(&start));
  CJ_CUDA_CHECK(cudaEventCreate(&stop));
  for (int i = 0; i < 3; ++i) op();  // warm-up: algorithm choice, cached blocks
  for (auto _ : state) {
    CJ_CUDA_CHECK(cudaEventRecord(start));
    for (int i = 0; i < kLaunchesPerSample; ++i) op();
    CJ_CUDA_CHECK(cudaEventRecord(stop));
    CJ_CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    CJ_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    state.SetIterationTime(ms / 1e3 / kLaunchesPerSample);
  }
  CJ_CUDA_CHECK(cudaEventDestroy(start));
  CJ_CUDA_CHECK(cudaEventDestroy(stop));
}

// SAVi's convolutions, dims N C S: conv2d (N, C, S, S) -> same size, conv_transpose2d (N, C, S, S) ->
// (N, C, 2S, 2S); kernel 5, padding 2 (stride 2 and output_padding 1 for the transposed one).
std::function<void()> conv_workload(const std::string& op, DType dtype, const std::vector<int64_t>& dims) {
  const int64_t N = dims[0], C = dims[1], S = dims[2];
  const bool transposed = op.rfind("conv_transpose2d", 0) == 0;
  Conv2dParams p;
  p.pad_h = p.pad_w = 2;
  if (transposed) p.stride_h = p.stride_w = 2, p.output_pad_h = p.output_pad_w = 1;
  Tensor x = random_gpu({N, C, S, S}, dtype, 10), w = random_gpu({C, C, 5, 5}, dtype, 11), b = random_gpu({C}, dtype, 12);
  if (op == "conv2d_fwd") return [x, w, b, p] { cuda::conv2d(x, w, b, p); };
  if (op == "conv_transpose2d_fwd") return [x, w, b, p] { cuda::conv_transpose2d(x, w, b, p); };
  Tensor gy = random_gpu(transposed ? Shape{N, C, 2 * S, 2 * S} : Shape{N, C, S, S}, dtype, 13);
  if (op == "conv2d_bwd") return [gy, x, w, p] { cuda::conv2d_backward(gy, x, w, true, p); };
  if (op == "conv_transpose2d_bwd") return [gy, x, w, p] { cuda::conv_transpose2d_backward(gy, x, w, true, p); };
  fail("bench_cuda_ops: unknown op '", op, "' in workloads.txt");
}

std::function<void()> make_workload(const std::string& op, DType dtype, const std::vector<int64_t>& dims) {
  if (op == "mm") {
    Tensor a = random_gpu({dims[0], dims[1]}, dtype, 1), b = random_gpu({dims[1], dims[2]}, dtype, 2);
    return [a, b] { cuda::mm(a, b); };
  }
  if (op == "attention_fwd" || op == "attention_bwd") {  // dims: B H Lq Lk E, no mask, whichever path is automatic
    Tensor q = random_gpu({dims[0], dims[1], dims[2], dims[4]}, dtype, 6);
    Tensor k = random_gpu({dims[0], dims[1], dims[3], dims[4]}, dtype, 7);
    Tensor v = random_gpu({dims[0], dims[1], dims[3], dims[4]}, dtype, 8);
    if (op == "attention_fwd") return [q, k, v] { cuda::scaled_dot_product_attention(q, k, v, std::nullopt, std::nullopt); };
    auto f = cuda::scaled_dot_product_attention(q, k, v, std::nullopt, std::nullopt);
    Tensor go = random_gpu(f.out.shape(), dtype, 9);
    return [q, k, v, f, go] {
      cuda::scaled_dot_product_attention_backward(go, q, k, v, f.out, f.lse, std::nullopt, std::nullopt);
    };
  }
  if (op.rfind("conv", 0) == 0) return conv_workload(op, dtype, dims);
  Tensor x = random_gpu({dims[0], dims[1]}, dtype, 3);
  if (op == "layer_norm") {
    Tensor w = random_gpu({dims[1]}, dtype, 4), b = random_gpu({dims[1]}, dtype, 5);
    return [x, w, b, C = dims[1]] { cuda::layer_norm(x, {C}, w, b, 1e-5); };
  }
  if (op == "softmax") return [x] { cuda::softmax(x, -1); };
  if (op == "softmax_backward") {  // from y = softmax(x), as autograd calls it
    Tensor y = cuda::softmax(x, -1), gy = random_gpu(x.shape(), dtype, 4);
    return [y, gy] { cuda::softmax_backward(y, gy, -1); };
  }
  if (op == "gelu") return [x] { cuda::gelu(x, ops::GeluApprox::none); };
  if (op == "gelu_backward") {
    Tensor gy = random_gpu(x.shape(), dtype, 4);
    return [x, gy] { cuda::gelu_backward(gy, x, ops::GeluApprox::none); };
  }
  fail("bench_cuda_ops: unknown op '", op, "' in workloads.txt");
}

}  // namespace

int main(int argc, char** argv) {
  auto q = cuda::query_devices();
  if (q.devices.empty()) {
    std::cout << "bench_cuda_ops: skipped, no GPU: " << q.why_none << "\n";
    return 0;
  }
  cuda::set_allow_tf32(false);
  std::ifstream list(CJ_BENCH_WORKLOADS);
  CJ_CHECK(list.good(), "bench_cuda_ops: cannot read ", CJ_BENCH_WORKLOADS);
  std::string line;
  while (std::getline(list, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream in(line);
    std::string name, op, dtype;
    in >> name >> op >> dtype;
    std::vector<int64_t> dims;
    for (int64_t d; in >> d;) dims.push_back(d);
    auto run = make_workload(op, dtype_from_name(dtype), dims);
    benchmark::RegisterBenchmark(name.c_str(), [run](benchmark::State& s) { time_gpu(s, run); })
        ->UseManualTime()
        ->Unit(benchmark::kMicrosecond)
        ->MinTime(0.05)
        ->Repetitions(10)
        ->ReportAggregatesOnly(true);
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
