// Multi-tensor optimizer kernels (tensor/ops/optim.hpp) on the GPU: one launch covers every
// tensor. The host cuts the tensors into chunks of at most kChunk elements and uploads a table
// (per-tensor records, then chunks); block b handles chunk b. The per-element maths is
// tensor/ops/optim_math.hpp's, which the CPU loops run too. Compiled with -fmad=false
// (cuda/CMakeLists.txt): x + a*y must round twice, as the CPU step does.
#include <cstring>
#include <vector>

#include "cuda/check.hpp"
#include "cuda/dtype.cuh"
#include "cuda/launch.cuh"
#include "cuda/ops.hpp"
#include "tensor/dispatch.hpp"
#include "tensor/ops/optim.hpp"
#include "tensor/ops/optim_math.hpp"
#include "tensor/ops/views.hpp"

namespace cj::cuda {

namespace {

constexpr int64_t kChunk = 16 * kThreads;

struct Chunk {
  int64_t item;  // index into the record table
  int64_t begin, end;  // element range within the item
};

// Chunks of at most kChunk elements over items of the given sizes.
std::vector<Chunk> make_chunks(const std::vector<int64_t>& sizes) {
  std::vector<Chunk> chunks;
  for (std::size_t i = 0; i < sizes.size(); ++i)
    for (int64_t b = 0; b < sizes[i]; b += kChunk) chunks.push_back({int64_t(i), b, std::min(sizes[i], b + kChunk)});
  return chunks;
}

// The records and chunks in one device buffer (kept alive by the returned tensor until the
// launches queued on the stream have read it: the caching allocator is stream-ordered).
template <typename Record>
struct Table {
  Tensor storage;
  const Record* records = nullptr;
  const Chunk* chunks = nullptr;
  unsigned chunk_count = 0;
};

template <typename Record>
Table<Record> upload(const std::vector<Record>& records, const std::vector<Chunk>& chunks, Device device) {
  const std::size_t record_bytes = (records.size() * sizeof(Record) + 15) / 16 * 16;
  const std::size_t bytes = record_bytes + chunks.size() * sizeof(Chunk);
  Tensor host = Tensor::empty({int64_t(bytes)}, DType::u8);
  std::memcpy(host.data_ptr(), records.data(), records.size() * sizeof(Record));
  std::memcpy(static_cast<char*>(host.data_ptr()) + record_bytes, chunks.data(), chunks.size() * sizeof(Chunk));
  Table<Record> t;
  t.storage = Tensor::empty({int64_t(bytes)}, {DType::u8, device});
  copy_(t.storage, host);
  t.records = static_cast<const Record*>(t.storage.data_ptr());
  t.chunks = reinterpret_cast<const Chunk*>(static_cast<const char*>(t.storage.data_ptr()) + record_bytes);
  t.chunk_count = unsigned(chunks.size());
  CJ_CHECK(chunks.size() < (std::size_t(1) << 31), "foreach kernels: ", chunks.size(), " chunks exceed the grid");
  return t;
}

// ---- Adam ------------------------------------------------------------------------------------------

template <typename C>
struct AdamRecord {
  void* param;
  const void* grad;
  int64_t state_offset;
  optim_math::AdamConstants<C> k;
};

template <typename T, typename C, typename Round>
__global__ void fused_adam_kernel(const AdamRecord<C>* records, const Chunk* chunks, T* m, T* v, T* vmax,
                                  Round round) {
  const Chunk chunk = chunks[blockIdx.x];
  const AdamRecord<C>& r = records[chunk.item];
  T* p = static_cast<T*>(r.param);
  const T* g = static_cast<const T*>(r.grad);
  const optim_math::AdamConstants<C> k = r.k;
  // the variant (weight decay kind, amsgrad) is the same for the whole block: no divergence
  optim_math::with_adam_variant(k, [&](auto decay, auto amsgrad) {
    constexpr bool kAmsgrad = decltype(amsgrad)::value;
    for (int64_t j = chunk.begin + threadIdx.x; j < chunk.end; j += blockDim.x) {
      const int64_t s = r.state_offset + j;
      C pj = cast_to<C>(p[j]), mj = cast_to<C>(m[s]), vj = cast_to<C>(v[s]);
      C vmaxj = kAmsgrad ? cast_to<C>(vmax[s]) : C(0);
      optim_math::adam_element<decltype(decay)::value, kAmsgrad>(pj, cast_to<C>(g[j]), mj, vj, vmaxj, k, round);
      p[j] = cast_to<T>(pj), m[s] = cast_to<T>(mj), v[s] = cast_to<T>(vj);
      if (kAmsgrad) vmax[s] = cast_to<T>(vmaxj);
    }
  });
}

// ---- norm and scaling: records carry their dtype, so one launch covers mixed dtypes ------------------

struct ForeachRecord {
  void* data;
  DType dtype;
};

template <typename T>
__device__ __forceinline__ double load_double(const void* data, int64_t j) {
  return double(cast_to<math_t<T>>(static_cast<const T*>(data)[j]));
}

// The block's kThreads partials merged in a fixed tree (deterministic); the result in every thread.
__device__ double block_norm_combine(double partial, bool inf_norm) {
  __shared__ double scratch[kThreads];
  scratch[threadIdx.x] = partial;
  __syncthreads();
  for (int half = kThreads / 2; half > 0; half /= 2) {
    if (int(threadIdx.x) < half)
      scratch[threadIdx.x] = optim_math::norm_combine(scratch[threadIdx.x], scratch[threadIdx.x + half], inf_norm);
    __syncthreads();
  }
  return scratch[0];
}

// Block b's partial over chunk b, merged in a fixed tree (deterministic), into partials[b].
__global__ void norm_partial_kernel(const ForeachRecord* records, const Chunk* chunks, bool inf_norm,
                                    double* partials) {
  const Chunk chunk = chunks[blockIdx.x];
  const ForeachRecord r = records[chunk.item];
  double acc = 0;
  for (int64_t j = chunk.begin + threadIdx.x; j < chunk.end; j += blockDim.x) {
    double x;
    switch (r.dtype) {
      case DType::f64: x = load_double<double>(r.data, j); break;
      case DType::bf16: x = load_double<__nv_bfloat16>(r.data, j); break;
      case DType::f16: x = load_double<__half>(r.data, j); break;
      default: x = load_double<float>(r.data, j); break;
    }
    acc = optim_math::norm_accumulate(acc, x, inf_norm);
  }
  const double total = block_norm_combine(acc, inf_norm);
  if (threadIdx.x == 0) partials[blockIdx.x] = total;
}

// One block merges the n partials into out[0] in a fixed order.
__global__ void norm_final_kernel(const double* partials, int64_t n, bool inf_norm, double* out) {
  double acc = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) acc = optim_math::norm_combine(acc, partials[i], inf_norm);
  const double total = block_norm_combine(acc, inf_norm);
  if (threadIdx.x == 0) out[0] = total;
}

template <typename T, typename Round>
__device__ __forceinline__ void scale_range(void* data, int64_t begin, int64_t end, double factor, Round round) {
  using C = math_t<T>;
  T* x = static_cast<T*>(data);
  const C f = C(factor);
  for (int64_t j = begin + threadIdx.x; j < end; j += blockDim.x)
    x[j] = cast_to<T>(optim_math::scale_element<C>(cast_to<C>(x[j]), f, round));
}

__global__ void scale_kernel(const ForeachRecord* records, const Chunk* chunks, double factor) {
  const Chunk chunk = chunks[blockIdx.x];
  const ForeachRecord r = records[chunk.item];
  switch (r.dtype) {
    case DType::f64: scale_range<double>(r.data, chunk.begin, chunk.end, factor, optim_math::KeepPrecision{}); break;
    case DType::bf16:
      scale_range<__nv_bfloat16>(r.data, chunk.begin, chunk.end, factor, optim_math::RoundToBf16{});
      break;
    case DType::f16: scale_range<__half>(r.data, chunk.begin, chunk.end, factor, optim_math::RoundToF16{}); break;
    default: scale_range<float>(r.data, chunk.begin, chunk.end, factor, optim_math::KeepPrecision{}); break;
  }
}

// The checked tensors as contiguous ones (copies where a tensor is strided) and their table.
struct ForeachTable {
  std::vector<Tensor> contiguous;
  Table<ForeachRecord> table;
};

ForeachTable foreach_table(const char* op, const std::vector<Tensor>& tensors) {
  ops::check_foreach(op, tensors, tensors[0].device());
  check_cuda(op, tensors[0]);
  ForeachTable out;
  std::vector<ForeachRecord> records;
  std::vector<int64_t> sizes;
  for (const Tensor& t : tensors) {
    out.contiguous.push_back(ops::contiguous(t));
    records.push_back({out.contiguous.back().data_ptr(), t.dtype()});
    sizes.push_back(t.numel());
  }
  out.table = upload(records, make_chunks(sizes), tensors[0].device());
  return out;
}

}  // namespace

