#pragma once
// The patch matrix that turns a convolution into one GEMM, and its adjoint, for a band of grid rows
// [oh0, oh1) so that a band's patch matrix stays in cache while its GEMM reads it.
//   im2col: image (C, H, W) -> cols (C·kh·kw, (oh1-oh0)·Wo); row (c, i, j), column (oh-oh0, ow) holds
//           image[c, oh·sh - ph + i·dh, ow·sw - pw + j·dw], or 0 where that falls in the padding.
//   col2im: adds cols back into the image positions they were read from (the image must be zeroed
//           by the caller) — the backward of im2col, and the forward of a transposed convolution.
#include <algorithm>
#include <cstdint>

namespace cj::cpu {

struct PatchGeometry {
  int64_t C, H, W;      // image
  int64_t kh, kw;       // kernel
  int64_t Ho, Wo;       // patch grid (the convolution's output size)
  int64_t sh, sw, ph, pw, dh, dw;
};

// The grid columns [lo, hi) whose input column ow·sw + offset falls inside [0, W).
struct ColumnSpan {
  int64_t lo, hi;
};
inline ColumnSpan valid_columns(int64_t offset, int64_t stride, int64_t W, int64_t Wo) {
  const int64_t lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  const int64_t hi = offset >= W ? 0 : (W - 1 - offset) / stride + 1;
  return {std::min(lo, Wo), std::max(std::min(hi, Wo), std::min(lo, Wo))};
}

template <typename T>
void im2col(const T* image, const PatchGeometry& g, int64_t oh0, int64_t oh1, T* cols) {
  const int64_t P = (oh1 - oh0) * g.Wo;
  for (int64_t c = 0; c < g.C; ++c)
    for (int64_t i = 0; i < g.kh; ++i)
      for (int64_t j = 0; j < g.kw; ++j) {
        T* row = cols + ((c * g.kh + i) * g.kw + j) * P;
        const T* plane = image + c * g.H * g.W;
        const int64_t iw0 = j * g.dw - g.pw;
        const ColumnSpan span = valid_columns(iw0, g.sw, g.W, g.Wo);
        for (int64_t oh = oh0; oh < oh1; ++oh) {
          const int64_t ih = oh * g.sh - g.ph + i * g.dh;
          T* out = row + (oh - oh0) * g.Wo;
          if (ih < 0 || ih >= g.H) {
            std::fill(out, out + g.Wo, T(0));
            continue;
          }
          const T* line = plane + ih * g.W;
          std::fill(out, out + span.lo, T(0));
          if (g.sw == 1) std::copy(line + iw0 + span.lo, line + iw0 + span.hi, out + span.lo);
          else
            for (int64_t ow = span.lo; ow < span.hi; ++ow) out[ow] = line[iw0 + ow * g.sw];
          std::fill(out + span.hi, out + g.Wo, T(0));
        }
      }
}

template <typename T>
void col2im(const T* cols, const PatchGeometry& g, int64_t oh0, int64_t oh1, T* image) {
  const int64_t P = (oh1 - oh0) * g.Wo;
  for (int64_t c = 0; c < g.C; ++c)
    for (int64_t i = 0; i < g.kh; ++i)
      for (int64_t j = 0; j < g.kw; ++j) {
        const T* row = cols + ((c * g.kh + i) * g.kw + j) * P;
        T* plane = image + c * g.H * g.W;
        const int64_t iw0 = j * g.dw - g.pw;
        const ColumnSpan span = valid_columns(iw0, g.sw, g.W, g.Wo);
        for (int64_t oh = oh0; oh < oh1; ++oh) {
          const int64_t ih = oh * g.sh - g.ph + i * g.dh;
          if (ih < 0 || ih >= g.H) continue;
          T* line = plane + ih * g.W;
          const T* in = row + (oh - oh0) * g.Wo;
          if (g.sw == 1)
            for (int64_t ow = span.lo; ow < span.hi; ++ow) line[iw0 + ow] += in[ow];
          else
            for (int64_t ow = span.lo; ow < span.hi; ++ow) line[iw0 + ow * g.sw] += in[ow];
        }
      }
}

}  // namespace cj::cpu
