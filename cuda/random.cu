// Philox draws on the GPU (rand, randn, randint, uniform_, normal_ on CUDA tensors): one thread per
// Philox block, running tensor/philox.hpp's functions, so a CUDA tensor gets exactly the values the
// CPU would draw for the same generator state. Compiled with -fmad=false (cuda/CMakeLists.txt):
// the transforms' a*b+c must round twice, as on the CPU.
#include "cuda/check.hpp"
#include "cuda/dtype.cuh"
#include "cuda/launch.cuh"
#include "cuda/ops.hpp"
#include "tensor/dispatch.hpp"
#include "tensor/philox.hpp"

namespace cj::cuda {

namespace {

template <typename T>
__global__ void philox_fill_kernel(T* out, int64_t n, philox::Draw draw, uint64_t seed, uint64_t first_block) {
  const int64_t blocks = (n + draw.per_block - 1) / draw.per_block;
  for (int64_t b = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; b < blocks; b += int64_t(gridDim.x) * blockDim.x) {
    uint32_t w[4];
    philox::block(seed, first_block + uint64_t(b), 0, w);
    const int64_t base = b * draw.per_block;
    if (draw.kind == philox::Draw::integer) {
      int64_t v[4];
      philox::integer_values(draw, w, v);
      for (int q = 0; q < draw.per_block && base + q < n; ++q) out[base + q] = cast_to<T>(v[q]);
    } else {
      double v[4];
      philox::real_values(draw, w, v);
      for (int q = 0; q < draw.per_block && base + q < n; ++q) out[base + q] = cast_to<T>(v[q]);
    }
  }
}

}  // namespace

void philox_fill_(const Tensor& t, const philox::Draw& draw, uint64_t seed, uint64_t first_block) {
  check_cuda("philox_fill_", t);
  const int64_t n = t.numel();
  if (n > 0) {
    // Values are laid out row-major: a strided tensor is filled through a contiguous one.
    Tensor dst = t.is_contiguous() ? t : Tensor::empty(t.shape(), {t.dtype(), t.device()});
    dispatch_all(t.dtype(), "philox_fill_", [&](auto tag) {
      using D = device_t<typename decltype(tag)::type>;
      philox_fill_kernel<D><<<grid_for((n + draw.per_block - 1) / draw.per_block), kThreads, 0, current_stream()>>>(
          static_cast<D*>(dst.data_ptr()), n, draw, seed, first_block);
    });
    CJ_CUDA_CHECK_LAUNCH("philox_fill_");
    if (!dst.is_same(t)) copy_(t, dst);
  }
  t.bump_version();
}

}  // namespace cj::cuda