void fused_adam_(const std::vector<ops::AdamSlice>& slices, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                 const Tensor& max_exp_avg_sq, const ops::AdamConfig& config) {
  check_cuda("fused_adam_", exp_avg);
  const std::vector<Tensor> grads = ops::check_fused_adam(slices, exp_avg, exp_avg_sq, max_exp_avg_sq, config);
  if (slices.empty()) return;
  dispatch_floating(exp_avg.dtype(), "fused_adam_", [&](auto tag) {
    using H = typename decltype(tag)::type;
    using T = device_t<H>;
    using C = optim_math::compute_of<H>;
    std::vector<AdamRecord<C>> records;
    std::vector<int64_t> sizes;
    for (std::size_t i = 0; i < slices.size(); ++i) {
      const ops::AdamSlice& s = slices[i];
      records.push_back({s.param.data_ptr(), grads[i].data_ptr(), s.state_offset,
                         optim_math::adam_constants<C>(config.beta1, config.beta2, config.eps,
                                                       config.decoupled_weight_decay, config.amsgrad, s.lr,
                                                       s.weight_decay, s.step)});
      sizes.push_back(s.param.numel());
    }
    const auto table = upload(records, make_chunks(sizes), exp_avg.device());
    if (table.chunk_count == 0) return;
    T* vmax = config.amsgrad ? static_cast<T*>(max_exp_avg_sq.data_ptr()) : nullptr;
    optim_math::with_round<H>([&](auto round) {
      fused_adam_kernel<T, C><<<table.chunk_count, kThreads, 0, current_stream()>>>(
          table.records, table.chunks, static_cast<T*>(exp_avg.data_ptr()), static_cast<T*>(exp_avg_sq.data_ptr()),
          vmax, round);
    });
    CJ_CUDA_CHECK_LAUNCH("fused_adam_");
  });
  for (const auto& s : slices) s.param.bump_version();
  exp_avg.bump_version();
  exp_avg_sq.bump_version();
  if (config.amsgrad) max_exp_avg_sq.bump_version();
}

