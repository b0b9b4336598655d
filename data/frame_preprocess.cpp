#include "data/frame_preprocess.hpp"

#include <algorithm>

#include "tensor/error.hpp"
#include "tensor/ops/nn_kernels.hpp"
#include "tensor/ops/views.hpp"

namespace cj::data {

namespace {

constexpr float kImagenetMean[3] = {0.485f, 0.456f, 0.406f};
constexpr float kImagenetStd[3] = {0.229f, 0.224f, 0.225f};

void check_float_frames(const Tensor& x, const char* op) {
  CJ_CHECK(x.defined() && x.dim() == 4 && x.size(1) == 3 && x.dtype() == DType::f32, op,
           ": expected (T, 3, H, W) float32 frames, got ", x.defined() ? x.describe() : std::string("undefined"));
}

// x: (T, 3, H, W) -> (T, 3, out_h, out_w), torch.nn.functional.interpolate with align_corners=False.
Tensor resize(const Tensor& x, int64_t out_h, int64_t out_w, InterpMode mode, bool antialias) {
  InterpolateParams p;
  p.out_h = out_h;
  p.out_w = out_w;
  p.mode = mode;
  p.antialias = antialias;
  return ops::contiguous(ops::interpolate(x, p));
}

void clamp_unit_(Tensor& x) {
  float* v = x.data<float>();
  for (int64_t i = 0, n = x.numel(); i < n; ++i) v[i] = std::min(std::max(v[i], 0.0f), 1.0f);
}

}  // namespace

Preprocess parse_preprocess(const std::string& name) {
  if (name == "videosaur") return Preprocess::videosaur;
  if (name == "extraction") return Preprocess::extraction;
  if (name == "planning") return Preprocess::planning;
  fail("preprocess: unknown pipeline '", name, "'; expected extraction, videosaur or planning");
}

const char* preprocess_name(Preprocess p) {
  switch (p) {
    case Preprocess::videosaur: return "videosaur";
    case Preprocess::extraction: return "extraction";
    case Preprocess::planning: return "planning";
  }
  return "?";
}

Tensor to_unit_float(const Tensor& frames, UnitScale scale) {
  CJ_CHECK(frames.defined() && frames.dim() == 4 && frames.size(3) == 3 && frames.dtype() == DType::u8,
           "to_unit_float: expected (T, H, W, 3) uint8 frames, got ",
           frames.defined() ? frames.describe() : std::string("undefined"));
  const Tensor src = ops::contiguous(frames);
  const int64_t T = src.size(0), H = src.size(1), W = src.size(2), plane = H * W;
  Tensor out = Tensor::empty({T, 3, H, W}, DType::f32);  // (T, 3, H, W)
  const uint8_t* in = src.data<uint8_t>();
  float* o = out.data<float>();
  const float inverse = float(1.0 / 255.0);  // torch multiplies by the double 1/255 rounded to float
  for (int64_t t = 0; t < T; ++t)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t i = 0; i < plane; ++i) {
        const float v = float(in[(t * plane + i) * 3 + c]);
        o[(t * 3 + c) * plane + i] = scale == UnitScale::divide_255 ? v / 255.0f : v * inverse;
      }
  return out;
}

Tensor imagenet_normalize(const Tensor& x) {
  check_float_frames(x, "imagenet_normalize");
  Tensor out = ops::clone(x);  // contiguous (T, 3, H, W)
  const int64_t T = out.size(0), plane = out.size(2) * out.size(3);
  float* v = out.data<float>();
  for (int64_t t = 0; t < T; ++t)
    for (int64_t c = 0; c < 3; ++c) {
      float* p = v + (t * 3 + c) * plane;
      for (int64_t i = 0; i < plane; ++i) p[i] = (p[i] - kImagenetMean[c]) / kImagenetStd[c];
    }
  return out;
}

Tensor center_crop(const Tensor& x, int64_t size) {
  check_float_frames(x, "center_crop");
  const int64_t H = x.size(2), W = x.size(3);
  CJ_CHECK(size > 0 && size <= H && size <= W, "center_crop: crop ", size, " does not fit a ", H, "x", W, " frame");
  // int(round((in - size) / 2.0)) with Python's round: halves go to the even neighbour.
  auto offset = [](int64_t excess) {
    int64_t half = excess / 2;
    if (excess % 2 == 1 && half % 2 == 1) ++half;
    return half;
  };
  const int64_t top = offset(H - size), left = offset(W - size);
  return ops::contiguous(ops::slice(ops::slice(x, 2, top, top + size), 3, left, left + size));
}

Tensor resize_shorter_side(const Tensor& x, int64_t size) {
  check_float_frames(x, "resize_shorter_side");
  const int64_t H = x.size(2), W = x.size(3);
  CJ_CHECK(size > 0, "resize_shorter_side: size must be positive, got ", size);
  const int64_t shorter = std::min(H, W), longer = std::max(H, W);
  const int64_t new_longer = int64_t(double(size * longer) / double(shorter));  // Python int(size * long / short)
  const int64_t out_h = H <= W ? size : new_longer, out_w = H <= W ? new_longer : size;
  if (out_h == H && out_w == W) return x;  // torchvision returns the image untouched
  return resize(x, out_h, out_w, InterpMode::bilinear, /*antialias=*/true);
}

Tensor preprocess_frames(const Tensor& frames, Preprocess p, int64_t size) {
  CJ_CHECK(size > 0, "preprocess: size must be positive, got ", size);
  CJ_CHECK(frames.defined() && (frames.dim() == 3 || frames.dim() == 4), "preprocess: expected (T, H, W, 3) or ",
           "(H, W, 3) uint8 frames, got ", frames.defined() ? frames.describe() : std::string("undefined"));
  const Tensor batch = frames.dim() == 3 ? ops::unsqueeze(frames, 0) : frames;
  switch (p) {
    case Preprocess::videosaur: {
      Tensor x = resize(to_unit_float(batch, UnitScale::divide_255), size, size, InterpMode::bicubic, false);
      clamp_unit_(x);
      return imagenet_normalize(x);
    }
    case Preprocess::extraction: {
      Tensor x = to_unit_float(batch, UnitScale::multiply_inverse_255);
      if (x.size(2) != size || x.size(3) != size) x = resize(x, size, size, InterpMode::bilinear, true);
      return imagenet_normalize(x);
    }
    case Preprocess::planning: {
      Tensor x = imagenet_normalize(to_unit_float(batch, UnitScale::multiply_inverse_255));
      return center_crop(resize_shorter_side(x, size), size);
    }
  }
  fail("preprocess: unknown pipeline");
}

}  // namespace cj::data
