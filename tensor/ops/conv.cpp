// 2-D convolution and transposed convolution (NCHW), forward and backward, as im2col + GEMM per
// band of grid rows, image and group. A transposed convolution is the data-gradient of a convolution, so both share
// the same two passes with their roles swapped:
//   conv2d:            out[n,g]  = W_g · im2col(x[n])_g           W_g: (O/g, C/g·kh·kw)
//   conv_transpose2d:  out[n]    = col2im(W_gᵀ · x[n,g])          W_g: (C/g, O/g·kh·kw)
#include <algorithm>
#include <vector>

#include "tensor/backend.hpp"
#include "tensor/cpu/float_compute.hpp"
#include "tensor/cpu/gemm.hpp"
#include "tensor/cpu/im2col.hpp"
#include "tensor/cpu/parallel.hpp"
#include "tensor/ops/creation.hpp"
#include "tensor/ops/nn_kernels.hpp"

namespace cj::ops {

namespace {

// Shapes of one convolution seen as the GEMM-able "forward" convolution: `image` is what im2col
// reads (conv2d: x; conv_transpose2d: its output), `grid` the patch grid (conv2d: its output;
// conv_transpose2d: x).
struct ConvShape {
  int64_t N = 0, groups = 1;
  int64_t image_c = 0, grid_c = 0;  // channels of the image and of the grid side
  cpu::PatchGeometry geo{};
  int64_t patch_rows() const { return image_c / groups * geo.kh * geo.kw; }  // K of the GEMM per group
  int64_t grid_size() const { return geo.Ho * geo.Wo; }
  int64_t image_size() const { return geo.H * geo.W; }
  int64_t image_stride() const { return image_c * image_size(); }  // between images of a batch
  int64_t grid_stride() const { return grid_c * grid_size(); }
  int64_t grid_c_per_group() const { return grid_c / groups; }
  bool is_pointwise() const {  // 1x1, stride 1, no padding: the image already is its patch matrix
    return geo.kh == 1 && geo.kw == 1 && geo.sh == 1 && geo.sw == 1 && geo.ph == 0 && geo.pw == 0;
  }
};

void check_params(const Conv2dParams& p, bool transposed, const char* op) {
  CJ_CHECK(p.stride_h > 0 && p.stride_w > 0 && p.dilation_h > 0 && p.dilation_w > 0 && p.pad_h >= 0 && p.pad_w >= 0 &&
               p.groups > 0,
           op, ": stride and dilation must be positive, padding non-negative and groups positive; got stride (",
           p.stride_h, ", ", p.stride_w, "), padding (", p.pad_h, ", ", p.pad_w, "), dilation (", p.dilation_h, ", ",
           p.dilation_w, "), groups ", p.groups);
  if (transposed) {
    CJ_CHECK(p.output_pad_h >= 0 && p.output_pad_w >= 0 &&
                 p.output_pad_h < std::max(p.stride_h, p.dilation_h) &&
                 p.output_pad_w < std::max(p.stride_w, p.dilation_w),
             op, ": output_padding (", p.output_pad_h, ", ", p.output_pad_w,
             ") must be smaller than either stride or dilation");
  } else {
    CJ_CHECK(p.output_pad_h == 0 && p.output_pad_w == 0, op, ": output_padding applies to conv_transpose2d only, got (",
             p.output_pad_h, ", ", p.output_pad_w, ")");
  }
}

// x: (N, C, H, W); conv2d w: (O, C/g, kh, kw); conv_transpose2d w: (C, O/g, kh, kw)
ConvShape conv_shape(const Tensor& x, const Tensor& w, const Conv2dParams& p, bool transposed, const char* op) {
  cpu::check_float_cpu(x, op, "input");
  cpu::check_float_cpu(w, op, "weight");
  CJ_CHECK(x.dtype() == w.dtype(), op, ": input is ", dtype_name(x.dtype()), " but weight is ", dtype_name(w.dtype()));
  CJ_CHECK(x.dim() == 4 && w.dim() == 4, op, ": expected input (N, C, H, W) and a 4-D weight, got ", x.shape(),
           " and ", w.shape());
  check_params(p, transposed, op);
  const int64_t G = p.groups, C = x.size(1), kh = w.size(2), kw = w.size(3);
  ConvShape s;
  s.N = x.size(0);
  s.groups = G;
  if (!transposed) {
    const int64_t O = w.size(0);
    CJ_CHECK(C % G == 0 && O % G == 0 && w.size(1) == C / G, op, ": weight ", w.shape(), " does not fit input ",
             x.shape(), " with groups ", G, " (expected (O, C/groups, kh, kw) with C and O divisible by groups)");
    const int64_t Ho = (x.size(2) + 2 * p.pad_h - p.dilation_h * (kh - 1) - 1) / p.stride_h + 1;
    const int64_t Wo = (x.size(3) + 2 * p.pad_w - p.dilation_w * (kw - 1) - 1) / p.stride_w + 1;
    CJ_CHECK(x.size(2) + 2 * p.pad_h >= p.dilation_h * (kh - 1) + 1 &&
                 x.size(3) + 2 * p.pad_w >= p.dilation_w * (kw - 1) + 1,
             op, ": the dilated kernel (", kh, ", ", kw, ") is larger than the padded input ", x.shape());
    s.image_c = C;
    s.grid_c = O;
    s.geo = {C, x.size(2), x.size(3), kh, kw, Ho, Wo, p.stride_h, p.stride_w, p.pad_h, p.pad_w, p.dilation_h,
             p.dilation_w};
  } else {
    CJ_CHECK(w.size(0) == C && C % G == 0, op, ": weight ", w.shape(), " does not fit input ", x.shape(),
             " with groups ", G, " (expected (C, O/groups, kh, kw) with C divisible by groups)");
    const int64_t O = w.size(1) * G;
    const int64_t Ho = (x.size(2) - 1) * p.stride_h - 2 * p.pad_h + p.dilation_h * (kh - 1) + p.output_pad_h + 1;
    const int64_t Wo = (x.size(3) - 1) * p.stride_w - 2 * p.pad_w + p.dilation_w * (kw - 1) + p.output_pad_w + 1;
    CJ_CHECK(Ho > 0 && Wo > 0, op, ": output size (", Ho, ", ", Wo, ") for input ", x.shape(), " is not positive");
    s.image_c = O;
    s.grid_c = C;
    s.geo = {O, Ho, Wo, kh, kw, x.size(2), x.size(3), p.stride_h, p.stride_w, p.pad_h, p.pad_w, p.dilation_h,
             p.dilation_w};
  }
  return s;
}

void check_bias(const std::optional<Tensor>& b, const Tensor& x, int64_t channels, const char* op) {
  if (!b) return;
  cpu::check_float_cpu(*b, op, "bias");
  CJ_CHECK(b->dim() == 1 && b->size(0) == channels && b->dtype() == x.dtype(), op, ": bias must be (", channels,
           ") ", dtype_name(x.dtype()), ", got ", b->describe());
}

// The patch matrix of one image is (G·K, Ho·Wo), often tens of MB: far out of cache by the time the
// GEMM reads it. So each image is cut into bands of grid rows whose patch matrix (G·K, rows·Wo)
// stays in the core's L2 between im2col writing it and the GEMM packing it.
constexpr int64_t kBandBytes = int64_t(1) << 20;

template <typename T>
int64_t band_rows(const ConvShape& s) {
  const int64_t row_bytes = s.groups * s.patch_rows() * s.geo.Wo * int64_t(sizeof(T));
  return std::clamp<int64_t>(kBandBytes / std::max<int64_t>(row_bytes, 1), 1, std::max<int64_t>(s.geo.Ho, 1));
}

// One band of one image: grid rows [oh0, oh1) of image n.
struct Band {
  int64_t n, oh0, oh1;
};

// The bands of every image, image-major, `rows` grid rows each (the last of an image may be shorter).
struct BandGrid {
  int64_t rows, per_image, Ho;
  Band operator[](int64_t item) const {
    const int64_t oh0 = item % per_image * rows;
    return {item / per_image, oh0, std::min(oh0 + rows, Ho)};
  }
};

template <typename T>
BandGrid band_grid(const ConvShape& s) {
  const int64_t rows = band_rows<T>(s);
  return {rows, std::max<int64_t>((s.geo.Ho + rows - 1) / rows, 1), s.geo.Ho};
}

// Items (bands or images) per parallel chunk: enough multiply-adds per chunk to be worth a thread.
int64_t grain_for(int64_t work_per_item) {
  return std::max<int64_t>(1, (int64_t(1) << 18) / std::max<int64_t>(work_per_item, 1));
}

// Where group g's patch rows of a band start, and their leading dimension: the image itself for
// pointwise convolutions (the band is a column slice of it), else im2col of the band into `cols`.
template <typename T>
struct BandPatches {
  const T* data;
  int64_t ld;
  const T* group(const ConvShape& s, int64_t g) const { return data + g * s.patch_rows() * ld; }
};

template <typename T>
BandPatches<T> band_patches(const ConvShape& s, const T* image, Band b, std::vector<T>& cols) {
  if (s.is_pointwise()) return {image + b.oh0 * s.geo.Wo, s.grid_size()};
  const int64_t band_size = (b.oh1 - b.oh0) * s.geo.Wo;
  cols.resize(s.groups * s.patch_rows() * band_size);
  cpu::im2col(image, s.geo, b.oh0, b.oh1, cols.data());
  return {cols.data(), band_size};
}

// Forward pass "grid = W · patches": grid[n, g] (grid_c/G, P) = W_g (grid_c/G, K) · im2col(image[n])_g (K, P),
// band by band, the bands of all images in parallel. Used by conv2d's forward and conv_transpose2d's
// input gradient. W_g rows are contiguous of length K.
template <typename T>
void patches_to_grid(const ConvShape& s, const T* image, const T* w, T* grid) {
  const int64_t K = s.patch_rows(), P = s.grid_size(), Og = s.grid_c_per_group();
  const BandGrid bands = band_grid<T>(s);
  cpu::parallel_for(s.N * bands.per_image, grain_for(s.grid_c * K * bands.rows * s.geo.Wo), [&](int64_t i0, int64_t i1) {
    std::vector<T> cols;
    for (int64_t i = i0; i < i1; ++i) {
      const Band b = bands[i];
      const BandPatches<T> patches = band_patches(s, image + b.n * s.image_stride(), b, cols);
      T* out = grid + b.n * s.grid_stride() + b.oh0 * s.geo.Wo;
      for (int64_t g = 0; g < s.groups; ++g)
        cpu::gemm(false, false, Og, (b.oh1 - b.oh0) * s.geo.Wo, K, T(1), w + g * Og * K, K, patches.group(s, g),
                  patches.ld, T(0), out + g * Og * P, P);
    }
  });
}

// Backward pass "image = col2im(W_gᵀ · grid_g)": conv2d's input gradient and conv_transpose2d's forward.
// Neighbouring bands add into the same image rows, but each image channel only receives its own
// patch rows, so the parallel items are (image, group, block of channels), each running its bands in
// order. Splitting channels keeps both threads busy when the batch does not divide evenly.
template <typename T>
void grid_to_image(const ConvShape& s, const T* grid, const T* w, T* image) {
  const int64_t K = s.patch_rows(), P = s.grid_size(), Og = s.grid_c_per_group();
  const int64_t Cg = s.image_c / s.groups, kk = s.geo.kh * s.geo.kw;
  const BandGrid bands = band_grid<T>(s);
  const int64_t threads = cpu::num_threads(), images = s.N * s.groups;
  const int64_t blocks =
      std::clamp<int64_t>(images % threads == 0 ? 1 : (4 * threads + images - 1) / images, 1, std::max<int64_t>(Cg, 1));
  cpu::parallel_for(images * blocks, grain_for(Og * K * P / blocks), [&](int64_t i0, int64_t i1) {
    std::vector<T> cols;
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t n = i / blocks / s.groups, g = i / blocks % s.groups, block = i % blocks;
      const int64_t c0 = Cg * block / blocks, c1 = Cg * (block + 1) / blocks, rows = (c1 - c0) * kk;
      T* target = image + n * s.image_stride() + (g * Cg + c0) * s.image_size();  // channels [c0, c1) of group g
      const T* w_rows = w + g * Og * K + c0 * kk;  // columns [c0·kk, c1·kk) of W_g
      const T* grid_g = grid + n * s.grid_stride() + g * Og * P;
      cpu::PatchGeometry geo = s.geo;
      geo.C = c1 - c0;
      if (!s.is_pointwise()) std::fill(target, target + geo.C * s.image_size(), T(0));
      for (int64_t oh0 = 0; oh0 < s.geo.Ho; oh0 += bands.rows) {
        const int64_t oh1 = std::min(oh0 + bands.rows, s.geo.Ho), band_size = (oh1 - oh0) * s.geo.Wo;
        if (s.is_pointwise()) {  // the band's columns of the image are its patch rows
          cpu::gemm(true, false, rows, band_size, Og, T(1), w_rows, K, grid_g + oh0 * s.geo.Wo, P, T(0),
                    target + oh0 * s.geo.Wo, P);
          continue;
        }
        cols.resize(rows * band_size);
        cpu::gemm(true, false, rows, band_size, Og, T(1), w_rows, K, grid_g + oh0 * s.geo.Wo, P, T(0), cols.data(),
                  band_size);
        cpu::col2im(cols.data(), geo, oh0, oh1, target);
      }
    }
  });
}

// Weight gradient Σ_n grid[n, g] · im2col(image[n])_gᵀ -> (grid_c, K) per group, summed over the bands
// of all images in per-chunk partials that are combined in order (reproducible).
template <typename T>
void weight_gradient(const ConvShape& s, const T* image, const T* grid, T* gw) {
  const int64_t K = s.patch_rows(), P = s.grid_size(), Og = s.grid_c_per_group(), wsize = s.grid_c * K;
  const BandGrid bands = band_grid<T>(s);
  const int64_t items = s.N * bands.per_image, grain = grain_for(s.grid_c * K * bands.rows * s.geo.Wo);
  const int64_t chunks = cpu::chunk_count(items, grain);
  std::vector<T> partial(std::max<int64_t>(chunks, 1) * wsize, T(0));
  cpu::parallel_chunks(items, grain, [&](int64_t chunk, int64_t i0, int64_t i1) {
    std::vector<T> cols;
    T* acc = partial.data() + chunk * wsize;
    for (int64_t i = i0; i < i1; ++i) {
      const Band b = bands[i];
      const BandPatches<T> patches = band_patches(s, image + b.n * s.image_stride(), b, cols);
      const T* in = grid + b.n * s.grid_stride() + b.oh0 * s.geo.Wo;
      for (int64_t g = 0; g < s.groups; ++g)
        cpu::gemm(false, true, Og, K, (b.oh1 - b.oh0) * s.geo.Wo, T(1), in + g * Og * P, P, patches.group(s, g),
                  patches.ld, T(1), acc + g * Og * K, K);
    }
  });
  std::fill(gw, gw + wsize, T(0));
  for (int64_t c = 0; c < chunks; ++c)
    for (int64_t i = 0; i < wsize; ++i) gw[i] += partial[c * wsize + i];
}

// out[n, o, :, :] += b[o]
template <typename T>
void add_bias(T* out, const T* b, int64_t N, int64_t O, int64_t P) {
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o) {
      T* plane = out + (n * O + o) * P;
      for (int64_t i = 0; i < P; ++i) plane[i] += b[o];
    }
}

