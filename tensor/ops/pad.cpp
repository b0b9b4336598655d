// F.pad(mode="constant"): grow (or, with negative pads, crop) the last dims, filling with a value.
// Built from fill_ and copy_, so it runs on any device that has those.
#include <algorithm>

#include "tensor/ops/elementwise.hpp"
#include "tensor/ops/index.hpp"
#include "tensor/ops/views.hpp"

namespace cj::ops {

// x: (..., s_{n-2}, s_{n-1}), pads = (lo_{n-1}, hi_{n-1}, lo_{n-2}, hi_{n-2}, ...)
//   -> (..., s_{n-2} + lo_{n-2} + hi_{n-2}, s_{n-1} + lo_{n-1} + hi_{n-1})
Tensor pad(const Tensor& x, const Shape& pads, Scalar value) {
  CJ_CHECK(x.defined(), "pad: x is an undefined tensor");
  CJ_CHECK(pads.size() % 2 == 0, "pad: padding length must be even, got ", pads.size(), " values ", pads);
  CJ_CHECK(int64_t(pads.size()) <= 2 * x.dim(), "pad: ", pads.size(), " padding values ", pads, " for a tensor of ",
           x.dim(), " dims (at most ", 2 * x.dim(), ")");
  Shape out_shape = x.shape();
  Tensor src = x;  // x cropped by the negative pads
  std::vector<std::pair<int64_t, int64_t>> dst_ranges(x.dim(), {0, 0});  // (start, length) inside out
  for (int64_t d = 0; d < x.dim(); ++d) dst_ranges[d] = {0, x.size(d)};
  for (size_t i = 0; i < pads.size() / 2; ++i) {
    const int64_t d = x.dim() - 1 - int64_t(i), lo = pads[2 * i], hi = pads[2 * i + 1], size = x.size(d);
    out_shape[d] = size + lo + hi;
    CJ_CHECK(out_shape[d] >= 0, "pad: padding (", lo, ", ", hi, ") on dim ", d, " of size ", size,
             " gives a negative size ", out_shape[d]);
    // Output position j holds input position j - lo; keep the input range that lands inside.
    const int64_t keep_begin = std::clamp<int64_t>(-lo, 0, size);
    const int64_t keep_end = std::clamp<int64_t>(size + hi, keep_begin, size);
    src = narrow(src, d, keep_begin, keep_end - keep_begin);
    dst_ranges[d] = {std::min<int64_t>(std::max<int64_t>(lo, 0), out_shape[d]), keep_end - keep_begin};
  }
  Tensor out = Tensor::empty(out_shape, {x.dtype(), x.device()});
  fill_(out, value);
  Tensor dst = out;
  for (int64_t d = 0; d < x.dim(); ++d) dst = narrow(dst, d, dst_ranges[d].first, dst_ranges[d].second);
  copy_(dst, src);
  return out;
}

}  // namespace cj::ops
