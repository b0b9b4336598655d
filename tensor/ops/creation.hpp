#pragma once
// Making tensors: constants, ranges, copies of host data.
#include <initializer_list>
#include <vector>

#include "tensor/tensor.hpp"

namespace cj {

Tensor empty(const Shape& shape, TensorOptions options = {});
Tensor zeros(const Shape& shape, TensorOptions options = {});
Tensor ones(const Shape& shape, TensorOptions options = {});
Tensor full(const Shape& shape, Scalar value, TensorOptions options = {});
Tensor empty_like(const Tensor& t);
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor full_like(const Tensor& t, Scalar value);
Tensor scalar_tensor(Scalar value, TensorOptions options = {});  // shape []

// torch.arange semantics: ceil((end - start) / step) elements; default dtype i64 for integral
// arguments is left to the caller (pass options).
Tensor arange(Scalar end, TensorOptions options = DType::i64);
Tensor arange(Scalar start, Scalar end, Scalar step = 1, TensorOptions options = DType::i64);
Tensor linspace(double start, double end, int64_t steps, TensorOptions options = {});

// Copies host values into a new CPU tensor of the given shape (numel must match).
template <typename T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape);
// Copies `numel(shape)` elements of `dtype` from a host buffer.
Tensor from_blob_copy(const void* data, const Shape& shape, DType dtype);
// Convenience for tests: a float32 tensor from nested-free values, e.g. tensor({1, 2, 3, 4}, {2, 2}).
Tensor tensor(std::initializer_list<float> values, const Shape& shape);
Tensor tensor(std::initializer_list<float> values);  // 1-D
// Copies a tensor's elements out in row-major order, converted to T (a device tensor via the host).
template <typename T>
std::vector<T> to_vector(const Tensor& t);

}  // namespace cj
