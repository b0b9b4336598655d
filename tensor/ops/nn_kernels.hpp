#pragma once
// Fused neural-network kernels. Each forward sits beside the backward kernel that autograd/ calls,
// and saves only what the backward needs (LayerNorm keeps mean and rstd, as llm.c does).
#include <optional>
#include <string>

#include "tensor/ops/elementwise.hpp"
#include "tensor/tensor.hpp"

namespace cj {
// Option types live in cj, not cj::ops (see GeluApprox in elementwise.hpp for why).
struct Conv2dParams {
  int64_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dilation_h = 1, dilation_w = 1, groups = 1;
  int64_t output_pad_h = 0, output_pad_w = 0;  // conv_transpose2d only
};

enum class InterpMode { nearest, bilinear, bicubic };
struct InterpolateParams {
  int64_t out_h = 0, out_w = 0;
  InterpMode mode = InterpMode::bilinear;
  bool align_corners = false;
  bool antialias = false;  // bilinear/bicubic downsampling only, as torch
  // When set, the scale used for the source-index computation (torch's scale_factor with
  // recompute_scale_factor=False); otherwise in/out sizes define it.
  std::optional<double> scale_h, scale_w;
};
}  // namespace cj

namespace cj::ops {

// ---- layer norm over the last normalized_shape.size() dims ---------------------------------
struct LayerNormOut {
  Tensor out;   // like x
  Tensor mean;  // x.shape without the normalized dims, f32 (f64 for f64 input)
  Tensor rstd;  // same shape as mean
};
LayerNormOut layer_norm(const Tensor& x, const Shape& normalized_shape, const std::optional<Tensor>& weight,
                        const std::optional<Tensor>& bias, double eps = 1e-5);
struct LayerNormGrads {
  Tensor gx, gweight, gbias;  // gweight/gbias undefined when the affine parameters were absent
};
LayerNormGrads layer_norm_backward(const Tensor& gy, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                                   const Shape& normalized_shape, const std::optional<Tensor>& weight,
                                   bool has_bias);

// ---- gelu ----------------------------------------------------------------------------------------
Tensor gelu_backward(const Tensor& gy, const Tensor& x, GeluApprox approx = GeluApprox::none);

// ---- scaled dot-product attention (torch.nn.functional.scaled_dot_product_attention) ----------
// q: (..., Lq, E), k: (..., Lk, E), v: (..., Lk, Ev) -> (..., Lq, Ev).
// attn_mask broadcastable to (..., Lq, Lk): bool (true = attend, as torch) or additive float.
// scale defaults to 1/sqrt(E).
struct AttentionOut {
  Tensor out;
  Tensor lse;  // (..., Lq) f32 log-sum-exp of the scaled, masked logits: all backward needs
};
AttentionOut scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                          const std::optional<Tensor>& attn_mask = std::nullopt,
                                          std::optional<double> scale = std::nullopt);
struct AttentionGrads {
  Tensor gq, gk, gv;
};
AttentionGrads scaled_dot_product_attention_backward(const Tensor& gout, const Tensor& q, const Tensor& k,
                                                     const Tensor& v, const Tensor& out, const Tensor& lse,
                                                     const std::optional<Tensor>& attn_mask,
                                                     std::optional<double> scale);
// Key-padding mask (B, Lk) bool, true = padded (as nn.MultiheadAttention) -> attn_mask (B, 1, 1, Lk)
// in the bool "true = attend" convention of scaled_dot_product_attention.
Tensor key_padding_to_attn_mask(const Tensor& key_padding_mask);

// ---- convolutions (NCHW; im2col + GEMM on the CPU) ---------------------------------------------
using cj::Conv2dParams;
// x: (N, C, H, W), w: (O, C/groups, kh, kw), b: (O) -> (N, O, Ho, Wo)
Tensor conv2d(const Tensor& x, const Tensor& w, const std::optional<Tensor>& b, const Conv2dParams& p);
struct ConvGrads {
  Tensor gx, gw, gb;
};
ConvGrads conv2d_backward(const Tensor& gy, const Tensor& x, const Tensor& w, bool has_bias, const Conv2dParams& p);
// x: (N, C, H, W), w: (C, O/groups, kh, kw) -> (N, O, Ho, Wo), Ho = (H-1)s - 2p + d(k-1) + op + 1
Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const std::optional<Tensor>& b, const Conv2dParams& p);
ConvGrads conv_transpose2d_backward(const Tensor& gy, const Tensor& x, const Tensor& w, bool has_bias,
                                    const Conv2dParams& p);

// ---- interpolate (torch.nn.functional.interpolate on (N, C, H, W)) -----------------------------
using cj::InterpMode;
using cj::InterpolateParams;
Tensor interpolate(const Tensor& x, const InterpolateParams& p);
Tensor interpolate_backward(const Tensor& gy, const Shape& input_shape, const InterpolateParams& p);

// ---- embedding backward (forward is ops::embedding in index.hpp) -------------------------------
Tensor embedding_backward(const Tensor& gy, const Tensor& index, int64_t num_embeddings);

}  // namespace cj::ops