// gy: (N, O, Ho, Wo) -> (O): Σ over images and positions, in double.
Tensor bias_gradient(const Tensor& gy_compute, DType dtype) {
  const int64_t N = gy_compute.size(0), O = gy_compute.size(1), P = gy_compute.size(2) * gy_compute.size(3);
  std::vector<double> gb(O, 0.0);
  cpu::dispatch_compute(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* g = gy_compute.data<T>();
    for (int64_t n = 0; n < N; ++n)
      for (int64_t o = 0; o < O; ++o)
        for (int64_t i = 0; i < P; ++i) gb[o] += g[(n * O + o) * P + i];
  });
  return to(from_vector(gb, {O}), dtype);
}

Shape image_shape(const ConvShape& s) { return {s.N, s.image_c, s.geo.H, s.geo.W}; }
Shape grid_shape(const ConvShape& s) { return {s.N, s.grid_c, s.geo.Ho, s.geo.Wo}; }

void check_grad_output(const Tensor& gy, const Shape& expected, DType dtype, const char* op) {
  cpu::check_float_cpu(gy, op, "grad_output");
  CJ_CHECK(gy.shape() == expected && gy.dtype() == dtype, op, ": grad_output ", gy.describe(), " does not match the ",
           "output shape ", expected, " ", dtype_name(dtype));
}

