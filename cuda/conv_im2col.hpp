#pragma once
// conv2d (groups = 1) as im2col + one GEMM, written against the public ops so it runs on any
// device: the CUDA backend's convolution until a cuDNN path exists, and tests/tensor/
// test_cuda_composite.cpp runs it on the CPU against ops::conv2d. The columns are a strided view
// of the padded input (as_strided) made contiguous by the reshape; the input gradient scatters the
// column gradients back with index_add, accumulated in f32 (f64 for f64) as the CPU op does.
#include <optional>

#include "tensor/ops.hpp"

namespace cj::composite {

struct ConvGeometry {
  int64_t N, C, H, W, O, kh, kw, Ho, Wo, Hp, Wp;
};

inline ConvGeometry conv_geometry(const Tensor& x, const Tensor& w, const Conv2dParams& p) {
  ConvGeometry g{x.size(0), x.size(1), x.size(2), x.size(3), w.size(0), w.size(2), w.size(3), 0, 0, 0, 0};
  g.Hp = g.H + 2 * p.pad_h, g.Wp = g.W + 2 * p.pad_w;
  g.Ho = (g.Hp - p.dilation_h * (g.kh - 1) - 1) / p.stride_h + 1;
  g.Wo = (g.Wp - p.dilation_w * (g.kw - 1) - 1) / p.stride_w + 1;
  return g;
}

// Whether conv2d(x, w, b, p) is one this path computes (else the caller takes the general one,
// whose own checks then report any bad argument).
inline bool is_im2col_conv(const Tensor& x, const Tensor& w, const std::optional<Tensor>& b, const Conv2dParams& p) {
  if (x.dim() != 4 || w.dim() != 4 || !is_floating(x.dtype()) || x.dtype() != w.dtype()) return false;
  if (p.groups != 1 || p.output_pad_h != 0 || p.output_pad_w != 0 || w.size(1) != x.size(1)) return false;
  if (p.stride_h <= 0 || p.stride_w <= 0 || p.dilation_h <= 0 || p.dilation_w <= 0 || p.pad_h < 0 || p.pad_w < 0)
    return false;
  if (w.size(2) <= 0 || w.size(3) <= 0 || x.numel() == 0) return false;
  if (b && !(b->defined() && b->dim() == 1 && b->size(0) == w.size(0) && b->dtype() == x.dtype())) return false;
  const ConvGeometry g = conv_geometry(x, w, p);
  return g.Hp >= p.dilation_h * (g.kh - 1) + 1 && g.Wp >= p.dilation_w * (g.kw - 1) + 1;
}

// x: (N, C, H, W) -> columns (N * Ho * Wo, C * kh * kw), rows in (n, i, j) order
inline Tensor im2col(const Tensor& x, const ConvGeometry& g, const Conv2dParams& p) {
  Tensor xp = ops::contiguous(ops::pad(x, {p.pad_w, p.pad_w, p.pad_h, p.pad_h}));  // (N, C, Hp, Wp)
  const Shape& s = xp.strides();
  Tensor windows = ops::as_strided(xp, {g.N, g.Ho, g.Wo, g.C, g.kh, g.kw},
                                   {s[0], s[2] * p.stride_h, s[3] * p.stride_w, s[1], s[2] * p.dilation_h,
                                    s[3] * p.dilation_w},
                                   xp.offset());
  return ops::reshape(windows, {g.N * g.Ho * g.Wo, g.C * g.kh * g.kw});
}

// x: (N, C, H, W), w: (O, C, kh, kw), b: (O) -> (N, O, Ho, Wo)
inline Tensor im2col_conv2d(const Tensor& x, const Tensor& w, const std::optional<Tensor>& b, const Conv2dParams& p) {
  const ConvGeometry g = conv_geometry(x, w, p);
  Tensor y = ops::linear(im2col(x, g, p), ops::reshape(w, {g.O, -1}), b);  // (N * Ho * Wo, O)
  return ops::contiguous(ops::permute(ops::reshape(y, {g.N, g.Ho, g.Wo, g.O}), {0, 3, 1, 2}));
}

// gy: (N, O, Ho, Wo) -> gradients of x, w and (when has_bias) b
inline ops::ConvGrads im2col_conv2d_backward(const Tensor& gy, const Tensor& x, const Tensor& w, bool has_bias,
                                            const Conv2dParams& p) {
  const ConvGeometry g = conv_geometry(x, w, p);
  CJ_CHECK(gy.shape() == (Shape{g.N, g.O, g.Ho, g.Wo}) && gy.dtype() == x.dtype(), "conv2d_backward: grad_output ",
           gy.describe(), " does not match the output (", g.N, ", ", g.O, ", ", g.Ho, ", ", g.Wo, ") of ",
           dtype_name(x.dtype()));
  Tensor g2 = ops::reshape(ops::permute(gy, {0, 2, 3, 1}), {g.N * g.Ho * g.Wo, g.O});  // (M, O)
  ops::ConvGrads grads;
  grads.gw = ops::reshape(ops::mm(ops::transpose(g2, 0, 1), im2col(x, g, p)), w.shape());
  if (has_bias) grads.gb = ops::sum(g2, {0});
  // Column entry (i, j, a, b) read padded pixel (i * sh + a * dh, j * sw + b * dw): its flat index.
  const DType acc = x.dtype() == DType::f64 ? DType::f64 : DType::f32;
  Tensor plane = arange(g.Hp * g.Wp, {DType::i64, x.device()});
  Tensor reads = ops::reshape(ops::as_strided(plane, {g.Ho, g.Wo, g.kh, g.kw},
                                              {g.Wp * p.stride_h, p.stride_w, g.Wp * p.dilation_h, p.dilation_w}, 0),
                              {-1});
  Tensor gcols = ops::reshape(ops::to(ops::mm(g2, ops::reshape(w, {g.O, -1})), acc), {g.N, g.Ho, g.Wo, g.C, g.kh, g.kw});
  Tensor per_plane = ops::reshape(ops::permute(gcols, {0, 3, 1, 2, 4, 5}), {g.N, g.C, g.Ho * g.Wo * g.kh * g.kw});
  Tensor gxp = ops::index_add(zeros({g.N, g.C, g.Hp * g.Wp}, {acc, x.device()}), 2, reads, per_plane);
  Tensor gx = ops::pad(ops::reshape(gxp, {g.N, g.C, g.Hp, g.Wp}), {-p.pad_w, -p.pad_w, -p.pad_h, -p.pad_h});
  grads.gx = ops::to(gx, x.dtype());
  return grads;
}

}  // namespace cj::composite
