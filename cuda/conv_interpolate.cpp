// Convolutions and interpolate on CUDA tensors. conv2d with groups = 1 runs on the GPU as im2col +
// GEMM (cuda/conv_im2col.hpp) and interpolate as two GEMMs (cuda/interpolate_separable.hpp). What
// has no GPU path yet (grouped convolutions, conv_transpose2d) copies its inputs to the host, runs
// the CPU op (with all its checks) and copies the results back: correct and slow, until cuDNN.
#include "cuda/conv_im2col.hpp"
#include "cuda/interpolate_separable.hpp"
#include "cuda/ops.hpp"

namespace cj::cuda {

namespace {

Tensor host(const Tensor& t) { return ops::to(t, Device::cpu()); }
std::optional<Tensor> host(const std::optional<Tensor>& t) {
  return t && t->defined() ? std::optional<Tensor>(host(*t)) : t;
}
Tensor back(const Tensor& t, const Device& device) { return t.defined() ? ops::to(t, device) : t; }
ops::ConvGrads back(const ops::ConvGrads& g, const Device& device) {
  return {back(g.gx, device), back(g.gw, device), back(g.gb, device)};
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& w, const std::optional<Tensor>& b, const Conv2dParams& p) {
  check_cuda("conv2d", x);
  if (composite::is_im2col_conv(x, w, b, p) && w.is_cuda() && (!b || b->is_cuda()))
    return composite::im2col_conv2d(x, w, b, p);
  return back(ops::conv2d(host(x), host(w), host(b), p), x.device());
}

ops::ConvGrads conv2d_backward(const Tensor& gy, const Tensor& x, const Tensor& w, bool has_bias,
                               const Conv2dParams& p) {
  check_cuda("conv2d_backward", gy);
  if (composite::is_im2col_conv(x, w, std::nullopt, p) && x.is_cuda() && w.is_cuda())
    return composite::im2col_conv2d_backward(gy, x, w, has_bias, p);
  return back(ops::conv2d_backward(host(gy), host(x), host(w), has_bias, p), gy.device());
}

Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const std::optional<Tensor>& b, const Conv2dParams& p) {
  check_cuda("conv_transpose2d", x);
  return back(ops::conv_transpose2d(host(x), host(w), host(b), p), x.device());
}

ops::ConvGrads conv_transpose2d_backward(const Tensor& gy, const Tensor& x, const Tensor& w, bool has_bias,
                                         const Conv2dParams& p) {
  check_cuda("conv_transpose2d_backward", gy);
  return back(ops::conv_transpose2d_backward(host(gy), host(x), host(w), has_bias, p), gy.device());
}

Tensor interpolate(const Tensor& x, const InterpolateParams& p) {
  check_cuda("interpolate", x);
  return composite::separable_interpolate(x, p);
}

Tensor interpolate_backward(const Tensor& gy, const Shape& input_shape, const InterpolateParams& p) {
  check_cuda("interpolate_backward", gy);
  return composite::separable_interpolate_backward(gy, input_shape, p);
}

}  // namespace cj::cuda
