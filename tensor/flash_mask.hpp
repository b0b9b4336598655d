#pragma once
// Host side of the flash kernels' mask: the flash::MaskDesc (raw pointer and broadcast strides)
// for an attn_mask that is already bool or f32, on whichever device holds it.
#include "tensor/flash_tile.hpp"
#include "tensor/ops/views.hpp"
#include "tensor/tensor.hpp"

namespace cj::flash {

// mask: bool or f32, broadcastable to (batch..., Lq, Lk); batch.size() <= kMaxBatchDims.
inline MaskDesc make_mask_desc(const Tensor& mask, const Shape& batch, int64_t Lq, int64_t Lk, const char* op) {
  MaskDesc d;
  if (!mask.defined()) return d;
  CJ_CHECK(mask.dtype() == DType::b8 || mask.dtype() == DType::f32, op, ": the flash mask must be bool or f32, got ",
           dtype_name(mask.dtype()));
  CJ_CHECK(batch.size() <= size_t(kMaxBatchDims), op, ": the flash kernels take at most ", kMaxBatchDims,
           " batch dims, got ", batch.size());
  Shape full = batch;
  full.insert(full.end(), {Lq, Lk});
  CJ_CHECK(mask.dim() <= int64_t(full.size()) && broadcast_shapes(mask.shape(), full, op) == full, op,
           ": attn_mask ", mask.shape(), " does not broadcast to the scores ", full);
  const Tensor e = ops::expand(mask, full);  // a view: stride 0 where the mask broadcasts
  d.nbatch = int(batch.size());
  for (int i = 0; i < d.nbatch; ++i) {
    d.size[i] = batch[i];
    d.stride[i] = e.stride(i);
  }
  d.stride_i = e.stride(-2);
  d.stride_j = e.stride(-1);
  if (mask.dtype() == DType::b8) d.keep = static_cast<const bool*>(e.data_ptr());
  else d.add = static_cast<const float*>(e.data_ptr());
  return d;
}

}  // namespace cj::flash
