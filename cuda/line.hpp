#pragma once
// Ops along one dim (max/min with indices, cumsum, sort, topk) see x as contiguous lines: dim moved
// last. Line bookkeeping shared by cuda/reduce_index.cu and cuda/sort.cu.
#include "tensor/ops/views.hpp"
#include "tensor/tensor.hpp"

namespace cj::cuda {

struct Lines {
  Tensor x;         // (rows, n) contiguous: x with dim moved last
  int64_t rows = 1, n = 1;
  Shape moved_shape;  // x's shape with dim moved last (n replaced by the result's line length later)
  Shape inverse;      // the permutation that moves the last dim back to dim

  // x: any shape (0-d is one line of 1); dim already wrapped.
  Lines(const Tensor& x_in, int64_t dim) {
    Tensor x1 = x_in.dim() == 0 ? ops::reshape(x_in, {1}) : x_in;
    Shape perm;
    for (int64_t d = 0; d < x1.dim(); ++d)
      if (d != dim) perm.push_back(d);
    perm.push_back(dim);
    inverse.assign(perm.size(), 0);
    for (size_t i = 0; i < perm.size(); ++i) inverse[size_t(perm[i])] = int64_t(i);
    Tensor moved = ops::permute(x1, perm);
    moved_shape = moved.shape();
    n = x1.size(dim);
    rows = n == 0 ? 0 : x1.numel() / n;
    x = ops::contiguous(moved);
  }

  // A (rows, len) contiguous result back in x's layout with dim's size len (keepdim).
  Tensor restore(const Tensor& result, int64_t len) const {
    Shape s = moved_shape;
    s.back() = len;
    return ops::contiguous(ops::permute(ops::view(result, s), inverse));
  }
};

}  // namespace cj::cuda
