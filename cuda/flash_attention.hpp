#pragma once
// The fused flash attention kernels (flash_attention.cu), called by attention.cu's dispatch.
// Operands are 3-d (Bt, L, E) views with a unit last stride; the maths is tensor/flash_tile.hpp.
#include "tensor/flash_tile.hpp"
#include "tensor/tensor.hpp"

namespace cj::cuda::flash_attention {

// Head dims with a compiled kernel (q, k and v share it: Ev = E).
inline bool head_dim_supported(int64_t E) { return E == 8 || E == 18 || E == 32 || E == 64; }

struct Operands {
  Tensor q, k, v;  // (Bt, Lq, E), (Bt, Lk, E), (Bt, Lk, E); f32, bf16 or f16; stride(-1) == 1
  flash::MaskDesc mask;
  float scale = 1.f;
};

// -> out (Bt, Lq, E) contiguous, lse (Bt, Lq) f32; bf16/f16 at head dims 32 and 64 on the tensor cores
// (forward_mma) where tensor_cores_take says so, everything else on the CUDA-core kernels
void forward(const Operands& x, const Tensor& out, const Tensor& lse);

// The flash forward of bf16/f16 at head dims 32 and 64 runs on the tensor cores (mma.sync, sm_80+;
// flash_attention_mma.cu) unless switched off, which keeps it on the CUDA-core flash kernel (as the
// backward always is). Default from CJ_FLASH_MMA=1|0 in the environment (unset: on).
void set_tensor_cores(bool on);
bool tensor_cores();

// The tensor-core forward: whether it takes x (bf16/f16, head dim 32 or 64, a device of compute
// capability >= 8.0, tensor_cores() on), and its launch, with forward's contract.
bool tensor_cores_take(const Operands& x);
void forward_mma(const Operands& x, const Tensor& out, const Tensor& lse);
// gout, out: (Bt, Lq, E) contiguous; lse (Bt, Lq) f32 -> gq, gk, gv contiguous like q, k, v
void backward(const Operands& x, const Tensor& gout, const Tensor& out, const Tensor& lse, const Tensor& gq,
              const Tensor& gk, const Tensor& gv);

}  // namespace cj::cuda::flash_attention