// The forward of either convolution: conv2d gathers patches into the grid, conv_transpose2d
// scatters the grid back into the image.
Tensor conv_forward(const Tensor& x, const Tensor& w, const std::optional<Tensor>& b, const Conv2dParams& p,
                    bool transposed, const char* op) {
  const ConvShape s = conv_shape(x, w, p, transposed, op);
  const int64_t out_channels = transposed ? s.image_c : s.grid_c;
  check_bias(b, x, out_channels, op);
  Tensor xc = cpu::contiguous_compute(x, x.dtype()), wc = cpu::contiguous_compute(w, x.dtype());
  Tensor out = Tensor::empty(transposed ? image_shape(s) : grid_shape(s), cpu::compute_dtype(x.dtype()));
  cpu::dispatch_compute(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (transposed) grid_to_image<T>(s, xc.data<T>(), wc.data<T>(), out.data<T>());
    else patches_to_grid<T>(s, xc.data<T>(), wc.data<T>(), out.data<T>());
    if (b) add_bias<T>(out.data<T>(), cpu::contiguous_compute(*b, x.dtype()).template data<T>(), s.N, out_channels,
                       out.size(2) * out.size(3));
  });
  return to(out, x.dtype());
}

// The backward of either convolution. With "image" and "grid" as in ConvShape:
//   conv2d:           gx = col2im(Wᵀ · gy)      gW = Σ_n gy[n] · im2col(x[n])ᵀ
//   conv_transpose2d: gx = W · im2col(gy)       gW = Σ_n x[n] · im2col(gy[n])ᵀ
ConvGrads conv_backward(const Tensor& gy, const Tensor& x, const Tensor& w, bool has_bias, const Conv2dParams& p,
                        bool transposed, const char* op) {
  const ConvShape s = conv_shape(x, w, p, transposed, op);
  check_grad_output(gy, transposed ? image_shape(s) : grid_shape(s), x.dtype(), op);
  const DType cdt = cpu::compute_dtype(x.dtype());
  Tensor xc = cpu::contiguous_compute(x, x.dtype()), wc = cpu::contiguous_compute(w, x.dtype()),
         gc = cpu::contiguous_compute(gy, x.dtype());
  Tensor gx = Tensor::empty(x.shape(), cdt), gw = Tensor::empty(w.shape(), cdt);
  cpu::dispatch_compute(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* image = transposed ? gc.data<T>() : xc.data<T>();
    const T* grid = transposed ? xc.data<T>() : gc.data<T>();
    if (transposed) patches_to_grid<T>(s, image, wc.data<T>(), gx.data<T>());
    else grid_to_image<T>(s, grid, wc.data<T>(), gx.data<T>());
    weight_gradient<T>(s, image, grid, gw.data<T>());
  });
  ConvGrads g{to(gx, x.dtype()), to(gw, x.dtype()), Tensor()};
  if (has_bias) g.gb = bias_gradient(gc, x.dtype());
  return g;
}

}  // namespace

