// layer_norm forward and backward over the trailing normalized dims, statistics in fp32 (f64 for
// f64): one warp per row up to 1024 features, one block per row beyond. The backward computes gx
// per row and gweight/gbias as deterministic column sums (per-chunk partials, then one pass).
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

// x, y: (rows, C); w, b: (C) or null; mean, rstd: (rows) in A.
template <typename T, typename A, int GROUP>
__global__ void layer_norm_forward_kernel(int64_t rows, int64_t C, const T* x, const T* w, const T* b, A eps, T* y,
                                          A* mean_out, A* rstd_out) {
  __shared__ A scratch[32];
  RowThread<GROUP> rt;
  if (rt.row >= rows) return;  // whole warps (or the whole block) leave together
  const int64_t row = rt.row;
  const int t = rt.t, gs = rt.group_size;
  const T* px = x + row * C;
  A s = 0;
  for (int64_t c = t; c < C; c += gs) s += A(load_math(px + c));
  const A mean = group_reduce<GROUP, SumOp>(s, scratch) / A(C);
  A sq = 0;
  for (int64_t c = t; c < C; c += gs) {
    A d = A(load_math(px + c)) - mean;
    sq += d * d;
  }
  const A rstd = dmath::rsqrt(group_reduce<GROUP, SumOp>(sq, scratch) / A(C) + eps);
  T* py = y + row * C;
  for (int64_t c = t; c < C; c += gs) {
    A v = (A(load_math(px + c)) - mean) * rstd;
    if (w) v *= A(load_math(w + c));
    if (b) v += A(load_math(b + c));
    py[c] = cast_to<T>(v);
  }
  if (t == 0) {
    mean_out[row] = mean;
    rstd_out[row] = rstd;
  }
}

// gx = rstd (g - mean(g) - xhat mean(g xhat)) with g = gy * w.
template <typename T, typename A, int GROUP>
__global__ void layer_norm_backward_gx_kernel(int64_t rows, int64_t C, const T* gy, const T* x, const T* w,
                                              const A* mean, const A* rstd, T* gx) {
  __shared__ A scratch[32];
  RowThread<GROUP> rt;
  if (rt.row >= rows) return;  // whole warps (or the whole block) leave together
  const int64_t row = rt.row;
  const int t = rt.t, gs = rt.group_size;
  const int64_t base = row * C;
  const A mu = mean[row], rs = rstd[row];
  A sum_g = 0, sum_gx = 0;
  for (int64_t c = t; c < C; c += gs) {
    A g = A(load_math(gy + base + c)) * (w ? A(load_math(w + c)) : A(1));
    sum_g += g;
    sum_gx += g * (A(load_math(x + base + c)) - mu) * rs;
  }
  sum_g = group_reduce<GROUP, SumOp>(sum_g, scratch);
  sum_gx = group_reduce<GROUP, SumOp>(sum_gx, scratch);
  const A mean_g = sum_g / A(C), mean_gx = sum_gx / A(C);
  for (int64_t c = t; c < C; c += gs) {
    A g = A(load_math(gy + base + c)) * (w ? A(load_math(w + c)) : A(1));
    A xhat = (A(load_math(x + base + c)) - mu) * rs;
    gx[base + c] = cast_to<T>(rs * (g - mean_g - xhat * mean_gx));
  }
}

constexpr int kColTile = 32, kRowThreads = 8;

// Partial column sums over a chunk of rows: pw[chunk][c] = sum gy*xhat, pb[chunk][c] = sum gy.
template <typename T, typename A>
__global__ void layer_norm_param_partials_kernel(int64_t rows, int64_t C, const T* gy, const T* x, const A* mean,
                                                 const A* rstd, A* pw, A* pb) {
  __shared__ A sw[kRowThreads][kColTile + 1], sb[kRowThreads][kColTile + 1];
  const int64_t c = blockIdx.x * int64_t(kColTile) + threadIdx.x;
  A aw = 0, ab = 0;
  if (c < C) {
    for (int64_t r = blockIdx.y * int64_t(kRowThreads) + threadIdx.y; r < rows; r += int64_t(gridDim.y) * kRowThreads) {
      A g = A(load_math(gy + r * C + c));
      aw += g * (A(load_math(x + r * C + c)) - mean[r]) * rstd[r];
      ab += g;
    }
  }
  sw[threadIdx.y][threadIdx.x] = aw;
  sb[threadIdx.y][threadIdx.x] = ab;
  __syncthreads();
  if (threadIdx.y == 0 && c < C) {
    for (int i = 1; i < kRowThreads; ++i) {
      aw += sw[i][threadIdx.x];
      ab += sb[i][threadIdx.x];
    }
    pw[blockIdx.y * C + c] = aw;
    pb[blockIdx.y * C + c] = ab;
  }
}

