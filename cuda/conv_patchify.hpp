#pragma once
// A convolution whose stride equals its kernel (no padding, dilation or groups) reads each input
// pixel once: the image cut into patches times the flattened weight. That is DINOv2's patch
// embedding (14x14, stride 14) and a 1x1 conv (the PushT predictor's Conv1d), so the CUDA backend
// runs them as reshapes and one GEMM. Device-agnostic: tests/tensor/test_cuda_composite.cpp runs it
// on the CPU against ops::conv2d.
#include <optional>

#include "tensor/ops.hpp"

namespace cj::composite {

// Whether conv2d(x, w, b, p) is such a patch product (else the caller takes the general path,
// whose own checks then report any bad argument).
inline bool is_patchify_conv(const Tensor& x, const Tensor& w, const std::optional<Tensor>& b, const Conv2dParams& p) {
  if (x.dim() != 4 || w.dim() != 4 || !is_floating(x.dtype()) || x.dtype() != w.dtype()) return false;
  const int64_t kh = w.size(2), kw = w.size(3);
  const bool plain = p.groups == 1 && p.stride_h == kh && p.stride_w == kw && p.pad_h == 0 && p.pad_w == 0 &&
                     p.dilation_h == 1 && p.dilation_w == 1 && p.output_pad_h == 0 && p.output_pad_w == 0;
  const bool bias_ok = !b || (b->defined() && b->dim() == 1 && b->size(0) == w.size(0) && b->dtype() == x.dtype());
  return plain && bias_ok && kh > 0 && kw > 0 && w.size(1) == x.size(1) && x.size(2) >= kh && x.size(3) >= kw;
}

// x: (N, C, H, W) -> (N * Ho * Wo, C * kh * kw), rows in (n, i, j) order; trailing rows/columns
// that do not fill a patch are dropped, as the convolution drops them.
inline Tensor patches_of(const Tensor& x, int64_t kh, int64_t kw) {
  const int64_t N = x.size(0), C = x.size(1), Ho = x.size(2) / kh, Wo = x.size(3) / kw;
  Tensor cropped = ops::narrow(ops::narrow(x, 2, 0, Ho * kh), 3, 0, Wo * kw);
  Tensor split = ops::reshape(cropped, {N, C, Ho, kh, Wo, kw});
  return ops::reshape(ops::permute(split, {0, 2, 4, 1, 3, 5}), {N * Ho * Wo, C * kh * kw});
}

// x: (N, C, H, W), w: (O, C, kh, kw), b: (O) -> (N, O, H / kh, W / kw)
inline Tensor patchify_conv2d(const Tensor& x, const Tensor& w, const std::optional<Tensor>& b) {
  const int64_t N = x.size(0), O = w.size(0), kh = w.size(2), kw = w.size(3), Ho = x.size(2) / kh, Wo = x.size(3) / kw;
  Tensor y = ops::linear(patches_of(x, kh, kw), ops::reshape(w, {O, -1}), b);  // (N * Ho * Wo, O)
  return ops::contiguous(ops::permute(ops::reshape(y, {N, Ho, Wo, O}), {0, 3, 1, 2}));
}

// gy: (N, O, Ho, Wo) -> gradients of x, w and (when has_bias) b
inline ops::ConvGrads patchify_conv2d_backward(const Tensor& gy, const Tensor& x, const Tensor& w, bool has_bias) {
  const int64_t N = x.size(0), C = x.size(1), O = w.size(0), kh = w.size(2), kw = w.size(3);
  const int64_t Ho = x.size(2) / kh, Wo = x.size(3) / kw;
  CJ_CHECK(gy.shape() == (Shape{N, O, Ho, Wo}) && gy.dtype() == x.dtype(), "conv2d_backward: grad_output ",
           gy.describe(), " does not match the output (", N, ", ", O, ", ", Ho, ", ", Wo, ") of ", dtype_name(x.dtype()));
  Tensor g2 = ops::reshape(ops::permute(gy, {0, 2, 3, 1}), {N * Ho * Wo, O});  // (M, O)
  ops::ConvGrads grads;
  grads.gw = ops::reshape(ops::mm(ops::transpose(g2, 0, 1), patches_of(x, kh, kw)), w.shape());
  if (has_bias) grads.gb = ops::sum(g2, {0});
  Tensor gp = ops::reshape(ops::mm(g2, ops::reshape(w, {O, -1})), {N, Ho, Wo, C, kh, kw});
  Tensor gx = ops::reshape(ops::permute(gp, {0, 3, 1, 4, 2, 5}), {N, C, Ho * kh, Wo * kw});
  grads.gx = ops::pad(gx, {0, x.size(3) - Wo * kw, 0, x.size(2) - Ho * kh});  // dropped pixels get 0
  return grads;
}

}  // namespace cj::composite
