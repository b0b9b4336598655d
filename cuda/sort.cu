// sort, argsort (through sort) and topk: one block per line, a bitonic sort of (value, position)
// pairs in shared memory under order::before (tensor/ops/order_rules.hpp, the CPU ops' order), so
// the result is stable and equal to the CPU's. Lines longer than kMaxLine are sorted on the host.
#include "cuda/launch.cuh"
#include "cuda/line.hpp"
#include "cuda/ops.hpp"
#include "tensor/dispatch.hpp"
#include "tensor/ops/index_common.hpp"
#include "tensor/ops/order_rules.hpp"

namespace cj::cuda {

namespace {

constexpr int64_t kMaxLine = 2048;

// Padding slots (position -1) sort after every real element.
template <typename K>
__device__ __forceinline__ bool slot_before(K x, int a, K y, int b, bool descending) {
  if (a < 0) return false;
  if (b < 0) return true;
  return order::before(x, a, y, b, descending);
}

// Shared memory of a block sorting `padded` slots: the positions, then the keys 16-byte aligned.
__host__ __device__ inline std::size_t keys_offset(int padded) {
  return (std::size_t(padded) * sizeof(int) + 15) / 16 * 16;
}

// x: (rows, n) contiguous -> values, indices (rows, k): each line's first k in order::before.
// padded: the power of two >= n the block sorts (keys_offset(padded) + padded keys of shared memory).

template <typename T>
__global__ void sort_lines_kernel(int64_t n, int64_t k, int padded, bool descending, const T* x, T* values,
                                  int64_t* indices) {
  using K = math_t<T>;
  extern __shared__ __align__(16) unsigned char smem[];
  int* pos = reinterpret_cast<int*>(smem);
  K* keys = reinterpret_cast<K*>(smem + keys_offset(padded));
  const T* line = x + blockIdx.x * n;
  for (int i = threadIdx.x; i < padded; i += blockDim.x) {
    pos[i] = i < n ? i : -1;
    keys[i] = i < n ? load_math(line + i) : K(0);
  }
  __syncthreads();
  for (int size = 2; size <= padded; size <<= 1) {
    for (int stride = size >> 1; stride > 0; stride >>= 1) {
      for (int i = threadIdx.x; i < padded; i += blockDim.x) {
        const int j = i ^ stride;
        if (j > i) {
          const bool up = (i & size) == 0;  // this pair's run is sorted forwards
          const bool swap = up ? slot_before(keys[j], pos[j], keys[i], pos[i], descending)
                               : slot_before(keys[i], pos[i], keys[j], pos[j], descending);
          if (swap) {
            K tk = keys[i]; keys[i] = keys[j]; keys[j] = tk;
            int tp = pos[i]; pos[i] = pos[j]; pos[j] = tp;
          }
        }
      }
      __syncthreads();
    }
  }
  for (int i = threadIdx.x; i < k; i += blockDim.x) {
    values[blockIdx.x * k + i] = line[pos[i]];  // the stored element itself, not its rounded key
    indices[blockIdx.x * k + i] = pos[i];
  }
}

std::pair<Tensor, Tensor> first_k_along(const Tensor& x, int64_t dim, int64_t k, bool descending, const char* op) {
  Lines L(x, dim);
  if (L.n > kMaxLine) {  // too long for one block's shared memory: the CPU sort (the same order), then back
    auto r = ops::sort(ops::to(x, Device::cpu()), dim, descending);
    auto first_k = [&](const Tensor& t) { return ops::to(ops::contiguous(ops::narrow(t, dim, 0, k)), x.device()); };
    return {first_k(r.first), first_k(r.second)};
  }
  Tensor values = Tensor::empty({L.rows, k}, {x.dtype(), x.device()});
  Tensor indices = Tensor::empty({L.rows, k}, {DType::i64, x.device()});
  if (L.rows > 0 && k > 0) {
    int padded = 1;
    while (padded < L.n) padded <<= 1;
    dispatch_all(x.dtype(), op, [&](auto tag) {
      using T = device_t<typename decltype(tag)::type>;
      const std::size_t shared = keys_offset(padded) + std::size_t(padded) * sizeof(math_t<T>);
      sort_lines_kernel<T><<<unsigned(L.rows), std::min(padded, 512), shared, current_stream()>>>(
          L.n, k, padded, descending, static_cast<const T*>(L.x.data_ptr()), static_cast<T*>(values.data_ptr()),
          static_cast<int64_t*>(indices.data_ptr()));
    });
    CJ_CUDA_CHECK_LAUNCH(op);
  }
  if (x.dim() == 0) return {ops::reshape(values, {}), ops::reshape(indices, {})};
  return {L.restore(values, k), L.restore(indices, k)};
}

}  // namespace

// x: S -> (values, int64 indices), both S, sorted along dim; equal values keep their order.
std::pair<Tensor, Tensor> sort(const Tensor& x, int64_t dim, bool descending) {
  check_cuda("sort", x);
  dim = wrap_dim(dim, x.dim(), "sort");
  return first_k_along(x, dim, x.dim() == 0 ? 1 : x.size(dim), descending, "sort");
}

// x: (..., n, ...) -> (values, int64 indices) of (..., k, ...): the k largest (or smallest) along dim.
std::pair<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t dim, bool largest, bool /*sorted*/) {
  check_cuda("topk", x);
  dim = ops::detail::check_topk_args(x, k, dim);
  return first_k_along(x, dim, x.dim() == 0 ? 1 : k, largest, "topk");
}

}  // namespace cj::cuda
