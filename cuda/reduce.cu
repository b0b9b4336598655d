// sum, mean, prod, amax and amin over any dims: the reduced dims are moved last (one copy when they
// are not already), then one warp (short rows) or one block (long rows) reduces each row.
// dtypes as the CPU ops: sum/prod of integers and bools give i64, mean of them f32.
#include <limits>

#include "cuda/launch.cuh"
#include "cuda/ops.hpp"
#include "cuda/reduce.cuh"
#include "tensor/dispatch.hpp"
#include "tensor/ops/views.hpp"

namespace cj::cuda {

namespace {

enum class Reduction { sum, mean, prod, max, min };

// Accumulator: float/double for floats, int64 for integers and bools.
template <typename T> using reduce_acc_t = std::conditional_t<std::is_floating_point_v<math_t<T>>, accum_t<math_t<T>>, int64_t>;

template <Reduction R, typename A> __device__ __forceinline__ A reduce_init() {
  using lim = std::numeric_limits<A>;
  if constexpr (R == Reduction::prod) return A(1);
  else if constexpr (R == Reduction::max) return lim::has_infinity ? -lim::infinity() : lim::lowest();
  else if constexpr (R == Reduction::min) return lim::has_infinity ? lim::infinity() : lim::max();
  else return A(0);
}

template <Reduction R> struct OpOf { using type = SumOp; };
template <> struct OpOf<Reduction::prod> { using type = ProdOp; };
template <> struct OpOf<Reduction::max> { using type = MaxOp; };
template <> struct OpOf<Reduction::min> { using type = MinOp; };

template <typename T, typename O, int GROUP, Reduction R>
__global__ void row_reduce_kernel(int64_t rows, int64_t cols, const T* x, O* out) {
  using A = reduce_acc_t<T>;
  using Op = typename OpOf<R>::type;
  __shared__ A scratch[32];
  const int group_size = GROUP == 32 ? 32 : blockDim.x;
  const int64_t row = GROUP == 32 ? blockIdx.x * int64_t(blockDim.x / 32) + threadIdx.x / 32 : int64_t(blockIdx.x);
  const int t = GROUP == 32 ? threadIdx.x % 32 : threadIdx.x;
  if (GROUP == 32 && row >= rows) return;  // whole warps leave together
  const T* p = x + row * cols;
  A acc = reduce_init<R, A>();
  for (int64_t c = t; c < cols; c += group_size) acc = Op::combine(acc, A(load_math(p + c)));
  acc = group_reduce<GROUP, Op>(acc, scratch);
  if (R == Reduction::mean) acc /= A(cols);
  if (t == 0) out[row] = cast_to<O>(acc);
}

template <Reduction R>
Tensor reduce(const char* op, const Tensor& x_in, const Dims& dims, bool keepdim) {
  check_cuda(op, x_in);
  const bool widen = R == Reduction::sum || R == Reduction::prod;
  const Tensor x = R == Reduction::mean && !is_floating(x_in.dtype()) ? as_dtype(x_in, DType::f32) : x_in;
  const DType out_dtype = widen && !is_floating(x.dtype()) ? DType::i64 : x.dtype();
  const int64_t nd = x.dim();
  std::vector<bool> reduced(nd, dims.empty());
  for (int64_t d : dims) {
    int64_t w = wrap_dim(d, nd, op);
    if (nd == 0) continue;  // a 0-d tensor accepts dim 0 / -1 and reduces nothing (reduced is empty)
    CJ_CHECK(!reduced[w], op, ": dim ", w, " appears multiple times in the list of dims ", Shape(dims));
    reduced[w] = true;
  }
  Shape out_shape, perm;
  int64_t rows = 1, cols = 1;
  for (int64_t d = 0; d < nd; ++d) {
    if (reduced[d]) {
      cols *= x.size(d);
      if (keepdim) out_shape.push_back(1);
    } else {
      rows *= x.size(d);
      out_shape.push_back(x.size(d));
      perm.push_back(d);
    }
  }
  for (int64_t d = 0; d < nd; ++d)
    if (reduced[d]) perm.push_back(d);
  Tensor out = Tensor::empty(out_shape, {out_dtype, x.device()});
  if (rows == 0) return out;
  if (cols == 0) {
    CJ_CHECK(R != Reduction::max && R != Reduction::min, op,
             ": cannot reduce over a zero-size dimension (input shape ", x.shape(), ")");
    fill_(out, R == Reduction::sum ? 0.0 : R == Reduction::prod ? 1.0 : std::numeric_limits<double>::quiet_NaN());
    return out;
  }
  Tensor rows_last = ops::contiguous(ops::permute(x, perm));
  dispatch_all(x.dtype(), op, [&](auto tag) {
    using T = device_t<typename decltype(tag)::type>;
    dispatch_all(out_dtype, op, [&](auto otag) {
      using O = device_t<typename decltype(otag)::type>;
      if constexpr (std::is_same_v<O, T> || std::is_same_v<O, int64_t>) {
        const T* in = static_cast<const T*>(rows_last.data_ptr());
        O* o = static_cast<O*>(out.data_ptr());
        if (cols <= 1024) {
          const int warps = 8;
          unsigned blocks = unsigned((rows + warps - 1) / warps);
          row_reduce_kernel<T, O, 32, R><<<blocks, warps * 32, 0, current_stream()>>>(rows, cols, in, o);
        } else {
          row_reduce_kernel<T, O, 0, R><<<unsigned(rows), 512, 0, current_stream()>>>(rows, cols, in, o);
        }
      }
    });
  });
  CJ_CUDA_CHECK_LAUNCH(op);
  return out;
}

}  // namespace

Tensor sum(const Tensor& x, const Dims& dims, bool keepdim) { return reduce<Reduction::sum>("sum", x, dims, keepdim); }
Tensor mean(const Tensor& x, const Dims& dims, bool keepdim) { return reduce<Reduction::mean>("mean", x, dims, keepdim); }
Tensor prod(const Tensor& x, const Dims& dims, bool keepdim) { return reduce<Reduction::prod>("prod", x, dims, keepdim); }
Tensor amax(const Tensor& x, const Dims& dims, bool keepdim) { return reduce<Reduction::max>("amax", x, dims, keepdim); }
Tensor amin(const Tensor& x, const Dims& dims, bool keepdim) { return reduce<Reduction::min>("amin", x, dims, keepdim); }

}  // namespace cj::cuda
