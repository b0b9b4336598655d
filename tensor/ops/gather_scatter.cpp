// Reading and writing along one dim at positions given by an index tensor: index_select, gather,
// embedding, one_hot (reads) and scatter, scatter_add, index_add (writes).
//
// All of them reduce to two kernels over cpu::strided_loop. The trick (as in PyTorch's
// scatter/gather kernels): view the indexed tensor with stride 0 along `dim`, walk the index's
// shape, and add index * stride(dim) to the pointer per element.
#include <algorithm>
#include <array>
#include <cstring>

#include "tensor/backend.hpp"
#include "tensor/cpu/strided_loop.hpp"
#include "tensor/dispatch.hpp"
#include "tensor/ops/creation.hpp"
#include "tensor/ops/index.hpp"
#include "tensor/ops/index_common.hpp"
#include "tensor/ops/views.hpp"

namespace cj::ops {

namespace {

using detail::byte_strides;
using detail::check_index;
using detail::check_index_fits;
using detail::check_same_dtype;

// Gathers move elements without arithmetic, so one instantiation per element width serves every
// dtype (bool, u8 -> 1 byte; bf16, f16 -> 2; f32, i32 -> 4; f64, i64 -> 8).
template <typename F>
void dispatch_by_width(std::size_t width, F&& f) {
  switch (width) {
    case 1: return f(type_tag<uint8_t>{});
    case 2: return f(type_tag<uint16_t>{});
    case 4: return f(type_tag<uint32_t>{});
    case 8: return f(type_tag<uint64_t>{});
    default: fail("gather: unsupported element width ", width);
  }
}

// Operands (0: out, 1: index, 2: the other tensor) of a gather/scatter strided_loop: byte strides and
// base pointers, with the indexed operand's stride along dim moved out to dim_stride (its loop stride
// there is 0), so the kernel adds index * dim_stride itself.
struct IndexLoop {
  std::array<Shape, 3> strides;
  std::array<const Shape*, 3> stride_ptrs;
  std::array<char*, 3> base;
  int64_t dim_stride;
  IndexLoop(const Tensor& out, const Tensor& index, const Tensor& other, int64_t dim, int indexed)
      : strides{byte_strides(out), byte_strides(index), byte_strides(other)},
        stride_ptrs{&strides[0], &strides[1], &strides[2]},
        base{static_cast<char*>(out.data_ptr()), static_cast<char*>(index.data_ptr()),
             static_cast<char*>(other.data_ptr())},
        dim_stride(strides[size_t(indexed)][size_t(dim)]) {
    strides[size_t(indexed)][size_t(dim)] = 0;
  }
  IndexLoop(const IndexLoop&) = delete;  // stride_ptrs point into this object
};

// out[p] = x[p with p[dim] replaced by index[p]] for every position p of out.
// index: int64 with out's shape (stride 0 where broadcast); x: out's ndim, x.size(d) >= out.size(d).
void gather_into(const Tensor& out, const Tensor& x, int64_t dim, const Tensor& index, const char* op) {
  IndexLoop loop(out, index, x, dim, /*indexed=*/2);
  const int64_t x_dim_stride = loop.dim_stride, dim_size = x.size(dim);
  const auto& strides = loop.stride_ptrs;
  const auto& base = loop.base;
  dispatch_by_width(out.element_size(), [&](auto tag) {
    using E = typename decltype(tag)::type;
    cpu::strided_loop<3>(out.shape(), strides, base, [&](std::array<char*, 3> p, int64_t n, std::array<int64_t, 3> s) {
      if (s[1] == 0) {  // one index for the whole run: a row copy (index_select, embedding)
        const int64_t k = *reinterpret_cast<const int64_t*>(p[1]);
        check_index(k, dim_size, op, dim);
        const char* row = p[2] + k * x_dim_stride;
        if (s[0] == int64_t(sizeof(E)) && s[2] == int64_t(sizeof(E))) {
          std::memcpy(p[0], row, n * sizeof(E));
          return;
        }
        for (int64_t i = 0; i < n; ++i)
          *reinterpret_cast<E*>(p[0] + i * s[0]) = *reinterpret_cast<const E*>(row + i * s[2]);
        return;
      }
      for (int64_t i = 0; i < n; ++i) {
        const int64_t k = *reinterpret_cast<const int64_t*>(p[1] + i * s[1]);
        check_index(k, dim_size, op, dim);
        *reinterpret_cast<E*>(p[0] + i * s[0]) = *reinterpret_cast<const E*>(p[2] + i * s[2] + k * x_dim_stride);
      }
    });
  });
}

// out[p with p[dim] replaced by index[p]] = src[p] (or += when accumulate) for every position p of
// index, in row-major order, so with repeated indices the last write wins (as PyTorch's CPU kernel).
// index: int64; src: index's ndim with src.size(d) >= index.size(d); out: out.size(d) >= index.size(d)
// for d != dim.
void scatter_into(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src, bool accumulate,
                  const char* op) {
  IndexLoop loop(out, index, src, dim, /*indexed=*/0);
  const int64_t out_dim_stride = loop.dim_stride, dim_size = out.size(dim);
  const auto& strides = loop.stride_ptrs;
  const auto& base = loop.base;
  dispatch_all(out.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    cpu::strided_loop<3>(index.shape(), strides, base, [&](std::array<char*, 3> p, int64_t n, std::array<int64_t, 3> s) {
      for (int64_t i = 0; i < n; ++i) {
        const int64_t k = *reinterpret_cast<const int64_t*>(p[1] + i * s[1]);
        check_index(k, dim_size, op, dim);
        T* dst = reinterpret_cast<T*>(p[0] + i * s[0] + k * out_dim_stride);
        const T v = *reinterpret_cast<const T*>(p[2] + i * s[2]);
        if (!accumulate) {
          *dst = v;
        } else if constexpr (std::is_same_v<T, bool>) {
          *dst = *dst || v;  // PyTorch adds bools as logical or
        } else {
          // Each add rounds to T (16-bit floats included), as PyTorch's sequential CPU kernel does.
          *dst = cast_value<T>(acc_t<T>(*dst) + acc_t<T>(v));
        }
      }
    });
  });
}

// A 1-D (or 0-d) index as int64, viewed with `shape` (stride 0 everywhere except along dim).
Tensor index_along_dim(const Tensor& index, const Shape& shape, int64_t dim, const char* op) {
  CJ_CHECK(index.dim() <= 1, op, ": index must be 0-d or 1-D, got shape ", index.shape());
  Tensor idx = detail::as_at_least_1d(detail::index_as_i64(index, op));
  Shape strides(shape.size(), 0);
  strides[dim] = idx.stride(0);
  return as_strided(idx, shape, strides, idx.offset());
}

Tensor index_select_impl(const Tensor& x_in, int64_t dim, const Tensor& index, const char* op) {
  detail::check_cpu(x_in, op, "x");
  Tensor x = detail::as_at_least_1d(x_in);
  dim = wrap_dim(dim, x_in.dim(), op);
  const int64_t n = index.numel();
  CJ_CHECK(x_in.dim() > 0 || n == 1, op, ": a 0-d x takes exactly one index, got ", n);
  Shape out_shape = x.shape();
  out_shape[dim] = n;
  Tensor out = Tensor::empty(out_shape, x.dtype());
  gather_into(out, x, dim, index_along_dim(index, out_shape, dim, op), op);
  return x_in.dim() == 0 ? reshape(out, {}) : out;
}

Tensor scatter_impl(const Tensor& x_in, int64_t dim, const Tensor& index_in, const Tensor& src_in, bool accumulate,
                    const char* op) {
  detail::check_cpu(x_in, op, "x");
  detail::check_cpu(src_in, op, "src");
  check_same_dtype(x_in, src_in, op);
  Tensor x = detail::as_at_least_1d(x_in);
  Tensor index = detail::as_at_least_1d(detail::index_as_i64(index_in, op));
  Tensor src = detail::as_at_least_1d(src_in);
  dim = wrap_dim(dim, x_in.dim(), op);
  check_index_fits(index, x, dim, op, "x");
  check_index_fits(index, src, -1, op, "src");
  Tensor out = clone(x);
  scatter_into(out, dim, index, src, accumulate, op);
  return x_in.dim() == 0 ? reshape(out, {}) : out;
}

}  // namespace

