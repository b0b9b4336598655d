// The flash attention entry points: checks nothing (attention.cu did), picks the dtype's kernels
// (flash_attention_{f32,bf16,f16}.cu, built from flash_attention_kernels.cuh; the bf16/f16 forward
// at head dims 32 and 64 from flash_attention_mma.cu, on the tensor cores).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "cuda/check.hpp"
#include "cuda/flash_attention.hpp"

namespace cj::cuda::flash_attention {

namespace detail {  // defined in flash_attention_kernels.cuh, instantiated per dtype
template <typename T>
void forward_for(const Operands& x, const Tensor& out, const Tensor& lse);
template <typename T>
void backward_for(const Operands& x, const Tensor& gout, const Tensor& out, const Tensor& lse, const Tensor& gq,
                  const Tensor& gk, const Tensor& gv);
}  // namespace detail

void forward(const Operands& x, const Tensor& out, const Tensor& lse) {
  if (x.q.numel() == 0) return;
  if (tensor_cores_take(x)) {
    forward_mma(x, out, lse);
    CJ_CUDA_CHECK_LAUNCH("scaled_dot_product_attention (flash, tensor cores)");
    return;
  }
  switch (x.q.dtype()) {
    case DType::f32: detail::forward_for<float>(x, out, lse); break;
    case DType::bf16: detail::forward_for<__nv_bfloat16>(x, out, lse); break;
    case DType::f16: detail::forward_for<__half>(x, out, lse); break;
    default: fail("flash attention: no kernel for dtype ", dtype_name(x.q.dtype()), " (f32, bf16, f16)");
  }
  CJ_CUDA_CHECK_LAUNCH("scaled_dot_product_attention (flash)");
}

void backward(const Operands& x, const Tensor& gout, const Tensor& out, const Tensor& lse, const Tensor& gq,
              const Tensor& gk, const Tensor& gv) {
  if (x.q.numel() == 0 || x.k.numel() == 0) return;
  switch (x.q.dtype()) {
    case DType::f32: detail::backward_for<float>(x, gout, out, lse, gq, gk, gv); break;
    case DType::bf16: detail::backward_for<__nv_bfloat16>(x, gout, out, lse, gq, gk, gv); break;
    case DType::f16: detail::backward_for<__half>(x, gout, out, lse, gq, gk, gv); break;
    default: fail("flash attention: no kernel for dtype ", dtype_name(x.q.dtype()), " (f32, bf16, f16)");
  }
}

}  // namespace cj::cuda::flash_attention
