// softmax and log_softmax, forward and backward, over one dim. The dim is moved last (a copy when
// it is not already). Rows up to 1024 columns: one warp per row holding the row in registers (one
// read of global memory; the per-lane maths is tensor/softmax_lanes.hpp, replayed on the CPU by
// tests/tensor/test_softmax_lanes.cpp). Longer rows: one block per row, three passes (max, sum,
// write). Statistics in fp32 (f64 for f64); the max skips NaN as the CPU op does (a NaN still makes
// its whole row NaN through the sum).
#include "cuda/launch.cuh"
#include "cuda/ops.hpp"
#include "cuda/reduce.cuh"
#include "tensor/dispatch.hpp"
#include "tensor/ops/views.hpp"
#include "tensor/softmax_lanes.hpp"

namespace cj::cuda {

namespace {

namespace lanes = softmax_lanes;

constexpr int kWarpsPerBlock = 8;
constexpr int kBlockRowThreads = 512;

// The butterfly of softmax_lanes.hpp across the warp's lanes.
template <typename A, typename Combine>
__device__ __forceinline__ A warp_butterfly(A v, Combine combine) {
#pragma unroll
  for (int o = lanes::kLanes / 2; o > 0; o >>= 1) v = combine(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// The warp that serves row `row` of a kWarpsPerBlock-warp block, and its lane.
struct WarpRow {
  int64_t row;
  int lane;
  __device__ WarpRow()
      : row(blockIdx.x * int64_t(kWarpsPerBlock) + threadIdx.x / lanes::kLanes), lane(threadIdx.x % lanes::kLanes) {}
};

// Loads this lane's P values of a row (past the end: nothing is read, the value is unused).
template <typename A, int P, typename T>
__device__ __forceinline__ void load_lane(A (&v)[P], const T* row, int lane, int cols) {
#pragma unroll
  for (int n = 0; n < P; ++n) {
    const int c = lanes::column(lane, n);
    v[n] = c < cols ? A(load_math(row + c)) : A(0);
  }
}

// ---- register rows (cols <= 1024) -------------------------------------------------------------
// x, y: (rows, cols) contiguous; lse (optional, f32): (rows). zero_empty_rows: attention's rule
// for a row without an entry above -inf (zeros, lse = -inf) instead of NaN.
template <typename T, int P, bool LOG>
__global__ void softmax_forward_registers(int64_t rows, int cols, const T* x, T* y, float* lse,
                                          bool zero_empty_rows) {
  using A = accum_t<math_t<T>>;
  const WarpRow w;
  if (w.row >= rows) return;  // the whole warp leaves together
  A v[P];
  load_lane(v, x + w.row * cols, w.lane, cols);
  const A m = warp_butterfly(lanes::lane_max(v, w.lane, cols), lanes::MaxSkipNan{});
  const A s = warp_butterfly(lanes::lane_exp_sum<A, P, LOG>(v, m, w.lane, cols), lanes::Plus{});
  const lanes::RowScale<A> r = lanes::row_scale(m, s, zero_empty_rows);
  T* py = y + w.row * cols;
#pragma unroll
  for (int n = 0; n < P; ++n) {
    const int c = lanes::column(w.lane, n);
    if (c < cols) py[c] = cast_to<T>(lanes::forward_value<A, LOG>(v[n], r));
  }
  if (lse != nullptr && w.lane == 0) lse[w.row] = float(lanes::log_sum_exp(r));
}

// y, gy, gx: (rows, cols) contiguous. softmax: gx = y (gy - Σ gy y); log_softmax: gx = gy - exp(y) Σ gy.
template <typename T, int P, bool LOG>
__global__ void softmax_backward_registers(int64_t rows, int cols, const T* y, const T* gy, T* gx) {
  using A = accum_t<math_t<T>>;
  const WarpRow w;
  if (w.row >= rows) return;
  const int64_t base = w.row * cols;
  A yv[P], gv[P];
  load_lane(yv, y + base, w.lane, cols);
  load_lane(gv, gy + base, w.lane, cols);
  const A s = warp_butterfly(lanes::lane_grad_sum<A, P, LOG>(yv, gv, w.lane, cols), lanes::Plus{});
#pragma unroll
  for (int n = 0; n < P; ++n) {
    const int c = lanes::column(w.lane, n);
    if (c < cols) gx[base + c] = cast_to<T>(lanes::backward_value<A, LOG>(yv[n], gv[n], s));
  }
}

// ---- block rows (cols > 1024): the row is read three times (max, sum, write) ------------------
struct MaxSkipNanOp {
  template <typename A> __device__ static A combine(A a, A b) { return lanes::MaxSkipNan{}(a, b); }
  template <typename A> __device__ static A warp(A v) { return warp_fold<MaxSkipNanOp>(v); }
};

template <typename T, bool LOG>
__global__ void softmax_forward_block(int64_t rows, int64_t cols, const T* x, T* y, float* lse,
                                      bool zero_empty_rows) {
  using A = accum_t<math_t<T>>;
  __shared__ A scratch[32];
  const int64_t row = blockIdx.x;
  if (row >= rows) return;
  const T* px = x + row * cols;
  T* py = y + row * cols;
  A m = lanes::neg_inf<A>();
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) m = lanes::MaxSkipNan{}(m, A(load_math(px + c)));
  m = block_reduce<MaxSkipNanOp>(m, scratch);
  A s = 0;
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) s += lanes::exp_of(A(load_math(px + c)) - m);
  const lanes::RowScale<A> r = lanes::row_scale(m, block_reduce<SumOp>(s, scratch), zero_empty_rows);
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
    const A x_c = A(load_math(px + c));
    py[c] = cast_to<T>(lanes::forward_value<A, LOG>(LOG ? x_c : lanes::exp_of(x_c - m), r));
  }
  if (lse != nullptr && threadIdx.x == 0) lse[row] = float(lanes::log_sum_exp(r));
}

template <typename T, bool LOG>
__global__ void softmax_backward_block(int64_t rows, int64_t cols, const T* y, const T* gy, T* gx) {
  using A = accum_t<math_t<T>>;
  __shared__ A scratch[32];
  const int64_t row = blockIdx.x;
  if (row >= rows) return;
  const int64_t base = row * cols;
  A s = 0;
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
    const A g = A(load_math(gy + base + c));
    s = LOG ? s + g : lanes::fma_of(g, A(load_math(y + base + c)), s);
  }
  s = block_reduce<SumOp>(s, scratch);
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x)
    gx[base + c] = cast_to<T>(lanes::backward_value<A, LOG>(A(load_math(y + base + c)), A(load_math(gy + base + c)), s));
}

