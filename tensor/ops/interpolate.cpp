// torch.nn.functional.interpolate on (N, C, H, W): nearest, bilinear, bicubic (A = -0.75), with
// align_corners and antialias, forward and backward. Every mode is separable: per axis, each output
// index reads a few input indices ("taps") with weights. The forward applies the width taps then
// the height taps (PyTorch's order); the backward applies their transposes in reverse.
// Index and weight arithmetic follows PyTorch's CPU kernels step by step, in the compute type
// (f32 for f32 input), so that floor() lands on the same source pixel.
#include <algorithm>
#include <cmath>
#include <vector>

#include "tensor/backend.hpp"
#include "tensor/cpu/float_compute.hpp"
#include "tensor/cpu/parallel.hpp"
#include "tensor/ops/creation.hpp"
#include "tensor/ops/nn_kernels.hpp"

namespace cj::ops {

namespace {

template <typename T>
struct AxisTaps {
  int64_t width = 0;            // taps per output index
  std::vector<int64_t> index;   // (out, width), always inside [0, in)
  std::vector<T> weight;        // (out, width)
};

// Input pixels per output pixel (PyTorch's area_pixel_compute_scale).
template <typename T>
T pixel_scale(int64_t in, int64_t out, bool align_corners, std::optional<double> scale) {
  if (align_corners) return out > 1 ? T(in - 1) / T(out - 1) : T(0);
  if (scale && *scale > 0) return T(1.0 / *scale);
  return T(in) / T(out);
}

// Source coordinate of output index i (PyTorch's area_pixel_compute_source_index).
template <typename T>
T source_coordinate(T scale, int64_t i, bool align_corners, bool cubic) {
  if (align_corners) return scale * T(i);
  // PyTorch's x86 wheels (and nvcc) contract this multiply-add into one FMA; without it bicubic
  // downsampling lands up to 2.4e-6 away from torch's f32 result (tests/data image fixtures).
  const T src = std::fma(scale, T(i) + T(0.5), T(-0.5));
  return (!cubic && src < T(0)) ? T(0) : src;
}

// The cubic convolution kernel with parameter A (Keys): |x| <= 1 and 1 < |x| < 2 pieces.
template <typename T> T cubic_inner(T x, T A) { return ((A + 2) * x - (A + 3)) * x * x + 1; }
template <typename T> T cubic_outer(T x, T A) { return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A; }

template <typename T>
AxisTaps<T> nearest_taps(int64_t in, int64_t out, std::optional<double> scale) {
  AxisTaps<T> t;
  t.width = 1;
  t.index.resize(out);
  t.weight.assign(out, T(1));
  // PyTorch computes nearest indices in f32 whatever the dtype, with shortcuts for 1x and 2x.
  const float s = (scale && *scale > 0) ? float(1.0 / *scale) : float(in) / float(out);
  for (int64_t i = 0; i < out; ++i) {
    if (out == in) t.index[i] = i;
    else if (out == 2 * in) t.index[i] = i >> 1;
    else t.index[i] = std::min(int64_t(std::floor(float(i) * s)), in - 1);
  }
  return t;
}

// Integer part and fraction of a source coordinate, clamped to the input (guard_index_and_lambda).
template <typename T>
void split_coordinate(T src, int64_t in, int64_t& index, T& frac) {
  index = std::min(int64_t(std::floor(src)), in - 1);
  frac = std::min(std::max(src - T(index), T(0)), T(1));
}

// Bilinear (2 taps) or bicubic (4 taps, A = -0.75; indices past the border repeat the edge pixel).
template <typename T>
AxisTaps<T> interpolating_taps(int64_t in, int64_t out, bool align_corners, std::optional<double> scale, bool cubic) {
  const T A = T(-0.75);
  AxisTaps<T> t;
  t.width = cubic ? 4 : 2;
  t.index.resize(t.width * out);
  t.weight.resize(t.width * out);
  const T s = pixel_scale<T>(in, out, align_corners, scale);
  for (int64_t i = 0; i < out; ++i) {
    int64_t i0;
    T x;
    split_coordinate(source_coordinate(s, i, align_corners, cubic), in, i0, x);
    int64_t* index = t.index.data() + i * t.width;
    T* weight = t.weight.data() + i * t.width;
    if (!cubic) {
      index[0] = i0;
      index[1] = i0 < in - 1 ? i0 + 1 : i0;
      weight[0] = T(1) - x;
      weight[1] = x;
      continue;
    }
    const T w[4] = {cubic_outer(x + 1, A), cubic_inner(x, A), cubic_inner(1 - x, A), cubic_outer(2 - x, A)};
    for (int k = 0; k < 4; ++k) {
      index[k] = std::clamp<int64_t>(i0 - 1 + k, 0, in - 1);
      weight[k] = w[k];
    }
  }
  return t;
}

// Antialiased taps (PyTorch's separable AA kernels, after Pillow): when downsampling by `scale` the
// filter is stretched by `scale`, and each output's weights are normalised over the inputs it covers.
// The bicubic filter here uses A = -0.5 (Pillow's), not -0.75.
template <typename T>
AxisTaps<T> antialias_taps(int64_t in, int64_t out, bool align_corners, std::optional<double> scale, bool cubic) {
  const int interp_size = cubic ? 4 : 2;
  const T s = pixel_scale<T>(in, out, align_corners, scale);
  const T support = s >= T(1) ? T(interp_size * 0.5) * s : T(interp_size * 0.5);
  const T inv_scale = s >= T(1) ? T(1) / s : T(1);
  auto filter = [cubic](T x) {
    x = std::abs(x);
    if (!cubic) return x < T(1) ? T(1) - x : T(0);
    if (x < T(1)) return cubic_inner(x, T(-0.5));
    if (x < T(2)) return cubic_outer(x, T(-0.5));
    return T(0);
  };
  AxisTaps<T> t;
  t.width = int64_t(std::ceil(support)) * 2 + 1;
  t.index.assign(out * t.width, 0);
  t.weight.assign(out * t.width, T(0));
  for (int64_t i = 0; i < out; ++i) {
    const T center = s * (T(i) + T(0.5));
    const int64_t lo = std::max(int64_t(center - support + T(0.5)), int64_t(0));
    const int64_t count = std::min(int64_t(center + support + T(0.5)), in) - lo;
    T total = 0;
    for (int64_t j = 0; j < count; ++j) {
      const T w = filter((T(j + lo) - center + T(0.5)) * inv_scale);
      t.weight[i * t.width + j] = w;
      total += w;
    }
    for (int64_t j = 0; j < t.width; ++j) {
      t.index[i * t.width + j] = j < count ? lo + j : lo;  // unused taps keep weight 0
      if (total != T(0)) t.weight[i * t.width + j] /= total;
    }
  }
  return t;
}

template <typename T>
AxisTaps<T> axis_taps(int64_t in, int64_t out, const InterpolateParams& p, std::optional<double> scale) {
  if (p.mode == InterpMode::nearest) return nearest_taps<T>(in, out, scale);
  if (p.antialias) return antialias_taps<T>(in, out, p.align_corners, scale, p.mode == InterpMode::bicubic);
  return interpolating_taps<T>(in, out, p.align_corners, scale, p.mode == InterpMode::bicubic);
}

void check_interpolate(const Shape& input, const InterpolateParams& p, const char* op) {
  CJ_CHECK(input.size() == 4, op, ": expected a (N, C, H, W) input, got ", input);
  CJ_CHECK(p.out_h > 0 && p.out_w > 0, op, ": output size must be positive, got (", p.out_h, ", ", p.out_w, ")");
  CJ_CHECK(input[2] > 0 && input[3] > 0, op, ": input spatial size must be positive, got ", input);
  CJ_CHECK(!(p.mode == InterpMode::nearest && (p.align_corners || p.antialias)), op,
           ": align_corners and antialias apply to bilinear and bicubic only");
}

}  // namespace

// x: (N, C, H, W) -> (N, C, out_h, out_w)
Tensor interpolate(const Tensor& x, const InterpolateParams& p) {
  CJ_FORWARD_TO_DEVICE(decltype(interpolate), "interpolate", x, x, p);
  cpu::check_float_cpu(x, "interpolate", "input");
  check_interpolate(x.shape(), p, "interpolate");
  const int64_t planes = x.size(0) * x.size(1), H = x.size(2), W = x.size(3), Ho = p.out_h, Wo = p.out_w;
  Tensor xc = cpu::contiguous_compute(x, x.dtype());
  Tensor out = Tensor::empty({x.size(0), x.size(1), Ho, Wo}, cpu::compute_dtype(x.dtype()));
  cpu::dispatch_compute(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const AxisTaps<T> ty = axis_taps<T>(H, Ho, p, p.scale_h), tx = axis_taps<T>(W, Wo, p, p.scale_w);
    const T* src = xc.data<T>();
    T* dst = out.data<T>();
    cpu::parallel_for(planes, std::max<int64_t>(1, 4096 / (Ho * Wo)), [&](int64_t r0, int64_t r1) {
      std::vector<T> rows(H * Wo);  // the plane resampled along W only
      for (int64_t r = r0; r < r1; ++r) {
        const T* plane = src + r * H * W;
        for (int64_t h = 0; h < H; ++h)
          for (int64_t ow = 0; ow < Wo; ++ow) {
            T acc = 0;
            for (int64_t k = 0; k < tx.width; ++k) acc += tx.weight[ow * tx.width + k] * plane[h * W + tx.index[ow * tx.width + k]];
            rows[h * Wo + ow] = acc;
          }
        T* o = dst + r * Ho * Wo;
        for (int64_t oh = 0; oh < Ho; ++oh) {
          for (int64_t ow = 0; ow < Wo; ++ow) o[oh * Wo + ow] = 0;
          for (int64_t k = 0; k < ty.width; ++k) {
            const T w = ty.weight[oh * ty.width + k];
            const T* row = rows.data() + ty.index[oh * ty.width + k] * Wo;
            for (int64_t ow = 0; ow < Wo; ++ow) o[oh * Wo + ow] += w * row[ow];
          }
        }
      }
    });
  });
  return to(out, x.dtype());
}