template <typename T, typename A>
__global__ void layer_norm_param_finish_kernel(int64_t chunks, int64_t C, const A* pw, const A* pb, T* gw, T* gb) {
  const int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (c >= C) return;
  A aw = 0, ab = 0;
  for (int64_t k = 0; k < chunks; ++k) {
    aw += pw[k * C + c];
    ab += pb[k * C + c];
  }
  if (gw) gw[c] = cast_to<T>(aw);
  if (gb) gb[c] = cast_to<T>(ab);
}

struct Rows {
  int64_t rows, C;
};

Rows check_normalized(const char* op, const Tensor& x, const Shape& normalized_shape) {
  const int64_t nd = int64_t(normalized_shape.size());
  CJ_CHECK(nd >= 1 && x.dim() >= nd &&
               Shape(x.shape().end() - nd, x.shape().end()) == normalized_shape,
           op, ": normalized_shape ", normalized_shape, " must match the trailing dims of the input ", x.shape());
  int64_t C = shape_numel(normalized_shape);
  return {C == 0 ? 0 : x.numel() / C, C};
}

// The affine parameter as a contiguous tensor, or undefined; of x's dtype, as the CPU op requires.
Tensor param(const char* op, const std::optional<Tensor>& p, const Tensor& x, const Shape& normalized_shape,
             const char* what) {
  if (!p || !p->defined()) return {};
  check_cuda(op, *p);
  CJ_CHECK(p->shape() == normalized_shape, op, ": ", what, " has shape ", p->shape(), ", expected ", normalized_shape);
  CJ_CHECK(p->dtype() == x.dtype(), op, ": ", what, " is ", dtype_name(p->dtype()), " but the input is ",
           dtype_name(x.dtype()));
  return ops::contiguous(*p);
}

template <typename T>
const T* ptr_or_null(const Tensor& t) {
  return t.defined() ? static_cast<const T*>(t.data_ptr()) : nullptr;
}

}  // namespace

ops::LayerNormOut layer_norm(const Tensor& x_in, const Shape& normalized_shape, const std::optional<Tensor>& weight,
                             const std::optional<Tensor>& bias, double eps) {
  const char* op = "layer_norm";
  check_cuda(op, x_in);
  CJ_CHECK(is_floating(x_in.dtype()), op, ": expected a floating dtype, got ", dtype_name(x_in.dtype()));
  Rows R = check_normalized(op, x_in, normalized_shape);
  Tensor x = ops::contiguous(x_in);
  Tensor w = param(op, weight, x, normalized_shape, "weight"), b = param(op, bias, x, normalized_shape, "bias");
  const DType stat = x.dtype() == DType::f64 ? DType::f64 : DType::f32;
  Shape stat_shape(x.shape().begin(), x.shape().end() - int64_t(normalized_shape.size()));
  ops::LayerNormOut res{Tensor::empty(x.shape(), {x.dtype(), x.device()}), Tensor::empty(stat_shape, {stat, x.device()}),
                        Tensor::empty(stat_shape, {stat, x.device()})};
  if (R.rows == 0) return res;
  dispatch_floating(x.dtype(), op, [&](auto tag) {
    using T = device_t<typename decltype(tag)::type>;
    using A = accum_t<math_t<T>>;
    const T* px = static_cast<const T*>(x.data_ptr());
    const T *pw = ptr_or_null<T>(w), *pb = ptr_or_null<T>(b);
    T* py = static_cast<T*>(res.out.data_ptr());
    A* pm = static_cast<A*>(res.mean.data_ptr());
    A* pr = static_cast<A*>(res.rstd.data_ptr());
    if (R.C <= kWarpRowLimit) {
      unsigned blocks = unsigned((R.rows + kWarpsPerBlock - 1) / kWarpsPerBlock);
      layer_norm_forward_kernel<T, A, 32><<<blocks, kWarpsPerBlock * 32, 0, current_stream()>>>(R.rows, R.C, px, pw, pb,
                                                                                               A(eps), py, pm, pr);
    } else {
      layer_norm_forward_kernel<T, A, 0><<<unsigned(R.rows), kBlockRowThreads, 0, current_stream()>>>(R.rows, R.C, px, pw,
                                                                                                     pb, A(eps), py, pm, pr);
    }
  });
  CJ_CUDA_CHECK_LAUNCH(op);
  return res;
}