// x: (..., S, ...), index: (n) -> (..., n, ...)
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  CJ_FORWARD_TO_DEVICE(decltype(index_select), "index_select", x, x, dim, index);
  return index_select_impl(x, dim, index, "index_select");
}

// x: (..., S, ...), index: any shape of x's ndim -> index's shape
Tensor gather(const Tensor& x_in, int64_t dim, const Tensor& index_in) {
  CJ_FORWARD_TO_DEVICE(decltype(gather), "gather", x_in, x_in, dim, index_in);
  const char* op = "gather";
  detail::check_cpu(x_in, op, "x");
  Tensor x = detail::as_at_least_1d(x_in);
  Tensor index = detail::as_at_least_1d(detail::index_as_i64(index_in, op));
  dim = wrap_dim(dim, x_in.dim(), op);
  check_index_fits(index, x, dim, op, "x");
  Tensor out = Tensor::empty(index.shape(), x.dtype());
  gather_into(out, x, dim, index, op);
  return reshape(out, index_in.shape());
}

Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  CJ_FORWARD_TO_DEVICE(decltype(scatter), "scatter", x, x, dim, index, src);
  return scatter_impl(x, dim, index, src, /*accumulate=*/false, "scatter");
}

Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  CJ_FORWARD_TO_DEVICE(decltype(scatter_add), "scatter_add", x, x, dim, index, src);
  return scatter_impl(x, dim, index, src, /*accumulate=*/true, "scatter_add");
}

