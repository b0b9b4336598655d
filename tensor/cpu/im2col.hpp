#pragma once
// The patch matrix that turns a convolution into one GEMM, and its adjoint.
//   im2col: image (C, H, W) -> cols (C·kh·kw, Ho·Wo); row (c, i, j), column (oh, ow) holds
//           image[c, oh·sh - ph + i·dh, ow·sw - pw + j·dw], or 0 where that falls in the padding.
//   col2im: adds cols back into the image positions they were read from (the image must be zeroed
//           by the caller) — the backward of im2col, and the forward of a transposed convolution.
#include <cstdint>

namespace cj::cpu {

struct PatchGeometry {
  int64_t C, H, W;      // image
  int64_t kh, kw;       // kernel
  int64_t Ho, Wo;       // patch grid (the convolution's output size)
  int64_t sh, sw, ph, pw, dh, dw;
};

template <typename T>
void im2col(const T* image, const PatchGeometry& g, T* cols) {
  const int64_t P = g.Ho * g.Wo;
  for (int64_t c = 0; c < g.C; ++c)
    for (int64_t i = 0; i < g.kh; ++i)
      for (int64_t j = 0; j < g.kw; ++j) {
        T* row = cols + ((c * g.kh + i) * g.kw + j) * P;
        const T* plane = image + c * g.H * g.W;
        for (int64_t oh = 0; oh < g.Ho; ++oh) {
          const int64_t ih = oh * g.sh - g.ph + i * g.dh;
          T* out = row + oh * g.Wo;
          if (ih < 0 || ih >= g.H) {
            for (int64_t ow = 0; ow < g.Wo; ++ow) out[ow] = T(0);
            continue;
          }
          const T* line = plane + ih * g.W;
          const int64_t iw0 = j * g.dw - g.pw;
          if (g.sw == 1 && iw0 >= 0 && iw0 + g.Wo <= g.W) {  // the common interior case: a plain copy
            for (int64_t ow = 0; ow < g.Wo; ++ow) out[ow] = line[iw0 + ow];
            continue;
          }
          for (int64_t ow = 0; ow < g.Wo; ++ow) {
            const int64_t iw = iw0 + ow * g.sw;
            out[ow] = (iw >= 0 && iw < g.W) ? line[iw] : T(0);
          }
        }
      }
}

template <typename T>
void col2im(const T* cols, const PatchGeometry& g, T* image) {
  const int64_t P = g.Ho * g.Wo;
  for (int64_t c = 0; c < g.C; ++c)
    for (int64_t i = 0; i < g.kh; ++i)
      for (int64_t j = 0; j < g.kw; ++j) {
        const T* row = cols + ((c * g.kh + i) * g.kw + j) * P;
        T* plane = image + c * g.H * g.W;
        for (int64_t oh = 0; oh < g.Ho; ++oh) {
          const int64_t ih = oh * g.sh - g.ph + i * g.dh;
          if (ih < 0 || ih >= g.H) continue;
          T* line = plane + ih * g.W;
          const T* in = row + oh * g.Wo;
          for (int64_t ow = 0; ow < g.Wo; ++ow) {
            const int64_t iw = ow * g.sw - g.pw + j * g.dw;
            if (iw >= 0 && iw < g.W) line[iw] += in[ow];
          }
        }
      }
}

}  // namespace cj::cpu
