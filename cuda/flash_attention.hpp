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

// -> out (Bt, Lq, E) contiguous, lse (Bt, Lq) f32
void forward(const Operands& x, const Tensor& out, const Tensor& lse);
// gout, out: (Bt, Lq, E) contiguous; lse (Bt, Lq) f32 -> gq, gk, gv contiguous like q, k, v
void backward(const Operands& x, const Tensor& gout, const Tensor& out, const Tensor& lse, const Tensor& gq,
              const Tensor& gk, const Tensor& gv);

}  // namespace cj::cuda::flash_attention
