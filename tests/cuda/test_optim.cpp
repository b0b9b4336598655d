// The multi-tensor optimizer kernels on CUDA against the CPU loops (which tests/nn checks against
// the unfused optimizer): ops::fused_adam_ over several steps for every dtype and variant, and the
// two passes of clip_grad_norm (ops::foreach_norm_partial, ops::foreach_mul_) over mixed dtypes.
#include "tensor/backend.hpp"
#include "tensor/ops/optim.hpp"
#include "tests/cuda/bitwise.hpp"

using namespace cj;
using namespace cj::test;

namespace {

TEST(CudaOptim, KernelsAreRegisteredWithoutAGpu) {
  EXPECT_EQ(backend::find_op_erased(DeviceType::cuda, "fused_adam_"),
            reinterpret_cast<backend::AnyFn>(&cuda::fused_adam_));
  EXPECT_EQ(backend::find_op_erased(DeviceType::cuda, "foreach_norm_partial"),
            reinterpret_cast<backend::AnyFn>(&cuda::foreach_norm_partial));
  EXPECT_EQ(backend::find_op_erased(DeviceType::cuda, "foreach_mul_"),
            reinterpret_cast<backend::AnyFn>(&cuda::foreach_mul_));
  EXPECT_EQ(backend::find_op_erased(DeviceType::cuda, "philox_fill_"),
            reinterpret_cast<backend::AnyFn>(&cuda::philox_fill_));
}

const std::vector<Shape> kShapes = {{33, 17}, {5}, {4096 * 4 + 3}, {1}, {3, 2, 7}};

// One side of the comparison: parameters and flat state on one device.
struct Side {
  std::vector<Tensor> params;
  Tensor m, v, vmax;
  std::vector<int64_t> offsets;
};

Side make_side(DType t, Device d, bool amsgrad) {
  Side s;
  int64_t total = 0;
  for (std::size_t i = 0; i < kShapes.size(); ++i) {
    s.params.push_back(ops::to(random_cpu(kShapes[i], t, 100 + uint32_t(i)), d));
    s.offsets.push_back(total);
    total += shape_numel(kShapes[i]);
  }
  s.m = zeros({total}, {t, d}), s.v = zeros({total}, {t, d});
  if (amsgrad) s.vmax = zeros({total}, {t, d});
  return s;
}

TEST(CudaOptim, FusedAdamMatchesTheCpuLoopBitForBit) {
  CJ_REQUIRE_GPU();
  for (DType t : float_dtypes())
    for (bool decoupled : {true, false})
      for (bool amsgrad : {false, true}) {
        const std::string what = std::string(dtype_name(t)) + (decoupled ? " AdamW" : " Adam") + (amsgrad ? " amsgrad" : "");
        Side cpu = make_side(t, Device::cpu(), amsgrad), gpu = make_side(t, Device::cuda(), amsgrad);
        const ops::AdamConfig config{0.9, 0.999, 1e-8, decoupled, amsgrad};
        for (int step = 1; step <= 5; ++step) {
          std::vector<ops::AdamSlice> on_cpu, on_gpu;
          for (std::size_t i = 0; i < kShapes.size(); ++i) {
            if (i == 1 && step % 2 == 0) continue;  // a parameter without a gradient this step
            Tensor g = random_cpu(kShapes[i], t, 1000 * step + uint32_t(i), -0.5f, 0.5f);
            const double lr = 1e-2 / step, wd = i == 3 ? 0.0 : 0.05;
            const int64_t k = i == 1 ? (step + 1) / 2 : step;
            on_cpu.push_back({cpu.params[i], g, cpu.offsets[i], lr, wd, k});
            on_gpu.push_back({gpu.params[i], to_gpu(g), gpu.offsets[i], lr, wd, k});
          }
          ops::fused_adam_(on_cpu, cpu.m, cpu.v, cpu.vmax, config);
          ops::fused_adam_(on_gpu, gpu.m, gpu.v, gpu.vmax, config);  // forwards to cuda::fused_adam_
        }
        for (std::size_t i = 0; i < kShapes.size(); ++i)
          EXPECT_EQ(first_difference(gpu.params[i], cpu.params[i]), "")
              << what << ": param " << i << ", normalised error " << normalized_error(values(gpu.params[i]), values(cpu.params[i]));
        EXPECT_EQ(first_difference(gpu.m, cpu.m), "") << what << ": exp_avg";
        EXPECT_EQ(first_difference(gpu.v, cpu.v), "") << what << ": exp_avg_sq";
        if (amsgrad) {
          EXPECT_EQ(first_difference(gpu.vmax, cpu.vmax), "") << what << ": max_exp_avg_sq";
        }
      }
}

TEST(CudaOptim, NormAndScalingMatchTheCpuOverMixedDtypes) {
  CJ_REQUIRE_GPU();
  std::vector<Tensor> cpu, gpu;
  const std::vector<DType> dtypes = {DType::f32, DType::bf16, DType::f64, DType::f16, DType::f32};
  for (std::size_t i = 0; i < dtypes.size(); ++i) {
    Tensor t = random_cpu({int64_t(3000 * i + 7)}, dtypes[i], 300 + uint32_t(i));
    cpu.push_back(t);
    gpu.push_back(to_gpu(t));
  }
  gpu.push_back(ops::transpose(to_gpu(random_cpu({40, 30}, DType::f32, 9)), 0, 1));  // strided
  cpu.push_back(to_cpu(gpu.back()));
  for (bool inf_norm : {false, true}) {
    const double want = ops::foreach_norm_partial(cpu, inf_norm), got = ops::foreach_norm_partial(gpu, inf_norm);
    if (inf_norm) {
      EXPECT_EQ(got, want);  // a max is exact in any order
    } else {
      EXPECT_NEAR(got, want, 1e-13 * want);
    }
  }
  ops::foreach_mul_(cpu, 0.37);
  ops::foreach_mul_(gpu, 0.37);
  for (std::size_t i = 0; i < cpu.size(); ++i)
    EXPECT_EQ(first_difference(gpu[i], cpu[i]), "") << "tensor " << i << " (" << dtype_name(cpu[i].dtype()) << ")";
  // NaN propagates through both reductions
  Tensor bad = to_gpu(tensor({1.0f, NAN, 2.0f}));
  EXPECT_TRUE(std::isnan(ops::foreach_norm_partial({gpu[0], bad}, false)));
  EXPECT_TRUE(std::isnan(ops::foreach_norm_partial({gpu[0], bad}, true)));
}

}  // namespace
