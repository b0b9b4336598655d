#include "nn/layers/conv.hpp"

#include "autograd/ops.hpp"
#include "nn/init.hpp"

namespace cj::nn {

namespace {

ops::Conv2dParams to_params(const Conv2dOptions& o, const char* who) {
  CJ_CHECK(o.kernel_h > 0 && o.kernel_w > 0 && o.stride > 0 && o.padding >= 0 && o.dilation > 0 && o.groups > 0 &&
               o.output_padding >= 0,
           who, ": invalid options (kernel ", o.kernel_h, "x", o.kernel_w, ", stride ", o.stride, ", padding ",
           o.padding, ", dilation ", o.dilation, ", groups ", o.groups, ", output_padding ", o.output_padding, ")");
  ops::Conv2dParams p;
  p.stride_h = p.stride_w = o.stride;
  p.pad_h = p.pad_w = o.padding;
  p.dilation_h = p.dilation_w = o.dilation;
  p.groups = o.groups;
  p.output_pad_h = p.output_pad_w = o.output_padding;
  return p;
}

void check_channels(int64_t in, int64_t out, int64_t groups, const char* who) {
  CJ_CHECK(in > 0 && out > 0 && in % groups == 0 && out % groups == 0, who, ": channels in ", in, " and out ", out,
           " must be positive multiples of groups ", groups);
}

void check_input(const Tensor& x, int64_t dims, int64_t channels, const char* who) {
  CJ_CHECK(x.dim() == dims && x.size(1) == channels, who, ": expected input with ", dims, " dims and ", channels,
           " channels in dim 1, got ", x.shape());
}

}  // namespace

Conv2d::Conv2d(int64_t in_channels, int64_t out_channels, Conv2dOptions o, Generator& gen)
    : in_channels_(in_channels), params_(to_params(o, "Conv2d")) {
  check_channels(in_channels, out_channels, o.groups, "Conv2d");
  weight = register_parameter("weight", empty({out_channels, in_channels / o.groups, o.kernel_h, o.kernel_w}));
  if (o.bias) bias = register_parameter("bias", empty({out_channels}));
  init::linear_default_(weight, bias, gen);
}

Tensor Conv2d::forward(const Tensor& x) {
  check_input(x, 4, in_channels_, "Conv2d");
  return cj::conv2d(x, weight, if_defined(bias), params_);
}

ConvTranspose2d::ConvTranspose2d(int64_t in_channels, int64_t out_channels, Conv2dOptions o, Generator& gen)
    : in_channels_(in_channels), params_(to_params(o, "ConvTranspose2d")) {
  check_channels(in_channels, out_channels, o.groups, "ConvTranspose2d");
  CJ_CHECK(o.output_padding < std::max(o.stride, o.dilation), "ConvTranspose2d: output_padding ", o.output_padding,
           " must be smaller than stride or dilation");
  weight = register_parameter("weight", empty({in_channels, out_channels / o.groups, o.kernel_h, o.kernel_w}));
  if (o.bias) bias = register_parameter("bias", empty({out_channels}));
  // PyTorch computes the fans from the weight as laid out, so fan_in = (out / groups) * kh * kw.
  init::linear_default_(weight, bias, gen);
}

Tensor ConvTranspose2d::forward(const Tensor& x) {
  check_input(x, 4, in_channels_, "ConvTranspose2d");
  return cj::conv_transpose2d(x, weight, if_defined(bias), params_);
}

Conv1d::Conv1d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, int64_t stride, int64_t padding,
               bool has_bias, Generator& gen)
    : in_channels_(in_channels) {
  check_channels(in_channels, out_channels, 1, "Conv1d");
  CJ_CHECK(kernel_size > 0 && stride > 0 && padding >= 0, "Conv1d: invalid kernel_size ", kernel_size, ", stride ",
           stride, ", padding ", padding);
  params_.stride_w = stride;
  params_.pad_w = padding;
  weight = register_parameter("weight", empty({out_channels, in_channels, kernel_size}));
  if (has_bias) bias = register_parameter("bias", empty({out_channels}));
  init::linear_default_(weight, bias, gen);
}

Tensor Conv1d::forward(const Tensor& x) {
  check_input(x, 3, in_channels_, "Conv1d");
  // (N, C, L) -> (N, C, 1, L) with weight (O, C, 1, k): a 2-d convolution of height 1.
  Tensor y = cj::conv2d(cj::unsqueeze(x, 2), cj::unsqueeze(weight, 2), if_defined(bias), params_);
  return cj::squeeze(y, 2);
}

}  // namespace cj::nn
