#pragma once
// uint8 RGB frames -> the ImageNet-normalised float pixels DINOv2 takes, exactly as the reference
// prepares them at each stage (reference.md §1; the three differ, and the features differ with them):
//
//   videosaur   VideoSAUR training (videosaur/data/transforms.py): x / 255, F.interpolate to size x size
//               (bicubic, align_corners=False, no antialias; aspect not kept), clamp to [0, 1], normalise.
//   extraction  slot extraction (extract_videosaur.py, torchvision v2): ToDtype(float, scale) =
//               x * (1/255), Resize((size, size)) (bilinear, antialias), normalise.
//   planning    Push-T planning (src/plan/run.py, torchvision v2): x * (1/255), normalise, Resize(size)
//               of the shorter side (bilinear, antialias; longer side int(size * long / short)),
//               CenterCrop(size) (offsets rounded half to even, as Python's round).
//
// normalise = (x - mean) / std per channel with ImageNet's mean (0.485, 0.456, 0.406) and std
// (0.229, 0.224, 0.225), as float32 subtraction then division (torchvision's sub_/div_).
#include <cstdint>
#include <string>

#include "tensor/tensor.hpp"

namespace cj::data {

enum class Preprocess { videosaur, extraction, planning };
Preprocess parse_preprocess(const std::string& name);  // "videosaur" | "extraction" | "planning"
const char* preprocess_name(Preprocess p);

// frames: (T, H, W, 3) or (H, W, 3) u8 -> (T, 3, size, size) f32 (T = 1 for a single frame).
Tensor preprocess_frames(const Tensor& frames, Preprocess p, int64_t size);

// The steps, for tests and other pipelines. All take and return (T, 3, H, W) f32 unless said.
enum class UnitScale { divide_255, multiply_inverse_255 };  // videosaur's x / 255. vs torchvision's x * (1/255)
Tensor to_unit_float(const Tensor& frames, UnitScale scale);  // (T, H, W, 3) u8 -> (T, 3, H, W) f32 in [0, 1]
Tensor imagenet_normalize(const Tensor& x);
Tensor center_crop(const Tensor& x, int64_t size);            // torchvision v2 CenterCrop (no padding: size <= H, W)
Tensor resize_shorter_side(const Tensor& x, int64_t size);    // torchvision v2 Resize(size), bilinear + antialias

}  // namespace cj::data