// x: (N, C, H, W), w: (O, C/groups, kh, kw), b: (O) -> (N, O, Ho, Wo)
Tensor conv2d(const Tensor& x, const Tensor& w, const std::optional<Tensor>& b, const Conv2dParams& p) {
  CJ_FORWARD_TO_DEVICE(decltype(conv2d), "conv2d", x, x, w, b, p);
  return conv_forward(x, w, b, p, false, "conv2d");
}

ConvGrads conv2d_backward(const Tensor& gy, const Tensor& x, const Tensor& w, bool has_bias, const Conv2dParams& p) {
  CJ_FORWARD_TO_DEVICE(decltype(conv2d_backward), "conv2d_backward", gy, gy, x, w, has_bias, p);
  return conv_backward(gy, x, w, has_bias, p, false, "conv2d_backward");
}

// x: (N, C, H, W), w: (C, O/groups, kh, kw), b: (O) -> (N, O, Ho, Wo)
Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const std::optional<Tensor>& b, const Conv2dParams& p) {
  CJ_FORWARD_TO_DEVICE(decltype(conv_transpose2d), "conv_transpose2d", x, x, w, b, p);
  return conv_forward(x, w, b, p, true, "conv_transpose2d");
}

ConvGrads conv_transpose2d_backward(const Tensor& gy, const Tensor& x, const Tensor& w, bool has_bias,
                                    const Conv2dParams& p) {
  CJ_FORWARD_TO_DEVICE(decltype(conv_transpose2d_backward), "conv_transpose2d_backward", gy, gy, x, w, has_bias, p);
  return conv_backward(gy, x, w, has_bias, p, true, "conv_transpose2d_backward");
}

}  // namespace cj::ops
