#pragma once
// conv2d and conv_transpose2d, forward and backward, from the passes of cuda/conv_im2col.hpp: the
// CUDA backend's native convolutions (cuda/conv_interpolate.cpp), checked on the CPU against
// ops::conv2d & co. by tests/tensor/test_conv_composite.cpp. A transposed convolution is the input
// gradient of a convolution, so each op is two or three of the same passes with roles swapped.
// 16-bit inputs are computed in f32 and rounded once at the end, as the CPU op does; the caller has
// checked the arguments (composite::is_valid_conv*).
#include "cuda/conv_im2col.hpp"

namespace cj::composite {

// t in the dtype the convolution computes in: f64 stays, every other float becomes f32.
inline Tensor conv_compute(const Tensor& t) { return ops::to(t, t.dtype() == DType::f64 ? DType::f64 : DType::f32); }
inline std::optional<Tensor> conv_compute(const std::optional<Tensor>& t) {
  return t ? std::optional<Tensor>(conv_compute(*t)) : t;
}

// gy: (N, C, H, W) -> (C), summed in the compute dtype and rounded to gy's
inline Tensor conv_bias_gradient(const Tensor& gy) { return ops::to(ops::sum(conv_compute(gy), {0, 2, 3}), gy.dtype()); }

// The passes of conv_im2col.hpp on operands of one float dtype, computed in f32 (f64) and rounded
// once to that dtype; the bias (C) of an image is added before the rounding.
inline Tensor grid_pass(const Tensor& image, const Tensor& w, const std::optional<Tensor>& b, const ConvGeometry& g,
                        const Conv2dParams& p) {
  return ops::to(patches_to_grid(conv_compute(image), conv_compute(w), conv_compute(b), g, p), image.dtype());
}
inline Tensor image_pass(const Tensor& grid, const Tensor& w, const std::optional<Tensor>& b, const ConvGeometry& g,
                         const Conv2dParams& p) {
  Tensor image = grid_to_image(conv_compute(grid), conv_compute(w), g, p);
  if (b) image = ops::add(image, ops::reshape(conv_compute(*b), {1, g.C, 1, 1}));
  return ops::to(image, grid.dtype());
}
inline Tensor filter_pass(const Tensor& image, const Tensor& grid, const ConvGeometry& g, const Conv2dParams& p) {
  return ops::to(weight_gradient(conv_compute(image), conv_compute(grid), g, p), image.dtype());
}

// x: (N, C, H, W), w: (O, C/groups, kh, kw), b: (O) -> (N, O, Ho, Wo)
inline Tensor native_conv2d(const Tensor& x, const Tensor& w, const std::optional<Tensor>& b, const Conv2dParams& p) {
  return grid_pass(x, w, b, conv_geometry(x, w, p), p);
}

// gy: (N, O, Ho, Wo) -> gradients of x, w and (when has_bias) b
inline ops::ConvGrads native_conv2d_backward(const Tensor& gy, const Tensor& x, const Tensor& w, bool has_bias,
                                             const Conv2dParams& p) {
  const ConvGeometry g = conv_geometry(x, w, p);
  return {image_pass(gy, w, std::nullopt, g, p), filter_pass(x, gy, g, p),
          has_bias ? conv_bias_gradient(gy) : Tensor()};
}

// x: (N, C, H, W), w: (C, O/groups, kh, kw), b: (O) -> (N, O, Ho, Wo)
inline Tensor native_conv_transpose2d(const Tensor& x, const Tensor& w, const std::optional<Tensor>& b,
                                      const Conv2dParams& p) {
  return image_pass(x, w, b, transposed_geometry(x, w, p), p);
}

// gy: (N, O, Ho, Wo) -> gradients of x, w and (when has_bias) b
inline ops::ConvGrads native_conv_transpose2d_backward(const Tensor& gy, const Tensor& x, const Tensor& w,
                                                       bool has_bias, const Conv2dParams& p) {
  const ConvGeometry g = transposed_geometry(x, w, p);
  return {grid_pass(gy, w, std::nullopt, g, p), filter_pass(gy, x, g, p), has_bias ? conv_bias_gradient(gy) : Tensor()};
}

}  // namespace cj::composite
