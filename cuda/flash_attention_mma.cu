// The tensor-core flash attention forward for bf16/f16 at head dims 32 and 64 (sm_80+): Q·Kᵀ and P·V
// on mma.sync.m16n8k16 with f32 accumulators, the online softmax in f32 registers. The kernel only
// waits for the key tiles it has cp.async copy (double-buffered), issues the ldmatrix and mma
// instructions and the quad shuffles, and calls the
// per-lane maths of tensor/flash_mma.hpp, which tests/tensor/test_flash_mma_tile.cpp replays on the
// CPU lane by lane (see that header for the tiling and the fragment layouts). The backward stays on
// the CUDA-core kernels (flash_attention_kernels.cuh), which read the lse written here.
#include <cuda_runtime.h>

#include <array>
#include <atomic>
#include <cstdint>

#include "cuda/check.hpp"
#include "cuda/flash_attention.hpp"
#include "cuda/stream.hpp"
#include "tensor/env_choice.hpp"
#include "tensor/flash_mma.hpp"
#include "tensor/ops/views.hpp"

namespace cj::cuda {

namespace {

namespace fm = flash::mma;

// d += a·b on the tensor cores (one warp, all lanes converged).
template <typename H>
__device__ __forceinline__ void mma_sync(fm::FragC& d, const fm::FragA& a, const fm::FragB& b) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  if constexpr (std::is_same_v<H, fm::Bf16>)
    asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(d.x[0]), "+f"(d.x[1]), "+f"(d.x[2]), "+f"(d.x[3])
        : "r"(a.x[0]), "r"(a.x[1]), "r"(a.x[2]), "r"(a.x[3]), "r"(b.x[0]), "r"(b.x[1]));
  else
    asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(d.x[0]), "+f"(d.x[1]), "+f"(d.x[2]), "+f"(d.x[3])
        : "r"(a.x[0]), "r"(a.x[1]), "r"(a.x[2]), "r"(a.x[3]), "r"(b.x[0]), "r"(b.x[1]));
#endif
}

// Four 8×8 matrices of 16-bit values from shared memory (row addresses per lane: flash_mma.hpp).
template <bool kTrans>
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const uint16_t* row) {
  const unsigned at = static_cast<unsigned>(__cvta_generic_to_shared(row));
  if constexpr (kTrans)
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(at));
  else
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(at));
}

// Each of the 4 lanes sharing a row ends with combine over the quad (lanes ^ 1, then ^ 2).
template <typename F>
__device__ __forceinline__ void quad_reduce(float (&x)[2], F combine) {
#pragma unroll
  for (int off = 1; off < 4; off <<= 1)
#pragma unroll
    for (int r = 0; r < 2; ++r) x[r] = combine(x[r], __shfl_xor_sync(0xffffffffu, x[r], off));
}

// out: (Bt, Lq, E) contiguous 16-bit, lse: (Bt, Lq) f32. Grid: Bt × ceil(Lq / 64) blocks of 4 warps.
template <typename H, int E, bool kMasked>
__global__ void __launch_bounds__(fm::kThreads) forward_mma_kernel(fm::Args a, uint16_t* out, float* lse) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  using C = fm::Config<E>;
  __shared__ __align__(16) uint16_t tiles[2][2][C::kTile];  // [buffer][K, V]: tile t in buffer t % 2
  const int lane = threadIdx.x & 31;
  const fm::WarpPlace at = fm::warp_place(blockIdx.x, threadIdx.x >> 5, a.Lq);
  const int64_t mask_base = a.mask.batch_offset(at.b);
  fm::load_kv_tiles<E>(tiles[0][0], tiles[0][1], a, at.b, 0, threadIdx.x);
  asm volatile("cp.async.commit_group;\n" ::);
  fm::FragA qa[C::kSteps];
  fm::load_q<E>(qa, a, at.b, at.row0, lane);
  fm::RowStats st;
  fm::FragC o[C::kOutTiles];
  fm::init<E>(st, o);
  for (int64_t j0 = 0, t = 0; j0 < a.Lk; j0 += fm::kKeys, ++t) {
    const uint16_t* k_s = tiles[t & 1][0];
    const uint16_t* v_s = tiles[t & 1][1];
    if (j0 + fm::kKeys < a.Lk)  // the next tile into the other buffer, which the last barrier freed
      fm::load_kv_tiles<E>(tiles[(t + 1) & 1][0], tiles[(t + 1) & 1][1], a, at.b, j0 + fm::kKeys, threadIdx.x);
    asm volatile("cp.async.commit_group;\n" ::);  // (empty at the last tile: wait_group 1 still means tile t)
    asm volatile("cp.async.wait_group 1;\n" ::);  // this thread's copies of tile t have landed
    __syncthreads();                              // and everyone's
    const int count = fm::tile_count(a.Lk, j0);
    if (at.row0 < a.Lq) {  // warp-uniform: a warp past the last query only copies tiles
      fm::FragC s[fm::kScoreTiles];
#pragma unroll
      for (int nt = 0; nt < fm::kScoreTiles; ++nt) {
        s[nt] = fm::FragC{{0.f, 0.f, 0.f, 0.f}};
        if (!fm::score_tile_live(nt, count)) continue;  // keys past the tile's end: -inf whatever s is
#pragma unroll
        for (int ks = 0; ks < C::kSteps; ks += 2) {
          uint32_t b[4];
          ldmatrix_x4<false>(b, fm::k_ldmatrix_row<E>(k_s, lane, nt, ks));
          mma_sync<H>(s[nt], qa[ks], fm::FragB{{b[0], b[1]}});
          mma_sync<H>(s[nt], qa[ks + 1], fm::FragB{{b[2], b[3]}});
        }
      }
      float row_max[2];
      fm::scale_and_mask<kMasked>(s, row_max, a, mask_base, at.row0, j0, count, lane);
      quad_reduce(row_max, fm::combine_max);
      fm::online_update<E>(st, s, o, row_max);
#pragma unroll
      for (int kk = 0; kk < fm::kKeySteps; ++kk) {
        if (!fm::key_step_live(kk, count)) continue;  // p = 0 for all 16 keys: O would gain exact zeros
        const fm::FragA pa = fm::p_fragment<H>(s, kk);
#pragma unroll
        for (int nt = 0; nt < C::kOutTiles; nt += 2) {
          uint32_t b[4];
          ldmatrix_x4<true>(b, fm::v_ldmatrix_row<E>(v_s, lane, kk, nt));
          mma_sync<H>(o[nt], pa, fm::FragB{{b[0], b[1]}});
          mma_sync<H>(o[nt + 1], pa, fm::FragB{{b[2], b[3]}});
        }
      }
    }
    __syncthreads();  // everyone is done with this buffer before tile t + 2 refills it
  }
  float l[2] = {st.l[0], st.l[1]};
  quad_reduce(l, fm::combine_sum);
  fm::finish<H, E>(st, l, o, out, lse, at.b, at.row0, a.Lq, lane);