// gy: (N, C, out_h, out_w) -> (N, C, H, W); inputs read by several outputs accumulate.
Tensor interpolate_backward(const Tensor& gy, const Shape& input_shape, const InterpolateParams& p) {
  CJ_FORWARD_TO_DEVICE(decltype(interpolate_backward), "interpolate_backward", gy, gy, input_shape, p);
  cpu::check_float_cpu(gy, "interpolate_backward", "grad_output");
  check_interpolate(input_shape, p, "interpolate_backward");
  CJ_CHECK(gy.shape() == (Shape{input_shape[0], input_shape[1], p.out_h, p.out_w}), "interpolate_backward: grad_output ",
           gy.shape(), " does not match input ", input_shape, " resized to (", p.out_h, ", ", p.out_w, ")");
  const int64_t planes = input_shape[0] * input_shape[1], H = input_shape[2], W = input_shape[3], Ho = p.out_h,
                Wo = p.out_w;
  Tensor gc = cpu::contiguous_compute(gy, gy.dtype());
  Tensor gx = Tensor::empty(input_shape, cpu::compute_dtype(gy.dtype()));
  cpu::dispatch_compute(gy.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const AxisTaps<T> ty = axis_taps<T>(H, Ho, p, p.scale_h), tx = axis_taps<T>(W, Wo, p, p.scale_w);
    const T* src = gc.data<T>();
    T* dst = gx.data<T>();
    cpu::parallel_for(planes, std::max<int64_t>(1, 4096 / (Ho * Wo)), [&](int64_t r0, int64_t r1) {
      std::vector<T> rows(H * Wo);
      for (int64_t r = r0; r < r1; ++r) {
        std::fill(rows.begin(), rows.end(), T(0));
        const T* g = src + r * Ho * Wo;
        for (int64_t oh = 0; oh < Ho; ++oh)
          for (int64_t k = 0; k < ty.width; ++k) {
            const T w = ty.weight[oh * ty.width + k];
            T* row = rows.data() + ty.index[oh * ty.width + k] * Wo;
            for (int64_t ow = 0; ow < Wo; ++ow) row[ow] += w * g[oh * Wo + ow];
          }
        T* plane = dst + r * H * W;
        std::fill(plane, plane + H * W, T(0));
        for (int64_t h = 0; h < H; ++h)
          for (int64_t ow = 0; ow < Wo; ++ow)
            for (int64_t k = 0; k < tx.width; ++k)
              plane[h * W + tx.index[ow * tx.width + k]] += tx.weight[ow * tx.width + k] * rows[h * Wo + ow];
      }
    });
  });
  return to(gx, gy.dtype());
}

}  // namespace cj::ops
