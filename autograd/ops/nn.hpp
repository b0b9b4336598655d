#pragma once
// Differentiable fused neural-network ops, each with an analytic backward kernel from
// tensor/ops/nn_kernels.hpp (same names and meanings, returning just the output). gelu, softmax,
// log_softmax and embedding live with their families (elementwise, reduction, index).
#include <optional>

#include "tensor/ops/nn_kernels.hpp"
#include "tensor/tensor.hpp"

namespace cj {

using ops::key_padding_to_attn_mask;

// x: (..., *normalized_shape) -> like x. Saves x, mean and rstd (not the normalized x).
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const std::optional<Tensor>& weight = std::nullopt,
                  const std::optional<Tensor>& bias = std::nullopt, double eps = 1e-5);
// q: (..., Lq, E), k: (..., Lk, E), v: (..., Lk, Ev) -> (..., Lq, Ev). The mask gets no gradient.
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const std::optional<Tensor>& attn_mask = std::nullopt,
                                    std::optional<double> scale = std::nullopt);
// x: (N, C, H, W), w: (O, C/groups, kh, kw), b: (O) -> (N, O, Ho, Wo)
Tensor conv2d(const Tensor& x, const Tensor& w, const std::optional<Tensor>& b = std::nullopt,
              const Conv2dParams& p = {});
// x: (N, C, H, W), w: (C, O/groups, kh, kw), b: (O) -> (N, O, Ho, Wo)
Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const std::optional<Tensor>& b = std::nullopt,
                        const Conv2dParams& p = {});
// x: (N, C, H, W) -> (N, C, out_h, out_w)
Tensor interpolate(const Tensor& x, const InterpolateParams& p);

}  // namespace cj