#else
  __trap();  // never launched: the dispatch asks for sm_80+ code (runs_on_current_device)
#endif
}

bool& switched_on() {  // CJ_FLASH_MMA=1: the tensor-core forward for bf16/f16, 0: the CUDA-core kernel
  static bool on = env_choice("CJ_FLASH_MMA", true, {{"1", true}, {"0", false}});
  return on;
}

// Whether the current device runs the kernels: compute capability >= 8.0, and code built for it (an
// architecture list without sm_80+ would JIT older PTX, whose kernel body is a trap). Cached per device.
// ptxVersion is the virtual architecture the loaded code was compiled for (its __CUDA_ARCH__);
// binaryVersion is the device's own once older PTX is JIT-compiled for it, so it cannot tell.
bool runs_on_current_device() {
  static std::array<std::atomic<int>, 64> known{};  // 0 not yet asked, 1 yes, -1 no
  int device = 0;
  CJ_CUDA_CHECK(cudaGetDevice(&device));
  if (device < int(known.size()) && known[device].load() != 0) return known[device].load() > 0;
  int major = 0;
  CJ_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
  cudaFuncAttributes attr{};
  CJ_CUDA_CHECK(cudaFuncGetAttributes(&attr, forward_mma_kernel<fm::Bf16, 64, false>));
  const bool yes = major >= 8 && attr.ptxVersion >= 80;
  if (device < int(known.size())) known[device].store(yes ? 1 : -1);
  return yes;
}

// The 16-byte loads need 16-byte aligned rows: an operand that is not gets a contiguous copy.
Tensor aligned_rows(const Tensor& t) {
  const bool ok = reinterpret_cast<uintptr_t>(t.data_ptr()) % 16 == 0 && t.stride(0) % 8 == 0 && t.stride(1) % 8 == 0;
  return ok ? t : ops::clone(t);
}

template <typename H, int E>
void launch(const fm::Args& a, int64_t Bt, const Tensor& out, const Tensor& lse) {
  const auto blocks = unsigned(Bt * fm::blocks_per_entry(a.Lq));
  auto kernel = a.masked() ? forward_mma_kernel<H, E, true> : forward_mma_kernel<H, E, false>;
  kernel<<<blocks, fm::kThreads, 0, current_stream()>>>(a, static_cast<uint16_t*>(out.data_ptr()),
                                                        static_cast<float*>(lse.data_ptr()));
}

}  // namespace

namespace flash_attention {

void set_tensor_cores(bool on) { switched_on() = on; }
bool tensor_cores() { return switched_on(); }

bool tensor_cores_take(const Operands& x) {
  const DType t = x.q.dtype();
  return switched_on() && (t == DType::bf16 || t == DType::f16) && (x.q.size(2) == 32 || x.q.size(2) == 64) &&
         runs_on_current_device();
}

// q, k, v: (Bt, L, E) bf16/f16, unit last stride -> out (Bt, Lq, E) contiguous, lse (Bt, Lq) f32
void forward_mma(const Operands& x, const Tensor& out, const Tensor& lse) {
  const Tensor q = aligned_rows(x.q), k = aligned_rows(x.k), v = aligned_rows(x.v);
  fm::Args a;
  a.q = static_cast<const uint16_t*>(q.data_ptr());
  a.k = static_cast<const uint16_t*>(k.data_ptr());
  a.v = static_cast<const uint16_t*>(v.data_ptr());
  a.q_batch = q.stride(0), a.q_row = q.stride(1);
  a.k_batch = k.stride(0), a.k_row = k.stride(1);
  a.v_batch = v.stride(0), a.v_row = v.stride(1);
  a.Lq = q.size(1), a.Lk = k.size(1);
  a.scale = x.scale;
  a.mask = x.mask;
  const int64_t Bt = q.size(0), E = q.size(2);
  const bool bf = q.dtype() == DType::bf16;
  if (E == 32) bf ? launch<fm::Bf16, 32>(a, Bt, out, lse) : launch<fm::F16, 32>(a, Bt, out, lse);
  else bf ? launch<fm::Bf16, 64>(a, Bt, out, lse) : launch<fm::F16, 64>(a, Bt, out, lse);
}

}  // namespace flash_attention
}  // namespace cj::cuda
