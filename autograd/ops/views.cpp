#include "autograd/ops/views.hpp"

#include <numeric>

#include "autograd/function.hpp"
#include "tensor/ops/creation.hpp"
#include "tensor/ops/index.hpp"
#include "tensor/ops/views.hpp"

namespace cj {

namespace {

// For views that only rearrange the same elements into a new shape (view, reshape, squeeze,
// unsqueeze, flatten, unflatten): the gradient is reshaped back.
Tensor record_reshaping(const char* op, const Tensor& t, Tensor y) {
  record(op, y, {t}, {}, [](Node& n, const Tensor& gy) -> Grads { return {ops::reshape(gy, n.inputs[0].shape)}; });
  return y;
}

// For views that pick a subset of the input (narrow, slice, select): zeros of the input's shape
// with the gradient written at the picked positions, found by taking the same view of the zeros.
template <typename ViewOf>
Tensor record_subset(const char* op, const Tensor& t, Tensor y, ViewOf view_of) {
  record(op, y, {t}, {}, [view_of](Node& n, const Tensor& gy) -> Grads {
    Tensor gx = zeros(n.inputs[0].shape, options_of(gy));
    ops::copy_(view_of(gx), gy);
    return {gx};
  });
  return y;
}

}  // namespace

Tensor view(const Tensor& t, const Shape& shape) { return record_reshaping("view", t, ops::view(t, shape)); }
Tensor reshape(const Tensor& t, const Shape& shape) { return record_reshaping("reshape", t, ops::reshape(t, shape)); }
Tensor squeeze(const Tensor& t) { return record_reshaping("squeeze", t, ops::squeeze(t)); }
Tensor squeeze(const Tensor& t, int64_t dim) { return record_reshaping("squeeze", t, ops::squeeze(t, dim)); }
Tensor unsqueeze(const Tensor& t, int64_t dim) { return record_reshaping("unsqueeze", t, ops::unsqueeze(t, dim)); }
Tensor flatten(const Tensor& t, int64_t start_dim, int64_t end_dim) {
  return record_reshaping("flatten", t, ops::flatten(t, start_dim, end_dim));
}
Tensor unflatten(const Tensor& t, int64_t dim, const Shape& sizes) {
  return record_reshaping("unflatten", t, ops::unflatten(t, dim, sizes));
}

Tensor permute(const Tensor& t, const Shape& dims) {
  Tensor y = ops::permute(t, dims);
  Shape inverse(dims.size());  // output dim i came from input dim dims[i]
  for (std::size_t i = 0; i < dims.size(); ++i) inverse[wrap_dim(dims[i], t.dim(), "permute")] = int64_t(i);
  record("permute", y, {t}, {}, [inverse](Node&, const Tensor& gy) -> Grads { return {ops::permute(gy, inverse)}; });
  return y;
}

Tensor transpose(const Tensor& t, int64_t dim0, int64_t dim1) {
  Tensor y = ops::transpose(t, dim0, dim1);
  record("transpose", y, {t}, {},
         [dim0, dim1](Node&, const Tensor& gy) -> Grads { return {ops::transpose(gy, dim0, dim1)}; });
  return y;
}

Tensor narrow(const Tensor& t, int64_t dim, int64_t start, int64_t length) {
  return record_subset("narrow", t, ops::narrow(t, dim, start, length),
                       [=](const Tensor& z) { return ops::narrow(z, dim, start, length); });
}

Tensor slice(const Tensor& t, int64_t dim, int64_t start, int64_t end, int64_t step) {
  return record_subset("slice", t, ops::slice(t, dim, start, end, step),
                       [=](const Tensor& z) { return ops::slice(z, dim, start, end, step); });
}

Tensor select(const Tensor& t, int64_t dim, int64_t index) {
  return record_subset("select", t, ops::select(t, dim, index),
                       [=](const Tensor& z) { return ops::select(z, dim, index); });
}

Tensor expand(const Tensor& t, const Shape& shape) {
  Tensor y = ops::expand(t, shape);
  record("expand", y, {t}, {}, [](Node& n, const Tensor& gy) -> Grads { return {sum_to(gy, n.inputs[0].shape)}; });
  return y;
}

// y's elements sit at storage positions offset + sum_d i_d * strides_d, possibly overlapping and
// possibly outside t's own view. The gradient is scattered (with accumulation) into a buffer the
// size of t's storage, then read back through t's own view of that storage.
Tensor as_strided(const Tensor& t, const Shape& shape, const Shape& strides, int64_t offset) {
  Tensor y = ops::as_strided(t, shape, strides, offset);
  const Shape t_shape = t.shape(), t_strides = t.strides();
  const int64_t t_offset = t.offset();
  const int64_t storage_numel = int64_t(t.storage()->nbytes() / t.element_size());
  record("as_strided", y, {t}, {}, [=](Node&, const Tensor& gy) -> Grads {
    Tensor positions =
        ops::contiguous(ops::as_strided(arange(storage_numel, {DType::i64, gy.device()}), shape, strides, offset));
    Tensor buffer = zeros({storage_numel}, options_of(gy));
    buffer = ops::index_add(buffer, 0, ops::reshape(positions, {-1}), ops::reshape(gy, {-1}));
    return {ops::clone(ops::as_strided(buffer, t_shape, t_strides, t_offset))};
  });
  return y;
}

Tensor contiguous(const Tensor& t) {
  Tensor y = ops::contiguous(t);
  record("contiguous", y, {t}, {}, [](Node&, const Tensor& gy) -> Grads { return {gy}; });
  return y;
}

Tensor clone(const Tensor& t) {
  Tensor y = ops::clone(t);
  record("clone", y, {t}, {}, [](Node&, const Tensor& gy) -> Grads { return {gy}; });
  return y;
}

Tensor to(const Tensor& t, DType dtype) {
  Tensor y = ops::to(t, dtype);
  record("to", y, {t}, {}, [](Node& n, const Tensor& gy) -> Grads { return {ops::to(gy, n.inputs[0].dtype)}; });
  return y;
}

}  // namespace cj
