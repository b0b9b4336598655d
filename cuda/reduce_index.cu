// Along one dim: max/min with their indices, argmax/argmin, and cumsum. One thread walks one line
// in order, so ties, NaNs and the running sum's rounding follow the CPU ops exactly
// (tensor/ops/order_rules.hpp holds the replace rule both use).
#include "cuda/launch.cuh"
#include "cuda/line.hpp"
#include "cuda/ops.hpp"
#include "tensor/dispatch.hpp"
#include "tensor/ops/order_rules.hpp"

namespace cj::cuda {

namespace {

template <typename T, bool IsMax>
__global__ void arg_extreme_kernel(int64_t rows, int64_t n, const T* x, T* values, int64_t* indices) {
  for (int64_t r = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; r < rows; r += int64_t(blockDim.x) * gridDim.x) {
    const T* line = x + r * n;
    math_t<T> best = load_math(line);
    int64_t at = 0;
    for (int64_t j = 1; j < n; ++j) {
      const math_t<T> v = load_math(line + j);
      if (order::replaces<IsMax>(v, best)) best = v, at = j;
    }
    if (values) values[r] = line[at];
    indices[r] = at;
  }
}

template <typename T, typename O>
__global__ void cumsum_kernel(int64_t rows, int64_t n, const T* x, O* out) {
  using A = std::conditional_t<std::is_floating_point_v<math_t<T>>, accum_t<math_t<T>>, int64_t>;
  for (int64_t r = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; r < rows; r += int64_t(blockDim.x) * gridDim.x) {
    A run = A(0);
    for (int64_t j = 0; j < n; ++j) {
      run += A(load_math(x + r * n + j));
      out[r * n + j] = cast_to<O>(run);
    }
  }
}

std::pair<Tensor, Tensor> extreme_with_index(const char* op, const Tensor& x_in, int64_t dim, bool keepdim,
                                             bool is_max, bool want_values) {
  check_cuda(op, x_in);
  dim = wrap_dim(dim, x_in.dim(), op);
  const int64_t dim_size = x_in.dim() == 0 ? 1 : x_in.size(dim);
  CJ_CHECK(dim_size > 0, op, ": cannot reduce over dim ", dim, " of size 0 (input shape ", x_in.shape(), ")");
  Lines L(x_in, dim);
  Tensor values = want_values ? Tensor::empty({L.rows}, {x_in.dtype(), x_in.device()}) : Tensor();
  Tensor indices = Tensor::empty({L.rows}, {DType::i64, x_in.device()});
  if (L.rows > 0) {
    dispatch_all(x_in.dtype(), op, [&](auto tag) {
      using T = device_t<typename decltype(tag)::type>;
      const T* xp = static_cast<const T*>(L.x.data_ptr());
      T* vp = want_values ? static_cast<T*>(values.data_ptr()) : nullptr;
      int64_t* ip = static_cast<int64_t*>(indices.data_ptr());
      if (is_max) arg_extreme_kernel<T, true><<<grid_for(L.rows), kThreads, 0, current_stream()>>>(L.rows, L.n, xp, vp, ip);
      else arg_extreme_kernel<T, false><<<grid_for(L.rows), kThreads, 0, current_stream()>>>(L.rows, L.n, xp, vp, ip);
    });
    CJ_CUDA_CHECK_LAUNCH(op);
  }
  // keepdim: dim kept with size 1; otherwise dropped (a 0-d x gives 0-d results)
  Shape out_shape = x_in.shape();
  if (x_in.dim() > 0) {
    if (keepdim) out_shape[size_t(dim)] = 1;
    else out_shape.erase(out_shape.begin() + dim);
  }
  auto shaped = [&](const Tensor& t) { return t.defined() ? ops::reshape(L.restore(t, 1), out_shape) : t; };
  return {shaped(values), shaped(indices)};
}

}  // namespace

std::pair<Tensor, Tensor> max_dim(const Tensor& x, int64_t dim, bool keepdim) {
  return extreme_with_index("max", x, dim, keepdim, true, true);
}
std::pair<Tensor, Tensor> min_dim(const Tensor& x, int64_t dim, bool keepdim) {
  return extreme_with_index("min", x, dim, keepdim, false, true);
}
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) {
  return extreme_with_index("argmax", x, dim, keepdim, true, false).second;
}
Tensor argmin(const Tensor& x, int64_t dim, bool keepdim) {
  return extreme_with_index("argmin", x, dim, keepdim, false, false).second;
}

// x: S -> S (i64 for integer and bool x), the running sum along dim
Tensor cumsum(const Tensor& x, int64_t dim) {
  check_cuda("cumsum", x);
  dim = wrap_dim(dim, x.dim(), "cumsum");
  Lines L(x, dim);
  const DType out_dtype = is_floating(x.dtype()) ? x.dtype() : DType::i64;
  Tensor out = Tensor::empty({L.rows, L.n}, {out_dtype, x.device()});
  if (L.rows > 0) {
    dispatch_all(x.dtype(), "cumsum", [&](auto tag) {
      using T = device_t<typename decltype(tag)::type>;
      dispatch_all(out_dtype, "cumsum", [&](auto otag) {
        using O = device_t<typename decltype(otag)::type>;
        if constexpr (std::is_same_v<O, T> || std::is_same_v<O, int64_t>)
          cumsum_kernel<T, O><<<grid_for(L.rows), kThreads, 0, current_stream()>>>(
              L.rows, L.n, static_cast<const T*>(L.x.data_ptr()), static_cast<O*>(out.data_ptr()));
      });
    });
    CJ_CUDA_CHECK_LAUNCH("cumsum");
  }
  return ops::reshape(L.restore(out, L.n), x.shape());
}

}  // namespace cj::cuda
