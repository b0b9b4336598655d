#pragma once
// interpolate (nearest, bilinear, bicubic; align_corners; antialias) is separable and linear: out =
// A_h · x · A_w^T per (n, c) plane, with one weight matrix per axis. The matrices are read off the
// CPU op itself (interpolating the one-hot planes of an axis gives the matrix's columns), so the
// rules for source indices, cubic taps, borders and antialias stay in one place; the GPU then does
// two GEMMs. Device-agnostic: tests/tensor/test_cuda_composite.cpp checks it against
// ops::interpolate on the CPU.
#include "tensor/ops.hpp"

namespace cj::composite {

// (in, out): the transposed weight matrix of one axis (height when `height`), in dtype on device.
inline Tensor axis_weights_t(int64_t in, int64_t out, const InterpolateParams& p, bool height, DType dtype,
                             Device device) {
  Tensor eye = ops::to(ops::eq(ops::unsqueeze(arange(in), 1), arange(in)), DType::f64);  // (in, in)
  InterpolateParams q = p;
  if (height) {
    q.out_w = 1, q.scale_w.reset();  // the other axis: 1 -> 1, the identity
  } else {
    q.out_h = 1, q.scale_h.reset();
  }
  Tensor planes = ops::reshape(eye, height ? Shape{1, in, in, 1} : Shape{1, in, 1, in});
  Tensor cols = ops::reshape(ops::interpolate(planes, q), {in, out});  // plane k -> column k of A
  return ops::to(ops::to(cols, dtype), device);
}

inline void check_planes(const Shape& shape, const char* op) {
  CJ_CHECK(shape.size() == 4, op, ": expected a (N, C, H, W) input, got ", shape);
  CJ_CHECK(shape[2] > 0 && shape[3] > 0, op, ": input spatial size must be positive, got ", shape);
}

// x: (N, C, H, W) -> (N, C, out_h, out_w)
inline Tensor separable_interpolate(const Tensor& x, const InterpolateParams& p) {
  CJ_CHECK(x.defined() && is_floating(x.dtype()), "interpolate: expected a floating input");
  check_planes(x.shape(), "interpolate");
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const DType acc = x.dtype() == DType::f64 ? DType::f64 : DType::f32;
  Tensor ah_t = axis_weights_t(H, p.out_h, p, true, acc, x.device());   // (H, Ho)
  Tensor aw_t = axis_weights_t(W, p.out_w, p, false, acc, x.device());  // (W, Wo)
  Tensor rows = ops::matmul(ops::reshape(ops::to(x, acc), {N * C, H, W}), aw_t);        // (P, H, Wo)
  Tensor both = ops::matmul(ops::transpose(rows, 1, 2), ah_t);                           // (P, Wo, Ho)
  return ops::to(ops::contiguous(ops::reshape(ops::transpose(both, 1, 2), {N, C, p.out_h, p.out_w})), x.dtype());
}

// gy: (N, C, out_h, out_w) -> (N, C, H, W) = input_shape: the transposed maps
inline Tensor separable_interpolate_backward(const Tensor& gy, const Shape& input_shape, const InterpolateParams& p) {
  CJ_CHECK(gy.defined() && is_floating(gy.dtype()), "interpolate_backward: expected a floating grad_output");
  check_planes(input_shape, "interpolate_backward");
  const int64_t N = input_shape[0], C = input_shape[1], H = input_shape[2], W = input_shape[3];
  CJ_CHECK(gy.shape() == (Shape{N, C, p.out_h, p.out_w}), "interpolate_backward: grad_output ", gy.shape(),
           " does not match the output (", N, ", ", C, ", ", p.out_h, ", ", p.out_w, ")");
  const DType acc = gy.dtype() == DType::f64 ? DType::f64 : DType::f32;
  Tensor ah = ops::contiguous(ops::transpose(axis_weights_t(H, p.out_h, p, true, acc, gy.device()), 0, 1));   // (Ho, H)
  Tensor aw = ops::contiguous(ops::transpose(axis_weights_t(W, p.out_w, p, false, acc, gy.device()), 0, 1));  // (Wo, W)
  Tensor rows = ops::matmul(ops::reshape(ops::to(gy, acc), {N * C, p.out_h, p.out_w}), aw);  // (P, Ho, W)
  Tensor both = ops::matmul(ops::transpose(rows, 1, 2), ah);                                  // (P, W, H)
  return ops::to(ops::contiguous(ops::reshape(ops::transpose(both, 1, 2), input_shape)), gy.dtype());
}

}  // namespace cj::composite