// x: (..., S, ...), index: (n), src: (..., n, ...) -> x's shape
Tensor index_add(const Tensor& x_in, int64_t dim, const Tensor& index, const Tensor& src_in) {
  CJ_FORWARD_TO_DEVICE(decltype(index_add), "index_add", x_in, x_in, dim, index, src_in);
  const char* op = "index_add";
  detail::check_cpu(x_in, op, "x");
  detail::check_cpu(src_in, op, "src");
  check_same_dtype(x_in, src_in, op);
  Tensor x = detail::as_at_least_1d(x_in);
  Tensor src = detail::as_at_least_1d(src_in);
  dim = wrap_dim(dim, x_in.dim(), op);
  detail::check_index_add_shapes(x_in, src_in, dim, index.numel(), op);
  Tensor out = clone(x);
  scatter_into(out, dim, index_along_dim(index, src.shape(), dim, op), src, /*accumulate=*/true, op);
  return x_in.dim() == 0 ? reshape(out, {}) : out;
}

// weight: (V, D), index: any shape -> index.shape + (D)
Tensor embedding(const Tensor& weight, const Tensor& index) {
  CJ_FORWARD_TO_DEVICE(decltype(embedding), "embedding", weight, weight, index);
  CJ_CHECK(weight.dim() == 2, "embedding: weight must be 2-D (V, D), got shape ", weight.shape());
  Tensor rows = index_select_impl(weight, 0, reshape(index, {-1}), "embedding");
  Shape out_shape = index.shape();
  out_shape.push_back(weight.size(1));
  return view(rows, out_shape);
}

// index: any shape, values in [0, C) -> int64 of index.shape + (C); num_classes -1 infers max + 1.
Tensor one_hot(const Tensor& index, int64_t num_classes) {
  CJ_FORWARD_TO_DEVICE(decltype(one_hot), "one_hot", index, index, num_classes);
  const char* op = "one_hot";
  Tensor idx = contiguous(detail::index_as_i64(index, op));
  const int64_t* p = idx.data<int64_t>();
  const int64_t n = idx.numel();
  for (int64_t i = 0; i < n; ++i) CJ_CHECK(p[i] >= 0, op, ": class values must be non-negative, got ", p[i]);
  if (num_classes == -1) {
    CJ_CHECK(n > 0, op, ": cannot infer the number of classes from an empty index (pass num_classes)");
    num_classes = 0;
    for (int64_t i = 0; i < n; ++i) num_classes = std::max(num_classes, p[i] + 1);
  }
  CJ_CHECK(num_classes >= 0, op, ": num_classes must be >= 0 or -1 (infer), got ", num_classes);
  Shape out_shape = index.shape();
  out_shape.push_back(num_classes);
  Tensor out = zeros(out_shape, DType::i64);
  int64_t* o = out.data<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    CJ_CHECK(p[i] < num_classes, op, ": class value ", p[i], " is out of range for num_classes ", num_classes,
             " (expected 0..", num_classes - 1, ")");
    o[i * num_classes + p[i]] = 1;
  }
  return out;
}

}  // namespace cj::ops