// ---- launches ---------------------------------------------------------------------------------
unsigned warp_row_blocks(int64_t rows) { return unsigned((rows + kWarpsPerBlock - 1) / kWarpsPerBlock); }

// x contiguous (rows, cols) -> y contiguous, same shape.
template <bool LOG>
Tensor forward_last_dim(const char* op, const Tensor& x, float* lse, bool zero_empty_rows) {
  Tensor y = Tensor::empty(x.shape(), {x.dtype(), x.device()});
  const int64_t cols = x.dim() == 0 ? 1 : x.size(-1);
  const int64_t rows = cols == 0 ? 0 : x.numel() / cols;
  if (rows == 0) return y;
  dispatch_floating(x.dtype(), op, [&](auto tag) {
    using T = device_t<typename decltype(tag)::type>;
    const T* in = static_cast<const T*>(x.data_ptr());
    T* out = static_cast<T*>(y.data_ptr());
    cudaStream_t stream = current_stream();
    if (cols > lanes::kMaxCols) {
      softmax_forward_block<T, LOG><<<unsigned(rows), kBlockRowThreads, 0, stream>>>(rows, cols, in, out, lse,
                                                                                     zero_empty_rows);
      return;
    }
    lanes::with_per_lane(cols, [&](auto per_lane) {
      softmax_forward_registers<T, decltype(per_lane)::value, LOG>
          <<<warp_row_blocks(rows), kWarpsPerBlock * 32, 0, stream>>>(rows, int(cols), in, out, lse, zero_empty_rows);
    });
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
    cudaStream_t stream = current_stream();
    if (cols > lanes::kMaxCols) {
      softmax_backward_block<T, LOG><<<unsigned(rows), kBlockRowThreads, 0, stream>>>(rows, cols, py, pg, out);
      return;
    }
    lanes::with_per_lane(cols, [&](auto per_lane) {
      softmax_backward_registers<T, decltype(per_lane)::value, LOG>
          <<<warp_row_blocks(rows), kWarpsPerBlock * 32, 0, stream>>>(rows, int(cols), py, pg, out);
    });
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
  return dim_back(forward_last_dim<LOG>(op, dim_last(x, dim), nullptr, false), dim, x.dim());
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

Tensor softmax_last_dim_with_lse(const Tensor& x, const Tensor& lse, bool zero_empty_rows) {
  check_cuda("softmax", x);
  check_cuda("softmax", lse);  // the kernel writes through lse's pointer
  CJ_CHECK(x.is_contiguous() && lse.dtype() == DType::f32 && lse.is_contiguous() && x.dim() >= 1 &&
               lse.numel() * x.size(-1) == x.numel(),
           "softmax_last_dim_with_lse: expected contiguous x and an f32 lse with one value per row, got x ",
           x.describe(), " and lse ", lse.describe());
  return forward_last_dim<false>("softmax", x, static_cast<float*>(lse.data_ptr()), zero_empty_rows);
}

}  // namespace cj::cuda
