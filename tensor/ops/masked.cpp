// Boolean-mask ops: masked_fill (replace where mask) and masked_select (keep where mask).
// Like torch's out-of-place versions, x and mask broadcast against each other.
#include <array>

#include "tensor/backend.hpp"
#include "tensor/cpu/strided_loop.hpp"
#include "tensor/dispatch.hpp"
#include "tensor/ops/index.hpp"
#include "tensor/ops/index_common.hpp"
#include "tensor/ops/views.hpp"

namespace cj::ops {

namespace {

Shape masked_shape(const Tensor& x, const Tensor& mask, const char* op) {
  detail::check_cpu(x, op, "x");
  detail::check_cpu(mask, op, "mask");
  CJ_CHECK(mask.dtype() == DType::b8, op, ": mask must be bool, got ", dtype_name(mask.dtype()));
  return broadcast_shapes(x.shape(), mask.shape(), op);
}

}  // namespace

// x, mask: broadcastable -> broadcast shape, value where mask is true
Tensor masked_fill(const Tensor& x, const Tensor& mask, Scalar value) {
  CJ_FORWARD_TO_DEVICE(decltype(masked_fill), "masked_fill", x, x, mask, value);
  const Shape shape = masked_shape(x, mask, "masked_fill");
  Tensor out = Tensor::empty(shape, x.dtype());
  copy_(out, x);
  Shape out_strides = detail::byte_strides(out);
  Shape mask_strides = cpu::broadcast_byte_strides(mask.shape(), mask.strides(), 1, shape);
  std::array<const Shape*, 2> strides{&out_strides, &mask_strides};
  std::array<char*, 2> base{static_cast<char*>(out.data_ptr()), static_cast<char*>(mask.data_ptr())};
  dispatch_all(x.dtype(), "masked_fill", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T v = value.to<std::conditional_t<is_float_type_v<T>, double, T>>();
    cpu::strided_loop<2>(shape, strides, base, [v](std::array<char*, 2> p, int64_t n, std::array<int64_t, 2> s) {
      for (int64_t i = 0; i < n; ++i)
        if (*reinterpret_cast<const bool*>(p[1] + i * s[1])) *reinterpret_cast<T*>(p[0] + i * s[0]) = v;
    });
  });
  return out;
}

// x, mask: broadcastable -> (number of true positions), in row-major order of the broadcast shape
Tensor masked_select(const Tensor& x, const Tensor& mask) {
  CJ_FORWARD_TO_DEVICE(decltype(masked_select), "masked_select", x, x, mask);
  const Shape shape = masked_shape(x, mask, "masked_select");
  Shape x_strides = cpu::broadcast_byte_strides(x.shape(), x.strides(), x.element_size(), shape);
  Shape mask_strides = cpu::broadcast_byte_strides(mask.shape(), mask.strides(), 1, shape);
  std::array<const Shape*, 2> strides{&x_strides, &mask_strides};
  std::array<char*, 2> base{static_cast<char*>(x.data_ptr()), static_cast<char*>(mask.data_ptr())};

  int64_t count = 0;  // first pass sizes the output
  cpu::strided_loop<2>(shape, strides, base, [&](std::array<char*, 2> p, int64_t n, std::array<int64_t, 2> s) {
    for (int64_t i = 0; i < n; ++i) count += *reinterpret_cast<const bool*>(p[1] + i * s[1]);
  });
  Tensor out = Tensor::empty({count}, x.dtype());
  dispatch_all(x.dtype(), "masked_select", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* o = static_cast<T*>(out.data_ptr());
    cpu::strided_loop<2>(shape, strides, base, [&](std::array<char*, 2> p, int64_t n, std::array<int64_t, 2> s) {
      for (int64_t i = 0; i < n; ++i)
        if (*reinterpret_cast<const bool*>(p[1] + i * s[1])) *o++ = *reinterpret_cast<const T*>(p[0] + i * s[0]);
    });
  });
  return out;
}

}  // namespace cj::ops
