#pragma once
// The three passes every 2-D convolution is made of, as im2col + (batched) GEMMs written against the
// public ops, so they run on any device: the CUDA backend's convolutions where cuDNN is absent or
// not chosen, and tests/tensor/test_conv_composite.cpp runs them on the CPU against the CPU ops.
// With "image" what im2col reads and "grid" the patch grid (as in tensor/ops/conv.cpp):
//   patches_to_grid  grid  = W · im2col(image)     conv2d forward, conv_transpose2d input gradient
//   grid_to_image    image = col2im(Wᵀ · grid)     conv2d input gradient, conv_transpose2d forward
//   weight_gradient  gW    = grid · im2col(image)ᵀ both weight gradients (roles swapped)
// Groups are the batch of the GEMMs. The columns are a strided view of the padded image
// (as_strided) made contiguous by a reshape; col2im scatters column values back with index_add.
// Operands come in their compute dtype (f32, or f64): see cuda/conv_composite.hpp.
#include <optional>

#include "tensor/ops.hpp"

namespace cj::composite {

// image (N, C, H, W) -> grid (N, O, Ho, Wo) through a weight (O, C/G, kh, kw). conv2d: image = x,
// grid = y. conv_transpose2d: image = y, grid = x, and its weight (C_in, C_out/G, kh, kw) is
// exactly that conv2d's weight. Hp, Wp: the padded image.
struct ConvGeometry {
  int64_t N, C, H, W, O, kh, kw, Ho, Wo, Hp, Wp, G;
  int64_t K() const { return C / G * kh * kw; }  // patch length per group
  int64_t M() const { return N * Ho * Wo; }      // patches
};

// Patches along one axis of `padded` pixels: windows of k taps, d apart, every s pixels.
inline int64_t patch_count(int64_t padded, int64_t k, int64_t s, int64_t d) { return (padded - d * (k - 1) - 1) / s + 1; }

// conv2d(x, w): x (N, C, H, W), w (O, C/G, kh, kw)
inline ConvGeometry conv_geometry(const Tensor& x, const Tensor& w, const Conv2dParams& p) {
  ConvGeometry g{x.size(0), x.size(1), x.size(2), x.size(3), w.size(0), w.size(2), w.size(3), 0, 0, 0, 0, p.groups};
  g.Hp = g.H + 2 * p.pad_h, g.Wp = g.W + 2 * p.pad_w;
  g.Ho = patch_count(g.Hp, g.kh, p.stride_h, p.dilation_h);
  g.Wo = patch_count(g.Wp, g.kw, p.stride_w, p.dilation_w);
  return g;
}

// conv_transpose2d(x, w): x (N, C_in, H, W), w (C_in, C_out/G, kh, kw). The grid is x itself: with
// output_padding at least the stride (dilation > stride) a conv2d of the output has more rows.
inline ConvGeometry transposed_geometry(const Tensor& x, const Tensor& w, const Conv2dParams& p) {
  ConvGeometry g{x.size(0), w.size(1) * p.groups, 0, 0, x.size(1), w.size(2), w.size(3), x.size(2), x.size(3), 0, 0,
                 p.groups};
  g.H = (g.Ho - 1) * p.stride_h - 2 * p.pad_h + p.dilation_h * (g.kh - 1) + p.output_pad_h + 1;
  g.W = (g.Wo - 1) * p.stride_w - 2 * p.pad_w + p.dilation_w * (g.kw - 1) + p.output_pad_w + 1;
  g.Hp = g.H + 2 * p.pad_h, g.Wp = g.W + 2 * p.pad_w;
  return g;
}

inline Shape image_shape(const ConvGeometry& g) { return {g.N, g.C, g.H, g.W}; }
inline Shape grid_shape(const ConvGeometry& g) { return {g.N, g.O, g.Ho, g.Wo}; }

// Whether the CPU op would take these arguments and they are not empty: then the passes below
// compute them; otherwise the caller runs the CPU op, whose checks name what is wrong.
inline bool is_valid_conv(const Tensor& x, const Tensor& w, const std::optional<Tensor>& b, const Conv2dParams& p,
                          bool transposed) {
  if (!x.defined() || !w.defined() || x.dim() != 4 || w.dim() != 4 || !is_floating(x.dtype()) ||
      x.dtype() != w.dtype())
    return false;
  if (p.stride_h <= 0 || p.stride_w <= 0 || p.dilation_h <= 0 || p.dilation_w <= 0 || p.pad_h < 0 || p.pad_w < 0 ||
      p.groups <= 0)
    return false;
  if (x.numel() == 0 || w.numel() == 0 || x.size(1) % p.groups != 0) return false;
  int64_t out_channels = 0;
  if (transposed) {
    if (p.output_pad_h < 0 || p.output_pad_w < 0 || p.output_pad_h >= std::max(p.stride_h, p.dilation_h) ||
        p.output_pad_w >= std::max(p.stride_w, p.dilation_w) || w.size(0) != x.size(1))
      return false;
    const ConvGeometry g = transposed_geometry(x, w, p);
    if (g.H <= 0 || g.W <= 0) return false;
    out_channels = g.C;
  } else {
    if (p.output_pad_h != 0 || p.output_pad_w != 0 || w.size(0) % p.groups != 0 || w.size(1) != x.size(1) / p.groups)
      return false;
    const ConvGeometry g = conv_geometry(x, w, p);
    if (g.Hp < p.dilation_h * (g.kh - 1) + 1 || g.Wp < p.dilation_w * (g.kw - 1) + 1) return false;
    out_channels = g.O;
  }
  return !b || (b->defined() && b->dim() == 1 && b->size(0) == out_channels && b->dtype() == x.dtype());
}

// The same for a backward call, whose grad_output must also have the forward output's shape and dtype.
inline bool is_valid_conv_backward(const Tensor& gy, const Tensor& x, const Tensor& w, const Conv2dParams& p,
                                   bool transposed) {
  if (!gy.defined() || !is_valid_conv(x, w, std::nullopt, p, transposed) || gy.dtype() != x.dtype()) return false;
  return gy.shape() == (transposed ? image_shape(transposed_geometry(x, w, p)) : grid_shape(conv_geometry(x, w, p)));
}

// image: (N, C, H, W) -> columns (N * Ho * Wo, C * kh * kw), rows in (n, i, j) order, columns (c, a, b)
inline Tensor im2col(const Tensor& image, const ConvGeometry& g, const Conv2dParams& p) {
  Tensor xp = ops::contiguous(ops::pad(image, {p.pad_w, p.pad_w, p.pad_h, p.pad_h}));  // (N, C, Hp, Wp)
  const Shape& s = xp.strides();
  Tensor windows = ops::as_strided(xp, {g.N, g.Ho, g.Wo, g.C, g.kh, g.kw},
                                   {s[0], s[2] * p.stride_h, s[3] * p.stride_w, s[1], s[2] * p.dilation_h,
                                    s[3] * p.dilation_w},
                                   xp.offset());
  return ops::reshape(windows, {g.M(), g.C * g.kh * g.kw});
}

// columns (N * Ho * Wo, C * kh * kw) -> image (N, C, H, W): each column entry added to the pixel it
// was read from, in the columns' dtype.
inline Tensor col2im(const Tensor& cols, const ConvGeometry& g, const Conv2dParams& p) {
  // Column entry (i, j, a, b) read padded pixel (i * sh + a * dh, j * sw + b * dw): its flat index.
  Tensor plane = arange(g.Hp * g.Wp, {DType::i64, cols.device()});
  Tensor reads = ops::reshape(ops::as_strided(plane, {g.Ho, g.Wo, g.kh, g.kw},
                                              {g.Wp * p.stride_h, p.stride_w, g.Wp * p.dilation_h, p.dilation_w}, 0),
                              {-1});
  Tensor per_plane = ops::reshape(ops::permute(ops::reshape(cols, {g.N, g.Ho, g.Wo, g.C, g.kh, g.kw}), {0, 3, 1, 2, 4, 5}),
                                  {g.N, g.C, g.Ho * g.Wo * g.kh * g.kw});
  Tensor padded = ops::index_add(zeros({g.N, g.C, g.Hp * g.Wp}, {cols.dtype(), cols.device()}), 2, reads, per_plane);
  return ops::pad(ops::reshape(padded, {g.N, g.C, g.Hp, g.Wp}), {-p.pad_w, -p.pad_w, -p.pad_h, -p.pad_h});
}

// m: (M, G * k) -> the G groups of columns as a batch (G, M, k) (a view)
inline Tensor by_group(const Tensor& m, int64_t G) { return ops::transpose(ops::reshape(m, {m.size(0), G, -1}), 0, 1); }
// t: (G, M, k) -> (M, G * k)
inline Tensor from_groups(const Tensor& t) { return ops::reshape(ops::transpose(t, 0, 1), {t.size(1), -1}); }

// grid: (N, O, Ho, Wo) -> its rows (N * Ho * Wo, O)
inline Tensor grid_rows(const Tensor& grid, const ConvGeometry& g) {
  return ops::reshape(ops::permute(grid, {0, 2, 3, 1}), {g.M(), g.O});
}

// image: (N, C, H, W), w: (O, C/G, kh, kw), b: (O) -> grid (N, O, Ho, Wo)
inline Tensor patches_to_grid(const Tensor& image, const Tensor& w, const std::optional<Tensor>& b,
                              const ConvGeometry& g, const Conv2dParams& p) {
  Tensor wt = ops::transpose(ops::reshape(w, {g.G, g.O / g.G, g.K()}), 1, 2);  // (G, K, O/G)
  Tensor rows = from_groups(ops::bmm(by_group(im2col(image, g, p), g.G), wt));  // (M, O)
  if (b) rows = ops::add(rows, *b);
  return ops::contiguous(ops::permute(ops::reshape(rows, {g.N, g.Ho, g.Wo, g.O}), {0, 3, 1, 2}));
}

// grid: (N, O, Ho, Wo), w: (O, C/G, kh, kw) -> image (N, C, H, W)
inline Tensor grid_to_image(const Tensor& grid, const Tensor& w, const ConvGeometry& g, const Conv2dParams& p) {
  Tensor wg = ops::reshape(w, {g.G, g.O / g.G, g.K()});                          // (G, O/G, K)
  Tensor cols = from_groups(ops::bmm(by_group(grid_rows(grid, g), g.G), wg));  // (M, C * kh * kw)
  return col2im(cols, g, p);
}

// image: (N, C, H, W), grid: (N, O, Ho, Wo) -> Σ_n grid[n] · im2col(image[n])ᵀ per group: (O, C/G, kh, kw)
inline Tensor weight_gradient(const Tensor& image, const Tensor& grid, const ConvGeometry& g, const Conv2dParams& p) {
  Tensor grid_t = ops::transpose(by_group(grid_rows(grid, g), g.G), 1, 2);     // (G, O/G, M)
  Tensor gw = ops::bmm(grid_t, by_group(im2col(image, g, p), g.G));             // (G, O/G, K)
  return ops::reshape(gw, {g.O, g.C / g.G, g.kh, g.kw});
}

}  // namespace cj::composite
