// sum, mean and amax over any dims: the reduced dims are moved last (one copy when they are not
// already), then one warp (short rows) or one block (long rows) reduces each row.
#include <limits>

#include "cuda/launch.cuh"
#include "cuda/ops.hpp"
#include "cuda/reduce.cuh"
#include "tensor/dispatch.hpp"
#include "tensor/ops/views.hpp"

namespace cj::cuda {

namespace {

enum class Reduction { sum, mean, max };

template <typename T, int GROUP, Reduction R>
__global__ void row_reduce_kernel(int64_t rows, int64_t cols, const T* x, T* out) {
  using A = accum_t<math_t<T>>;
  __shared__ A scratch[32];
  const int group_size = GROUP == 32 ? 32 : blockDim.x;
  const int64_t row = GROUP == 32 ? blockIdx.x * int64_t(blockDim.x / 32) + threadIdx.x / 32 : int64_t(blockIdx.x);
  const int t = GROUP == 32 ? threadIdx.x % 32 : threadIdx.x;
  if (GROUP == 32 && row >= rows) return;  // whole warps leave together
  const T* p = x + row * cols;
  A acc = R == Reduction::max ? dmath::neg_infinity<A>() : A(0);
  for (int64_t c = t; c < cols; c += group_size) {
    A v = A(load_math(p + c));
    acc = R == Reduction::max ? dmath::nan_max(acc, v) : acc + v;
  }
  if constexpr (R == Reduction::max) acc = group_reduce<GROUP, MaxOp>(acc, scratch);
  else acc = group_reduce<GROUP, SumOp>(acc, scratch);
  if (R == Reduction::mean) acc /= A(cols);
  if (t == 0) out[row] = cast_to<T>(acc);
}

template <Reduction R>
Tensor reduce(const char* op, const Tensor& x, const Dims& dims, bool keepdim) {
  check_cuda(op, x);
  CJ_CHECK(is_floating(x.dtype()), op, ": the cuda kernel takes floating dtypes so far, got ", dtype_name(x.dtype()));
  const int64_t nd = x.dim();
  std::vector<bool> reduced(nd, dims.empty());
  for (int64_t d : dims) {
    int64_t w = wrap_dim(d, nd, op);
    CJ_CHECK(!reduced[w], op, ": dim ", w, " appears twice in ", dims);
    reduced[w] = true;
  }
  Shape out_shape, perm, kept_perm;
  int64_t rows = 1, cols = 1;
  for (int64_t d = 0; d < nd; ++d) {
    if (reduced[d]) {
      cols *= x.size(d);
      if (keepdim) out_shape.push_back(1);
    } else {
      rows *= x.size(d);
      out_shape.push_back(x.size(d));
      kept_perm.push_back(d);
    }
  }
  perm = kept_perm;
  for (int64_t d = 0; d < nd; ++d)
    if (reduced[d]) perm.push_back(d);
  Tensor out = Tensor::empty(out_shape, {x.dtype(), x.device()});
  if (rows == 0) return out;
  if (cols == 0) {
    CJ_CHECK(R != Reduction::max, op, ": cannot reduce over a dim of size 0 (input ", x.shape(), ")");
    fill_(out, R == Reduction::sum ? 0.0 : std::numeric_limits<double>::quiet_NaN());
    return out;
  }
  Tensor rows_last = ops::contiguous(ops::permute(x, perm));
  dispatch_floating(x.dtype(), op, [&](auto tag) {
    using T = device_t<typename decltype(tag)::type>;
    const T* in = static_cast<const T*>(rows_last.data_ptr());
    T* o = static_cast<T*>(out.data_ptr());
    if (cols <= 1024) {
      const int warps = 8;
      unsigned blocks = unsigned((rows + warps - 1) / warps);
      row_reduce_kernel<T, 32, R><<<blocks, warps * 32, 0, current_stream()>>>(rows, cols, in, o);
    } else {
      row_reduce_kernel<T, 0, R><<<unsigned(rows), 512, 0, current_stream()>>>(rows, cols, in, o);
    }
  });
  CJ_CUDA_CHECK_LAUNCH(op);
  return out;
}

}  // namespace

Tensor sum(const Tensor& x, const Dims& dims, bool keepdim) { return reduce<Reduction::sum>("sum", x, dims, keepdim); }
Tensor mean(const Tensor& x, const Dims& dims, bool keepdim) { return reduce<Reduction::mean>("mean", x, dims, keepdim); }
Tensor amax(const Tensor& x, const Dims& dims, bool keepdim) { return reduce<Reduction::max>("amax", x, dims, keepdim); }

}  // namespace cj::cuda
