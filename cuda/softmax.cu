// softmax and log_softmax, forward and backward, over one dim. The dim is moved last (a copy when
// it is not already); each row is then handled by one warp (rows up to 1024) or one block
// (longer rows), statistics in fp32 (f64 for f64).
#include "cuda/launch.cuh"
#include "cuda/ops.hpp"
#include "cuda/reduce.cuh"
#include "tensor/dispatch.hpp"
#include "tensor/ops/views.hpp"

namespace cj::cuda {

namespace {

constexpr int64_t kWarpRowLimit = 1024;
constexpr int kWarpsPerBlock = 8;
constexpr int kBlockRowThreads = 512;

// y = softmax(x) (or log_softmax); lse (optional, f32) gets max + log(sum(exp(x - max))).
template <typename T, int GROUP, bool LOG>
__global__ void softmax_forward_kernel(int64_t rows, int64_t cols, const T* x, T* y, float* lse) {
  using A = accum_t<math_t<T>>;
  __shared__ A scratch[32];
  RowThread<GROUP> rt;
  if (rt.row >= rows) return;  // whole warps (or the whole block) leave together
  const T* px = x + rt.row * cols;
  T* py = y + rt.row * cols;
  A m = dmath::neg_infinity<A>();
  for (int64_t c = rt.t; c < cols; c += rt.group_size) m = dmath::nan_max(m, A(load_math(px + c)));
  m = group_reduce<GROUP, MaxOp>(m, scratch);
  A s = 0;
  for (int64_t c = rt.t; c < cols; c += rt.group_size) s += dmath::exp(A(load_math(px + c)) - m);
  s = group_reduce<GROUP, SumOp>(s, scratch);
  const A log_s = dmath::log(s), inv_s = A(1) / s;
  for (int64_t c = rt.t; c < cols; c += rt.group_size) {
    A v = A(load_math(px + c)) - m;
    py[c] = cast_to<T>(LOG ? v - log_s : dmath::exp(v) * inv_s);
  }
  if (lse != nullptr && rt.t == 0) lse[rt.row] = float(m + log_s);
}

// softmax: gx = y (gy - sum(gy y)); log_softmax: gx = gy - exp(y) sum(gy).
template <typename T, int GROUP, bool LOG>
__global__ void softmax_backward_kernel(int64_t rows, int64_t cols, const T* y, const T* gy, T* gx) {
  using A = accum_t<math_t<T>>;
  __shared__ A scratch[32];
  RowThread<GROUP> rt;
  if (rt.row >= rows) return;
  const int64_t base = rt.row * cols;
  A s = 0;
  for (int64_t c = rt.t; c < cols; c += rt.group_size) {
    A g = A(load_math(gy + base + c));
    s += LOG ? g : g * A(load_math(y + base + c));
  }
  s = group_reduce<GROUP, SumOp>(s, scratch);
  for (int64_t c = rt.t; c < cols; c += rt.group_size) {
    A g = A(load_math(gy + base + c)), v = A(load_math(y + base + c));
    gx[base + c] = cast_to<T>(LOG ? g - dmath::exp(v) * s : v * (g - s));
  }
}

// Grid for one row per warp (short rows) or per block.
struct RowLaunch {
  bool warp_rows;
  unsigned blocks, threads;
};
RowLaunch row_launch(int64_t rows, int64_t cols) {
  if (cols <= kWarpRowLimit)
    return {true, unsigned((rows + kWarpsPerBlock - 1) / kWarpsPerBlock), unsigned(kWarpsPerBlock * 32)};
  return {false, unsigned(rows), unsigned(kBlockRowThreads)};
}

// x contiguous (rows, cols) -> y contiguous, same shape.
template <bool LOG>
Tensor forward_last_dim(const char* op, const Tensor& x, float* lse) {
  Tensor y = Tensor::empty(x.shape(), {x.dtype(), x.device()});
  const int64_t cols = x.dim() == 0 ? 1 : x.size(-1);
  const int64_t rows = cols == 0 ? 0 : x.numel() / cols;
  if (rows == 0) return y;
  dispatch_floating(x.dtype(), op, [&](auto tag) {
    using T = device_t<typename decltype(tag)::type>;
    const T* in = static_cast<const T*>(x.data_ptr());
    T* out = static_cast<T*>(y.data_ptr());
    RowLaunch L = row_launch(rows, cols);
    if (L.warp_rows)
      softmax_forward_kernel<T, 32, LOG><<<L.blocks, L.threads, 0, current_stream()>>>(rows, cols, in, out, lse);
    else
      softmax_forward_kernel<T, 0, LOG><<<L.blocks, L.threads, 0, current_stream()>>>(rows, cols, in, out, lse);
  });
  CJ_CUDA_CHECK_LAUNCH(op);
  return y;
}

template <bool LOG>
Tensor backward_last_dim(const char* op, const Tensor& y, const Tensor& gy) {
  Tensor gx = Tensor::empty(y.shape(), {y.dtype(), y.device()});
  const int64_t cols = y.dim() == 0 ? 1 : y.size(-1);
  const int64_t rows = cols == 0 ? 0 : y.numel() / cols;
  if (rows == 0) return gx;
  dispatch_floating(y.dtype(), op, [&](auto tag) {
    using T = device_t<typename decltype(tag)::type>;
    const T* py = static_cast<const T*>(y.data_ptr());
    const T* pg = static_cast<const T*>(gy.data_ptr());
    T* out = static_cast<T*>(gx.data_ptr());
    RowLaunch L = row_launch(rows, cols);
    if (L.warp_rows)
      softmax_backward_kernel<T, 32, LOG><<<L.blocks, L.threads, 0, current_stream()>>>(rows, cols, py, pg, out);
    else
      softmax_backward_kernel<T, 0, LOG><<<L.blocks, L.threads, 0, current_stream()>>>(rows, cols, py, pg, out);
  });
  CJ_CUDA_CHECK_LAUNCH(op);
  return gx;
}

// Moves `dim` last and makes t contiguous there (the inverse is the same transpose).
Tensor dim_last(const Tensor& t, int64_t dim) {
  if (t.dim() == 0 || dim == t.dim() - 1) return ops::contiguous(t);
  return ops::contiguous(ops::transpose(t, dim, -1));
}
Tensor dim_back(const Tensor& t, int64_t dim, int64_t ndim) {
  if (ndim == 0 || dim == ndim - 1) return t;
  return ops::contiguous(ops::transpose(t, dim, -1));
}

template <bool LOG>
Tensor forward(const char* op, const Tensor& x, int64_t dim) {
  check_cuda(op, x);
  CJ_CHECK(is_floating(x.dtype()), op, ": expected a floating dtype, got ", dtype_name(x.dtype()));
  dim = wrap_dim(dim, std::max<int64_t>(x.dim(), 1), op);
  return dim_back(forward_last_dim<LOG>(op, dim_last(x, dim), nullptr), dim, x.dim());
}

template <bool LOG>
Tensor backward(const char* op, const Tensor& y, const Tensor& gy, int64_t dim) {
  check_cuda(op, y);
  check_cuda(op, gy);
  CJ_CHECK(y.shape() == gy.shape(), op, ": y ", y.shape(), " and gy ", gy.shape(), " differ in shape");
  CJ_CHECK(is_floating(y.dtype()), op, ": expected a floating dtype, got ", dtype_name(y.dtype()));
  dim = wrap_dim(dim, std::max<int64_t>(y.dim(), 1), op);
  Tensor gyc = dim_last(as_dtype(gy, y.dtype()), dim);
  return dim_back(backward_last_dim<LOG>(op, dim_last(y, dim), gyc), dim, y.dim());
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) { return forward<false>("softmax", x, dim); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return forward<true>("log_softmax", x, dim); }
Tensor softmax_backward(const Tensor& y, const Tensor& gy, int64_t dim) {
  return backward<false>("softmax_backward", y, gy, dim);
}
Tensor log_softmax_backward(const Tensor& y, const Tensor& gy, int64_t dim) {
  return backward<true>("log_softmax_backward", y, gy, dim);
}

Tensor softmax_last_dim_with_lse(const Tensor& x, const Tensor& lse) {
  check_cuda("softmax", x);
  CJ_CHECK(x.is_contiguous() && lse.dtype() == DType::f32 && lse.is_contiguous() && x.dim() >= 1 &&
               lse.numel() * x.size(-1) == x.numel(),
           "softmax_last_dim_with_lse: expected contiguous x and an f32 lse with one value per row, got x ",
           x.describe(), " and lse ", lse.describe());
  return forward_last_dim<false>("softmax", x, static_cast<float*>(lse.data_ptr()));
}

}  // namespace cj::cuda
