#include "tensor/ops/creation.hpp"

#include <cmath>
#include <cstring>

#include "tensor/dispatch.hpp"
#include "tensor/ops/elementwise.hpp"
#include "tensor/ops/views.hpp"

namespace cj {

Tensor empty(const Shape& shape, TensorOptions options) { return Tensor::empty(shape, options); }

Tensor full(const Shape& shape, Scalar value, TensorOptions options) {
  Tensor t = Tensor::empty(shape, options);
  ops::fill_(t, value);
  return t;
}

Tensor zeros(const Shape& shape, TensorOptions options) { return full(shape, 0, options); }
Tensor ones(const Shape& shape, TensorOptions options) { return full(shape, 1, options); }
Tensor empty_like(const Tensor& t) { return Tensor::empty(t.shape(), {t.dtype(), t.device()}); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), {t.dtype(), t.device()}); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), {t.dtype(), t.device()}); }
Tensor full_like(const Tensor& t, Scalar value) { return full(t.shape(), value, {t.dtype(), t.device()}); }
Tensor scalar_tensor(Scalar value, TensorOptions options) { return full({}, value, options); }

Tensor arange(Scalar end, TensorOptions options) { return arange(0, end, 1, options); }

Tensor arange(Scalar start, Scalar end, Scalar step, TensorOptions options) {
  CJ_CHECK(step.f != 0, "arange: step must be nonzero");
  double n_real = std::ceil((end.f - start.f) / step.f);
  CJ_CHECK(n_real >= 0, "arange: range [", start.f, ", ", end.f, ") with step ", step.f, " is empty in the wrong direction");
  auto n = static_cast<int64_t>(n_real);
  Tensor t = Tensor::empty({n}, {options.dtype, Device::cpu()});
  dispatch_numeric(options.dtype, "arange", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* p = t.data<T>();
    bool integral = start.kind != Scalar::Kind::floating && step.kind != Scalar::Kind::floating;
    for (int64_t i = 0; i < n; ++i)
      p[i] = integral ? cast_value<T>(start.i + i * step.i) : cast_value<T>(start.f + double(i) * step.f);
  });
  return ops::to(t, options.device);
}

Tensor linspace(double start, double end, int64_t steps, TensorOptions options) {
  CJ_CHECK(steps >= 0, "linspace: steps must be non-negative, got ", steps);
  Tensor t = Tensor::empty({steps}, {DType::f64, Device::cpu()});
  double* p = t.data<double>();
  double step = steps > 1 ? (end - start) / double(steps - 1) : 0.0;
  // torch fills the first half from start and the second half from end, so both ends are exact.
  int64_t half = steps / 2;
  for (int64_t i = 0; i < steps; ++i) p[i] = i < half ? start + step * double(i) : end - step * double(steps - 1 - i);
  return ops::to(ops::to(t, options.dtype), options.device);
}

Tensor from_blob_copy(const void* data, const Shape& shape, DType dtype) {
  Tensor t = Tensor::empty(shape, dtype);
  if (t.numel() > 0) std::memcpy(t.data_ptr(), data, t.numel() * dtype_size(dtype));
  return t;
}

template <typename T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape) {
  CJ_CHECK(int64_t(values.size()) == shape_numel(shape), "from_vector: ", values.size(), " values for shape ", shape,
           " (", shape_numel(shape), " elements)");
  if constexpr (std::is_same_v<T, bool>) {
    Tensor t = Tensor::empty(shape, DType::b8);
    bool* p = t.data<bool>();
    for (size_t i = 0; i < values.size(); ++i) p[i] = values[i];
    return t;
  } else {
    return from_blob_copy(values.data(), shape, dtype_of<T>::value);
  }
}

Tensor tensor(std::initializer_list<float> values, const Shape& shape) {
  return from_vector(std::vector<float>(values), shape);
}
Tensor tensor(std::initializer_list<float> values) {
  return from_vector(std::vector<float>(values), {int64_t(values.size())});
}

template <typename T>
std::vector<T> to_vector(const Tensor& t) {
  // A device tensor is copied to the host first (to(device) is a no-op for a CPU tensor).
  Tensor c = ops::contiguous(ops::to(ops::to(t, Device::cpu()), dtype_of<T>::value));
  const T* p = c.data<T>();
  return std::vector<T>(p, p + c.numel());
}

#define CJ_INSTANTIATE(T)                                                    \
  template Tensor from_vector<T>(const std::vector<T>&, const Shape&);       \
  template std::vector<T> to_vector<T>(const Tensor&);
CJ_INSTANTIATE(float)
CJ_INSTANTIATE(double)
CJ_INSTANTIATE(bf16)
CJ_INSTANTIATE(f16)
CJ_INSTANTIATE(int32_t)
CJ_INSTANTIATE(int64_t)
CJ_INSTANTIATE(uint8_t)
#undef CJ_INSTANTIATE
template Tensor from_vector<bool>(const std::vector<bool>&, const Shape&);

}  // namespace cj
