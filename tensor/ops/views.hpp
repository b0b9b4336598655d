#pragma once
// Views share storage with their input (metadata only); contiguous/clone/copy materialise.
#include "tensor/tensor.hpp"

namespace cj::ops {

Tensor view(const Tensor& t, const Shape& shape);     // one -1 allowed; needs compatible strides
Tensor reshape(const Tensor& t, const Shape& shape);  // a view when possible, else a copy
Tensor permute(const Tensor& t, const Shape& dims);
Tensor transpose(const Tensor& t, int64_t dim0, int64_t dim1);
Tensor narrow(const Tensor& t, int64_t dim, int64_t start, int64_t length);
// Python's t[start:end:step] along dim (step > 0; start/end clamped like Python slices).
Tensor slice(const Tensor& t, int64_t dim, int64_t start, int64_t end, int64_t step = 1);
Tensor select(const Tensor& t, int64_t dim, int64_t index);  // removes dim
Tensor expand(const Tensor& t, const Shape& shape);          // -1 keeps a size; new dims get stride 0
Tensor squeeze(const Tensor& t);                              // all size-1 dims
Tensor squeeze(const Tensor& t, int64_t dim);
Tensor unsqueeze(const Tensor& t, int64_t dim);
Tensor flatten(const Tensor& t, int64_t start_dim = 0, int64_t end_dim = -1);
Tensor unflatten(const Tensor& t, int64_t dim, const Shape& sizes);
Tensor as_strided(const Tensor& t, const Shape& shape, const Shape& strides, int64_t offset);

Tensor contiguous(const Tensor& t);  // t itself when already contiguous
Tensor clone(const Tensor& t);        // always a fresh contiguous copy
// Writes src (broadcast to dst's shape, cast to dst's dtype) into dst; bumps dst's version.
void copy_(const Tensor& dst, const Tensor& src);
// How many copy_ calls so far moved data between the host and a device (ops::to(device) and
// to_vector/item of a device tensor included), in this process. Every such copy waits for the
// device's queued work (cuda/transfer.cpp), so GPU tests count them around a hot loop.
int64_t host_device_copies();
Tensor to(const Tensor& t, DType dtype);     // t itself when the dtype already matches
Tensor to(const Tensor& t, Device device);   // t itself when already there

}  // namespace cj::ops
