#include "autograd/ops/nn.hpp"

#include "autograd/autocast.hpp"
#include "autograd/function.hpp"

namespace cj {

Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const std::optional<Tensor>& weight,
                  const std::optional<Tensor>& bias, double eps) {
  if (auto y = autocast_redispatch("layer_norm", layer_norm, x, normalized_shape, weight, bias, eps)) return *y;
  ops::LayerNormOut r = ops::layer_norm(x, normalized_shape, weight, bias, eps);
  const bool has_bias = bias.has_value();
  record("layer_norm", r.out, {x, or_undefined(weight), or_undefined(bias)}, {x, r.mean, r.rstd, or_undefined(weight)},
         [normalized_shape, has_bias](Node& n, const Tensor& gy) -> Grads {
           Tensor w = n.saved(3);
           ops::LayerNormGrads g =
               ops::layer_norm_backward(gy, n.saved(0), n.saved(1), n.saved(2), normalized_shape,
                                        w.defined() ? std::optional<Tensor>(w) : std::nullopt, has_bias);
           return {n.needs_grad(0) ? g.gx : Tensor(), n.needs_grad(1) ? g.gweight : Tensor(),
                   n.needs_grad(2) ? g.gbias : Tensor()};
         });
  return r.out;
}

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const std::optional<Tensor>& attn_mask, std::optional<double> scale) {
  if (auto y = autocast_redispatch("scaled_dot_product_attention", scaled_dot_product_attention, q, k, v, attn_mask,
                                   scale))
    return *y;
  // Saves the output and the per-row log-sum-exp instead of the (Lq, Lk) attention matrix; the
  // backward recomputes the probabilities from them (as flash attention does).
  ops::AttentionOut r = ops::scaled_dot_product_attention(q, k, v, attn_mask, scale);
  record("scaled_dot_product_attention", r.out, {q, k, v}, {q, k, v, r.out, r.lse, or_undefined(attn_mask)},
         [scale](Node& n, const Tensor& gy) -> Grads {
           Tensor mask = n.saved(5);
           ops::AttentionGrads g = ops::scaled_dot_product_attention_backward(
               gy, n.saved(0), n.saved(1), n.saved(2), n.saved(3), n.saved(4),
               mask.defined() ? std::optional<Tensor>(mask) : std::nullopt, scale);
           return {n.needs_grad(0) ? g.gq : Tensor(), n.needs_grad(1) ? g.gk : Tensor(),
                   n.needs_grad(2) ? g.gv : Tensor()};
         });
  return r.out;
}

namespace {
// conv2d and conv_transpose2d record the same way; only the kernels differ.
template <typename Forward, typename Backward>
Tensor record_conv(const char* op, const Tensor& x, const Tensor& w, const std::optional<Tensor>& b,
                   const Conv2dParams& p, Forward forward, Backward backward) {
  Tensor y = forward(x, w, b, p);
  const bool has_bias = b.has_value();
  record(op, y, {x, w, or_undefined(b)}, {x, w}, [p, has_bias, backward](Node& n, const Tensor& gy) -> Grads {
    ops::ConvGrads g = backward(gy, n.saved(0), n.saved(1), has_bias, p);
    return {n.needs_grad(0) ? g.gx : Tensor(), n.needs_grad(1) ? g.gw : Tensor(), n.needs_grad(2) ? g.gb : Tensor()};
  });
  return y;
}
}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& w, const std::optional<Tensor>& b, const Conv2dParams& p) {
  if (auto y = autocast_redispatch("conv2d", conv2d, x, w, b, p)) return *y;
  return record_conv("conv2d", x, w, b, p, ops::conv2d, ops::conv2d_backward);
}

Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const std::optional<Tensor>& b, const Conv2dParams& p) {
  if (auto y = autocast_redispatch("conv_transpose2d", conv_transpose2d, x, w, b, p)) return *y;
  return record_conv("conv_transpose2d", x, w, b, p, ops::conv_transpose2d, ops::conv_transpose2d_backward);
}

Tensor interpolate(const Tensor& x, const InterpolateParams& p) {
  Tensor y = ops::interpolate(x, p);
  record("interpolate", y, {x}, {},
         [p](Node& n, const Tensor& gy) -> Grads { return {ops::interpolate_backward(gy, n.inputs[0].shape, p)}; });
  return y;
}

}  // namespace cj
