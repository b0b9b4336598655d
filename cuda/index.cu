// gather, scatter and scatter_add: one thread per element of the index, with the indexed operand's
// stride along dim taken out of the offset calculator and added as index * stride (the CPU
// kernels' trick). Index bounds are checked on the host first (cuda/composite.hpp), with the CPU
// op's message; the kernels skip an out-of-range index rather than touch memory outside.
#include "cuda/index_checks.hpp"
#include "cuda/launch.cuh"
#include "cuda/ops.hpp"
#include "tensor/dispatch.hpp"

namespace cj::cuda {

namespace {

// Moves data without arithmetic: one instantiation per element width.
template <typename F>
void dispatch_by_width(std::size_t width, const char* op, F&& f) {
  switch (width) {
    case 1: return f(type_tag<uint8_t>{});
    case 2: return f(type_tag<uint16_t>{});
    case 4: return f(type_tag<uint32_t>{});
    case 8: return f(type_tag<uint64_t>{});
    default: fail(op, ": unsupported element width ", width);
  }
}

// out[p] = x[p with p[dim] = index[p]] over out's (= index's) shape. Operands: 0 out, 1 index, 2 x.
template <typename E>
__global__ void gather_kernel(int64_t n, OffsetCalculator<3> oc, E* out, const int64_t* index, const E* x,
                              int64_t x_dim_stride, int64_t dim_size) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(blockDim.x) * gridDim.x) {
    int64_t off[3];
    oc.get(i, off);
    const int64_t k = index[off[1]];
    if (k >= 0 && k < dim_size) out[off[0]] = x[off[2] + k * x_dim_stride];
  }
}

template <typename T>
__device__ __forceinline__ void add_to(T* dst, T v) {
  if constexpr (std::is_same_v<T, int64_t>)
    atomicAdd(reinterpret_cast<unsigned long long*>(dst), static_cast<unsigned long long>(v));  // two's complement
  else
    atomicAdd(dst, v);
}

// out[p with p[dim] = index[p]] = src[p] (or += with Accumulate) over index's shape. Operands: 0 out, 1 index, 2 src.
template <typename T, bool Accumulate>
__global__ void scatter_kernel(int64_t n, OffsetCalculator<3> oc, T* out, const int64_t* index, const T* src,
                               int64_t out_dim_stride, int64_t dim_size) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(blockDim.x) * gridDim.x) {
    int64_t off[3];
    oc.get(i, off);
    const int64_t k = index[off[1]];
    if (k < 0 || k >= dim_size) continue;
    T* dst = out + off[0] + k * out_dim_stride;
    if constexpr (Accumulate) add_to(dst, src[off[2]]);
    else *dst = src[off[2]];
  }
}

// The offset calculator over `shape` for (a, index, b), with operand `indexed`'s stride along dim
// zeroed; returns that stride through dim_stride.
OffsetCalculator<3> index_offsets(const Shape& shape, const Tensor& a, const Tensor& index, const Tensor& b,
                                  int64_t dim, int indexed, int64_t& dim_stride, const char* op) {
  std::array<Shape, 3> strides{a.strides(), index.strides(), b.strides()};
  dim_stride = strides[size_t(indexed)][size_t(dim)];
  strides[size_t(indexed)][size_t(dim)] = 0;
  return make_offset_calculator<3>(shape, strides, op);
}

Tensor scatter_impl(const Tensor& x_in, int64_t dim, const Tensor& index_in, const Tensor& src_in, bool accumulate,
                    const char* op) {
  check_cuda(op, x_in);
  check_cuda(op, src_in);
  check_cuda(op, index_in);
  ops::detail::check_same_dtype(x_in, src_in, op);
  Tensor x = ops::detail::as_at_least_1d(x_in);
  Tensor index = ops::detail::as_at_least_1d(composite::index_as_i64(index_in, op));
  Tensor src = ops::detail::as_at_least_1d(src_in);
  dim = wrap_dim(dim, x_in.dim(), op);
  ops::detail::check_index_fits(index, x, dim, op, "x");
  ops::detail::check_index_fits(index, src, -1, op, "src");
  composite::check_index_range(index, x.size(dim), op, dim);
  Tensor out = ops::clone(x);
  const int64_t n = index.numel();
  if (n > 0) {
    int64_t out_dim_stride = 0;
    auto oc = index_offsets(index.shape(), out, index, src, dim, 0, out_dim_stride, op);
    const int64_t* ip = static_cast<const int64_t*>(index.data_ptr());
    if (accumulate) {
      CJ_CHECK(is_floating(x.dtype()) || x.dtype() == DType::i32 || x.dtype() == DType::i64, op,
               ": the cuda kernel adds floating, int32 and int64 tensors, got ", dtype_name(x.dtype()));
      dispatch_all(x.dtype(), op, [&](auto tag) {
        using T = device_t<typename decltype(tag)::type>;
        if constexpr (!std::is_same_v<T, bool> && !std::is_same_v<T, uint8_t>)
          scatter_kernel<T, true><<<grid_for(n), kThreads, 0, current_stream()>>>(
              n, oc, static_cast<T*>(out.data_ptr()), ip, static_cast<const T*>(src.data_ptr()), out_dim_stride,
              x.size(dim));
      });
    } else {
      dispatch_by_width(x.element_size(), op, [&](auto tag) {
        using E = typename decltype(tag)::type;
        scatter_kernel<E, false><<<grid_for(n), kThreads, 0, current_stream()>>>(
            n, oc, static_cast<E*>(out.data_ptr()), ip, static_cast<const E*>(src.data_ptr()), out_dim_stride,
            x.size(dim));
      });
    }
    CJ_CUDA_CHECK_LAUNCH(op);
  }
  return x_in.dim() == 0 ? ops::reshape(out, {}) : out;
}

}  // namespace

// x: (..., S, ...), index: x's ndim, index.size(d) <= x.size(d) off dim -> index's shape
Tensor gather(const Tensor& x_in, int64_t dim, const Tensor& index_in) {
  const char* op = "gather";
  check_cuda(op, x_in);
  check_cuda(op, index_in);
  Tensor x = ops::detail::as_at_least_1d(x_in);
  Tensor index = ops::detail::as_at_least_1d(composite::index_as_i64(index_in, op));
  dim = wrap_dim(dim, x_in.dim(), op);
  ops::detail::check_index_fits(index, x, dim, op, "x");
  composite::check_index_range(index, x.size(dim), op, dim);
  Tensor out = Tensor::empty(index.shape(), {x.dtype(), x.device()});
  const int64_t n = out.numel();
  if (n > 0) {
    int64_t x_dim_stride = 0;
    auto oc = index_offsets(out.shape(), out, index, x, dim, 2, x_dim_stride, op);
    dispatch_by_width(x.element_size(), op, [&](auto tag) {
      using E = typename decltype(tag)::type;
      gather_kernel<E><<<grid_for(n), kThreads, 0, current_stream()>>>(
          n, oc, static_cast<E*>(out.data_ptr()), static_cast<const int64_t*>(index.data_ptr()),
          static_cast<const E*>(x.data_ptr()), x_dim_stride, x.size(dim));
    });
    CJ_CUDA_CHECK_LAUNCH(op);
  }
  return ops::reshape(out, index_in.shape());
}

Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  return scatter_impl(x, dim, index, src, /*accumulate=*/false, "scatter");
}
Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  return scatter_impl(x, dim, index, src, /*accumulate=*/true, "scatter_add");
}

}  // namespace cj::cuda