double foreach_norm_partial(const std::vector<Tensor>& tensors, bool inf_norm) {
  if (tensors.empty()) return 0.0;
  const ForeachTable f = foreach_table("foreach_norm_partial", tensors);
  const unsigned chunks = f.table.chunk_count;
  if (chunks == 0) return 0.0;
  Tensor partials = Tensor::empty({int64_t(chunks) + 1}, {DType::f64, tensors[0].device()});
  double* p = static_cast<double*>(partials.data_ptr());
  norm_partial_kernel<<<chunks, kThreads, 0, current_stream()>>>(f.table.records, f.table.chunks, inf_norm, p);
  CJ_CUDA_CHECK_LAUNCH("foreach_norm_partial");
  norm_final_kernel<<<1, kThreads, 0, current_stream()>>>(p, chunks, inf_norm, p + chunks);
  CJ_CUDA_CHECK_LAUNCH("foreach_norm_partial");
  return ops::to(ops::narrow(partials, 0, chunks, 1), Device::cpu()).item<double>();
}

void foreach_mul_(const std::vector<Tensor>& tensors, double factor) {
  if (tensors.empty()) return;
  const ForeachTable f = foreach_table("foreach_mul_", tensors);
  if (f.table.chunk_count > 0) {
    scale_kernel<<<f.table.chunk_count, kThreads, 0, current_stream()>>>(f.table.records, f.table.chunks, factor);
    CJ_CUDA_CHECK_LAUNCH("foreach_mul_");
  }
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    if (!f.contiguous[i].is_same(tensors[i])) copy_(tensors[i], f.contiguous[i]);  // a strided gradient
    tensors[i].bump_version();
  }
}

}  // namespace cj::cuda
