// Attention versions side by side at the models' shapes: the fused flash kernels
// (cuda/flash_attention.cu; for bf16/f16 at head dims 32 and 64 the forward on the tensor cores,
// flash_attention_mma.cu, as "flash-tc", beside the CUDA-core kernel as "flash") and the GEMM +
// softmax path (cuda/attention.cu), forward and backward (the backward is the same for both flash rows).
// Correctness: both against the CPU op in f64 on the same rounded inputs, at the model's heads and
// lengths with batch 2 and a key-padding mask; timing: the full batch, no mask.
// PyTorch's SDPA at the same shapes: bench/torch_cuda_reference.py (workloads attn_*).
#include "bench/sandbox/sandbox.hpp"
#include "cuda/flash_attention.hpp"

using namespace cj;
using namespace cj::sandbox;

namespace {

struct Shape5 {
  const char* name;
  int64_t B, H, Lq, Lk, E;
};

const Shape5 kShapes[] = {
    {"predictor 16x8", 256, 16, 112, 112, 8},
    {"ALOE 8x18", 96, 8, 208, 208, 18},
    {"VideoSAUR slots 4x32", 192, 4, 7, 196, 32},
    {"VideoSAUR slot-slot 4x32", 192, 4, 7, 7, 32},
    {"DINOv2-S 6x64 (196px)", 192, 6, 197, 197, 64},
    {"DINOv2-S 6x64 (224px)", 64, 6, 257, 257, 64},
    {"DINOv2-B 12x64 (4 registers)", 192, 12, 201, 201, 64},
};

// The versions: the flash path with or without the tensor-core forward, and the GEMM path.
struct Version {
  const char* name;
  cuda::AttentionPath path;
  bool tensor_cores;
};
const Version kVersions[] = {{"flash-tc", cuda::AttentionPath::flash, true},
                             {"flash", cuda::AttentionPath::flash, false},
                             {"gemm", cuda::AttentionPath::gemm, false}};

void use(const Version& v) {
  cuda::set_attention_path(v.path);
  cuda::flash_attention::set_tensor_cores(v.tensor_cores);
}

struct Qkv {
  Tensor q, k, v, gout;
  std::optional<Tensor> mask;
};

Qkv make(const Shape5& s, int64_t B, DType dt, Device dev, bool padded) {
  Qkv x{random({B, s.H, s.Lq, s.E}, dt, 1, dev), random({B, s.H, s.Lk, s.E}, dt, 2, dev),
        random({B, s.H, s.Lk, s.E}, dt, 3, dev), random({B, s.H, s.Lq, s.E}, dt, 4, dev), std::nullopt};
  if (padded) {  // the last batch entry ignores its last third of keys
    std::vector<bool> keep(B * s.Lk, true);
    for (int64_t j = s.Lk - s.Lk / 3; j < s.Lk; ++j) keep[(B - 1) * s.Lk + j] = false;
    x.mask = ops::to(from_vector(keep, {B, 1, 1, s.Lk}), dev);
  }
  return x;
}

struct Errors {
  double out, grad;  // grad: the worst of gq, gk, gv
};

Errors check(const Shape5& s, DType dt, const Version& version) {
  Qkv cpu = make(s, 2, dt, Device::cpu(), true);
  auto f64 = [](const Tensor& t) { return ops::to(t, DType::f64); };
  auto ref = ops::scaled_dot_product_attention(f64(cpu.q), f64(cpu.k), f64(cpu.v), cpu.mask);
  auto gref = ops::scaled_dot_product_attention_backward(f64(cpu.gout), f64(cpu.q), f64(cpu.k), f64(cpu.v), ref.out,
                                                         ref.lse, cpu.mask, std::nullopt);
  Qkv gpu = make(s, 2, dt, Device::cuda(), true);
  use(version);
  auto f = cuda::scaled_dot_product_attention(gpu.q, gpu.k, gpu.v, gpu.mask, std::nullopt);
  auto g = cuda::scaled_dot_product_attention_backward(gpu.gout, gpu.q, gpu.k, gpu.v, f.out, f.lse, gpu.mask,
                                                       std::nullopt);
  return {normalized_error(f.out, ref.out), std::max({normalized_error(g.gq, gref.gq), normalized_error(g.gk, gref.gk),
                                                      normalized_error(g.gv, gref.gv)})};
}

}  // namespace

int main() {
  if (!gpu_present("sandbox_attention")) return 0;
  bool failed = false;
  std::printf("%-28s %-22s %-5s %-8s %10s %10s %6s %10s %10s\n", "workload", "B x H x Lq x Lk x E", "dtype", "path",
              "err fwd", "err bwd", "", "fwd ms", "bwd ms");
  for (const Shape5& s : kShapes)
    for (DType dt : {DType::f32, DType::bf16}) {
      Qkv x = make(s, s.B, dt, Device::cuda(), false);
      for (const Version& version : kVersions) {
        if (version.tensor_cores && (dt == DType::f32 || (s.E != 32 && s.E != 64))) continue;  // same as "flash"
        const Errors e = check(s, dt, version);
        use(version);
        auto f = cuda::scaled_dot_product_attention(x.q, x.k, x.v, std::nullopt, std::nullopt);
        const double fwd =
            median_ms([&] { cuda::scaled_dot_product_attention(x.q, x.k, x.v, std::nullopt, std::nullopt); });
        const double bwd = median_ms([&] {
          cuda::scaled_dot_product_attention_backward(x.gout, x.q, x.k, x.v, f.out, f.lse, std::nullopt, std::nullopt);
        });
        const std::string dims = std::to_string(s.B) + "x" + std::to_string(s.H) + "x" + std::to_string(s.Lq) + "x" +
                                 std::to_string(s.Lk) + "x" + std::to_string(s.E);
        std::printf("%-28s %-22s %-5s %-8s %10.2e %10.2e %6s %10.4f %10.4f\n", s.name, dims.c_str(), dtype_name(dt),
                    version.name, e.out, e.grad, verdict(std::max(e.out, e.grad), dt, failed), fwd, bwd);
      }
    }
  cuda::set_attention_path(cuda::AttentionPath::automatic);
  cuda::flash_attention::set_tensor_cores(true);
  return failed ? 1 : 0;
}
