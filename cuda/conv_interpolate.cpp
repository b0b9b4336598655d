// Convolutions and interpolate on CUDA tensors. conv2d and conv_transpose2d, forward and backward,
// any groups, stride, padding, dilation and output_padding, run on the GPU through cuDNN
// (cudnn_conv.cpp) when the build has it, else natively as im2col + batched GEMMs with a col2im
// scatter (conv_composite.hpp, checked on the CPU against the CPU ops); set_conv_path / CJ_CONV
// forces either. Arguments the CPU op would reject (and empty tensors) go to the CPU op on host
// copies, so bad input raises its messages. Interpolate is two GEMMs (interpolate_separable.hpp).

#include "cuda/conv_composite.hpp"
#include "cuda/cudnn_conv.hpp"
#include "cuda/interpolate_separable.hpp"
#include "cuda/ops.hpp"
#include "tensor/env_choice.hpp"

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

ConvPath& chosen_path() {
  static ConvPath path = env_choice("CJ_CONV", ConvPath::automatic,
                                    {{"cudnn", ConvPath::cudnn}, {"native", ConvPath::native}, {"auto", ConvPath::automatic}});
  return path;
}

// Whether the device path takes these (checked) arguments: every tensor on the GPU.
bool on_device(const Tensor& a, const Tensor& b, const std::optional<Tensor>& c = std::nullopt) {
  return a.is_cuda() && b.is_cuda() && (!c || c->is_cuda());
}

// Which path a valid convolution takes; throws when cuDNN was forced but cannot be had.
enum class Route { native, cudnn, cudnn_forced };
Route route(const char* op, const Tensor& x, const Tensor& w, const Conv2dParams& p, bool transposed) {
  const ConvPath path = chosen_path();
  if (path == ConvPath::native) return Route::native;
#ifdef CJ_WITH_CUDNN
  const char* refusal = cudnn::refusal(x, w, p, transposed);
  CJ_CHECK(refusal == nullptr || path != ConvPath::cudnn, op, ": the cuDNN path was forced (set_conv_path / CJ_CONV) ",
           "but it does not take ", refusal, "; got input ", x.shape(), ", weight ", w.shape());
  if (refusal != nullptr) return Route::native;
  return path == ConvPath::cudnn ? Route::cudnn_forced : Route::cudnn;
#else
  (void)x, (void)w, (void)p, (void)transposed;
  CJ_CHECK(path != ConvPath::cudnn, op, ": the cuDNN path was forced (set_conv_path / CJ_CONV) but this build has ",
           "no cuDNN (configure with -DCJ_CUDNN=ON where cuDNN is installed)");
  return Route::native;
#endif
}

}  // namespace

void set_conv_path(ConvPath path) { chosen_path() = path; }
ConvPath conv_path() { return chosen_path(); }

Tensor conv2d(const Tensor& x, const Tensor& w, const std::optional<Tensor>& b, const Conv2dParams& p) {
  const char* op = "conv2d";
  check_cuda(op, x);
  if (!composite::is_valid_conv(x, w, b, p, false) || !on_device(x, w, b))
    return back(ops::conv2d(host(x), host(w), host(b), p), x.device());
  [[maybe_unused]] const Route r = route(op, x, w, p, false);
#ifdef CJ_WITH_CUDNN
  if (r != Route::native) return cudnn::conv2d(x, w, b, p, r == Route::cudnn_forced);
#endif
  return composite::native_conv2d(x, w, b, p);
}

ops::ConvGrads conv2d_backward(const Tensor& gy, const Tensor& x, const Tensor& w, bool has_bias,
                               const Conv2dParams& p) {
  const char* op = "conv2d_backward";
  check_cuda(op, gy);
  if (!composite::is_valid_conv_backward(gy, x, w, p, false) || !on_device(x, w))
    return back(ops::conv2d_backward(host(gy), host(x), host(w), has_bias, p), gy.device());
  [[maybe_unused]] const Route r = route(op, x, w, p, false);
#ifdef CJ_WITH_CUDNN
  if (r != Route::native) return cudnn::conv2d_backward(gy, x, w, has_bias, p, r == Route::cudnn_forced);
#endif
  return composite::native_conv2d_backward(gy, x, w, has_bias, p);
}

Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const std::optional<Tensor>& b, const Conv2dParams& p) {
  const char* op = "conv_transpose2d";
  check_cuda(op, x);
  if (!composite::is_valid_conv(x, w, b, p, true) || !on_device(x, w, b))
    return back(ops::conv_transpose2d(host(x), host(w), host(b), p), x.device());
  [[maybe_unused]] const Route r = route(op, x, w, p, true);
#ifdef CJ_WITH_CUDNN
  if (r != Route::native) return cudnn::conv_transpose2d(x, w, b, p, r == Route::cudnn_forced);
#endif
  return composite::native_conv_transpose2d(x, w, b, p);
}

ops::ConvGrads conv_transpose2d_backward(const Tensor& gy, const Tensor& x, const Tensor& w, bool has_bias,
                                         const Conv2dParams& p) {
  const char* op = "conv_transpose2d_backward";
  check_cuda(op, gy);
  if (!composite::is_valid_conv_backward(gy, x, w, p, true) || !on_device(x, w))
    return back(ops::conv_transpose2d_backward(host(gy), host(x), host(w), has_bias, p), gy.device());
  [[maybe_unused]] const Route r = route(op, x, w, p, true);
#ifdef CJ_WITH_CUDNN
  if (r != Route::native) return cudnn::conv_transpose2d_backward(gy, x, w, has_bias, p, r == Route::cudnn_forced);
#endif
  return composite::native_conv_transpose2d_backward(gy, x, w, has_bias, p);
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