ops::LayerNormGrads layer_norm_backward(const Tensor& gy_in, const Tensor& x_in, const Tensor& mean_in,
                                        const Tensor& rstd_in, const Shape& normalized_shape,
                                        const std::optional<Tensor>& weight, bool has_bias) {
  const char* op = "layer_norm_backward";
  for (const Tensor* t : {&gy_in, &x_in, &mean_in, &rstd_in}) check_cuda(op, *t);
  CJ_CHECK(gy_in.shape() == x_in.shape(), op, ": gy ", gy_in.shape(), " and x ", x_in.shape(), " differ in shape");
  Rows R = check_normalized(op, x_in, normalized_shape);
  CJ_CHECK(mean_in.numel() == R.rows && rstd_in.numel() == R.rows, op, ": mean/rstd have ", mean_in.numel(), "/",
           rstd_in.numel(), " values, expected one per row (", R.rows, ")");
  Tensor x = ops::contiguous(x_in), gy = ops::contiguous(as_dtype(gy_in, x_in.dtype()));
  const DType stat = x.dtype() == DType::f64 ? DType::f64 : DType::f32;
  Tensor mean = ops::contiguous(as_dtype(mean_in, stat)), rstd = ops::contiguous(as_dtype(rstd_in, stat));
  Tensor w = param(op, weight, x, normalized_shape, "weight");
  ops::LayerNormGrads g;
  g.gx = Tensor::empty(x.shape(), {x.dtype(), x.device()});
  if (w.defined()) g.gweight = Tensor::empty(normalized_shape, {x.dtype(), x.device()});
  if (has_bias) g.gbias = Tensor::empty(normalized_shape, {x.dtype(), x.device()});
  if (R.C == 0) return g;
  if (R.rows == 0) {
    if (g.gweight.defined()) fill_(g.gweight, 0);
    if (g.gbias.defined()) fill_(g.gbias, 0);
    return g;
  }
  dispatch_floating(x.dtype(), op, [&](auto tag) {
    using T = device_t<typename decltype(tag)::type>;
    using A = accum_t<math_t<T>>;
    const T* pgy = static_cast<const T*>(gy.data_ptr());
    const T* px = static_cast<const T*>(x.data_ptr());
    const A* pm = static_cast<const A*>(mean.data_ptr());
    const A* pr = static_cast<const A*>(rstd.data_ptr());
    T* pgx = static_cast<T*>(g.gx.data_ptr());
    cudaStream_t stream = current_stream();
    if (R.C <= kWarpRowLimit) {
      unsigned blocks = unsigned((R.rows + kWarpsPerBlock - 1) / kWarpsPerBlock);
      layer_norm_backward_gx_kernel<T, A, 32><<<blocks, kWarpsPerBlock * 32, 0, stream>>>(R.rows, R.C, pgy, px,
                                                                                        ptr_or_null<T>(w), pm, pr, pgx);
    } else {
      layer_norm_backward_gx_kernel<T, A, 0><<<unsigned(R.rows), kBlockRowThreads, 0, stream>>>(R.rows, R.C, pgy, px,
                                                                                              ptr_or_null<T>(w), pm, pr, pgx);
    }
    CJ_CUDA_CHECK_LAUNCH(op);
    if (!g.gweight.defined() && !g.gbias.defined()) return;
    const int64_t chunks = std::min<int64_t>(128, (R.rows + kRowThreads - 1) / kRowThreads);
    Tensor partials = Tensor::empty({2, chunks, R.C}, {stat, x.device()});
    A* pw = static_cast<A*>(partials.data_ptr());
    A* pb = pw + chunks * R.C;
    dim3 grid(unsigned((R.C + kColTile - 1) / kColTile), unsigned(chunks));
    layer_norm_param_partials_kernel<T, A><<<grid, dim3(kColTile, kRowThreads), 0, stream>>>(R.rows, R.C, pgy, px, pm,
                                                                                          pr, pw, pb);
    CJ_CUDA_CHECK_LAUNCH(op);
    T* gw = g.gweight.defined() ? static_cast<T*>(g.gweight.data_ptr()) : nullptr;
    T* gb = g.gbias.defined() ? static_cast<T*>(g.gbias.data_ptr()) : nullptr;
    layer_norm_param_finish_kernel<T, A><<<unsigned((R.C + 255) / 256), 256, 0, stream>>>(chunks, R.C, pw, pb, gw, gb);
    CJ_CUDA_CHECK_LAUNCH(op);
  });
  return g;
}

}  // namespace cj::cuda
