#pragma once
// Convolutions through cuDNN's legacy API (cudnn_conv.cpp, compiled only with CJ_WITH_CUDNN), called
// by conv_interpolate.cpp's dispatch after the arguments passed composite::is_valid_conv*. A
// transposed convolution is cuDNN's backward-data pass; its backward is the forward pass (grad
// input) and the backward-filter pass with image and grid swapped. Bias gradients use our reduce.
// When cuDNN offers no algorithm for one pass (e.g. bf16 on a card without it), that pass runs the
// native composite (cuda/conv_composite.hpp) instead, unless `required` (the cuDNN path was forced):
// then it throws naming the op.
#ifdef CJ_WITH_CUDNN
#include <optional>

#include "tensor/ops/nn_kernels.hpp"

namespace cj::cuda::cudnn {

// Why cuDNN is not used for this valid convolution, or nullptr when it is.
const char* refusal(const Tensor& x, const Tensor& w, const Conv2dParams& p, bool transposed);

// x: (N, C, H, W), w: (O, C/groups, kh, kw), b: (O) -> (N, O, Ho, Wo)
Tensor conv2d(const Tensor& x, const Tensor& w, const std::optional<Tensor>& b, const Conv2dParams& p, bool required);
ops::ConvGrads conv2d_backward(const Tensor& gy, const Tensor& x, const Tensor& w, bool has_bias,
                               const Conv2dParams& p, bool required);
// x: (N, C, H, W), w: (C, O/groups, kh, kw), b: (O) -> (N, O, Ho, Wo)
Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const std::optional<Tensor>& b, const Conv2dParams& p,
                        bool required);
ops::ConvGrads conv_transpose2d_backward(const Tensor& gy, const Tensor& x, const Tensor& w, bool has_bias,
                                         const Conv2dParams& p, bool required);

}  // namespace cj::cuda::cudnn
#endif
