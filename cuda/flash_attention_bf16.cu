// The flash attention kernels for bf16 inputs (one file per dtype, so that they compile in parallel).
#include "cuda/flash_attention_kernels.cuh"

namespace cj::cuda::flash_attention::detail {

template void forward_for<__nv_bfloat16>(const Operands& x, const Tensor& out, const Tensor& lse);
template void backward_for<__nv_bfloat16>(const Operands& x, const Tensor& gout, const Tensor& out, const Tensor& lse,
                                const Tensor& gq, const Tensor& gk, const Tensor& gv);

}  // namespace cj::cuda::flash_attention::detail
