#pragma once
// torch.nn.Conv1d, Conv2d and ConvTranspose2d: NCHW (NCL), PyTorch's weight layouts and default
// initialisation (kaiming_uniform_(a = sqrt(5)) on the weight, U(+-1/sqrt(fan_in)) on the bias).
#include <cstdint>

#include "nn/module.hpp"
#include "tensor/ops/nn_kernels.hpp"
#include "tensor/random.hpp"

namespace cj::nn {

struct Conv2dOptions {
  int64_t kernel_h = 1, kernel_w = 1;
  int64_t stride = 1, padding = 0, dilation = 1, groups = 1;
  int64_t output_padding = 0;  // ConvTranspose2d only
  bool bias = true;
  // Square kernel k x k, the common case: Conv2dOptions::square(5).with_padding(2)
  static Conv2dOptions square(int64_t k) {
    Conv2dOptions o;
    o.kernel_h = o.kernel_w = k;
    return o;
  }
  Conv2dOptions& with_stride(int64_t s) { stride = s; return *this; }
  Conv2dOptions& with_padding(int64_t p) { padding = p; return *this; }
  Conv2dOptions& with_output_padding(int64_t p) { output_padding = p; return *this; }
  Conv2dOptions& with_groups(int64_t g) { groups = g; return *this; }
  Conv2dOptions& with_bias(bool b) { bias = b; return *this; }
};

// weight (out, in / groups, kh, kw), bias (out).
class Conv2d : public UnaryModule {
 public:
  Conv2d(int64_t in_channels, int64_t out_channels, Conv2dOptions options, Generator& gen = default_generator());
  Tensor forward(const Tensor& x) override;  // x: (N, in, H, W) -> (N, out, Ho, Wo)

  Tensor weight, bias;

 private:
  int64_t in_channels_;
  ops::Conv2dParams params_;
};

// weight (in, out / groups, kh, kw), bias (out); Ho = (H - 1) stride - 2 padding + kh + output_padding.
class ConvTranspose2d : public UnaryModule {
 public:
  ConvTranspose2d(int64_t in_channels, int64_t out_channels, Conv2dOptions options,
                  Generator& gen = default_generator());
  Tensor forward(const Tensor& x) override;  // x: (N, in, H, W) -> (N, out, Ho, Wo)

  Tensor weight, bias;

 private:
  int64_t in_channels_;
  ops::Conv2dParams params_;
};

// weight (out, in / groups, k), bias (out); run as a 2-d convolution over a height-1 image.
class Conv1d : public UnaryModule {
 public:
  Conv1d(int64_t in_channels, int64_t out_channels, int64_t kernel_size = 1, int64_t stride = 1, int64_t padding = 0,
         bool bias = true, Generator& gen = default_generator());
  Tensor forward(const Tensor& x) override;  // x: (N, in, L) -> (N, out, Lo)

  Tensor weight, bias;

 private:
  int64_t in_channels_;
  ops::Conv2dParams params_;
};

}  // namespace cj::nn
