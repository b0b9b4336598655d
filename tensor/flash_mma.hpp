#pragma once
// The per-lane maths of the tensor-core flash attention forward (cuda/flash_attention_mma.cu) for
// bf16/f16 inputs and head dims 32 and 64, as CJ_HD functions: the kernel only runs the warp-wide
// instructions (mma, ldmatrix, quad shuffles) between calls into this header, and
// tests/tensor/test_flash_mma_tile.cpp replays it on the CPU for all 32 lanes of every warp, with
// those instructions emulated (FlashAttention-2's scheme, written from the PTX ISA).
//
// A block of 4 warps takes 64 query rows, 16 per warp (the mma's M). Tiles of 64 keys of K and V are
// copied to shared memory as they are (16-bit, row-major; cp.async, double-buffered: the next tile
// is in flight while the warps work on this one) and read as B fragments by ldmatrix (.trans for V,
// whose B operand runs along the keys). Each warp computes its 16×64 scores S = Q·Kᵀ as 8 n-tiles ×
// E/16 k-steps of mma (f32 accumulators), scales and masks them (in log2 units, so exp is exp2),
// takes the row max over the 4 lanes that share a row (quad shuffles), rescales its running (m, l,
// O), rounds P = exp2(s - m) to 16 bits as the A operand of O += P·V (the C fragment of S is laid out
// as the A fragment of P: no data moves), and at the end sums l over the quad and writes
// out = O / l and lse = m ln 2 + log l (f32, natural log).
// A query whose keys are all masked gets out = 0 and lse = -inf, as the CPU op.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "tensor/flash_tile.hpp"
#include "tensor/half.hpp"
#include "tensor/host_device.hpp"
#if defined(__CUDACC__)
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#endif

namespace cj::flash::mma {

// ---- tiling -------------------------------------------------------------------------------------
constexpr int kLanes = 32;
constexpr int kWarps = 4;
constexpr int kThreads = kLanes * kWarps;
constexpr int kWarpRows = 16;                  // query rows per warp: the mma's M
constexpr int kRows = kWarps * kWarpRows;      // query rows per block
constexpr int kKeys = 64;                      // keys per shared-memory tile
constexpr int kScoreTiles = kKeys / 8;         // n-tiles of one warp's 16×64 scores
constexpr int kKeySteps = kKeys / 16;          // k-steps of P·V
// Shared rows are padded by 8 values (16 bytes) so that a row stride ≡ 4 words (mod 32 banks): the 8
// rows of 16 bytes that one ldmatrix phase reads then start in 8 distinct groups of 4 banks.
constexpr int kPad = 8;

template <int E_>
struct Config {
  static constexpr int E = E_;
  static_assert(E % 32 == 0 && E <= 64, "head dims 32 and 64: ldmatrix.x4 takes two B fragments (k-steps or n-tiles) at once");
  static constexpr int kSteps = E / 16;          // k-steps of Q·Kᵀ (Q fragments per lane)
  static constexpr int kOutTiles = E / 8;        // n-tiles of O
  static constexpr int kStride = E + kPad;         // K and V tiles: (kKeys, E) row-major, padded rows
  static constexpr int kTile = kKeys * kStride;    // values per tile
  static_assert((kStride / 2) % 8 == 4, "bank-conflict-free ldmatrix");
};

// ---- fragments of mma.sync.aligned.m16n8k16.row.col.f32.{bf16,f16}.{bf16,f16}.f32 ---------------
// The layouts of the PTX ISA ("Matrix Fragments for mma.m16n8k16 with floating point type"), the one
// place they are written down. g = lane >> 2 (group), t = lane & 3 (thread in group).
//   A (16×16, row): a_i, i = 0..7: row g + 8·((i/2)%2), col 2t + (i%2) + 8·(i/4)
//   B (16×8, col):  b_i, i = 0..3: k 2t + (i%2) + 8·(i/2), n g
//   C (16×8, f32):  c_i, i = 0..3: row g + 8·(i/2), col 2t + (i%2)
// A and B hold two 16-bit values per 32-bit register, the lower index in the lower half.
CJ_HD int a_row(int lane, int i) { return (lane >> 2) + 8 * ((i >> 1) & 1); }
CJ_HD int a_col(int lane, int i) { return 2 * (lane & 3) + (i & 1) + 8 * (i >> 2); }
CJ_HD int b_k(int lane, int i) { return 2 * (lane & 3) + (i & 1) + 8 * (i >> 1); }
CJ_HD int b_n(int lane, int /*i*/) { return lane >> 2; }
CJ_HD int c_row(int lane, int i) { return (lane >> 2) + 8 * (i >> 1); }
CJ_HD int c_col(int lane, int i) { return 2 * (lane & 3) + (i & 1); }

// a_i of P over keys [16kk, 16kk + 16) is c_{c_of_a(i)} of score n-tile 2kk + tile_of_a(i): same
// row, same key (the FA2 register reuse; the CPU test checks it for every lane).
CJ_HD int tile_of_a(int i) { return i >> 2; }
CJ_HD int c_of_a(int i) { return i & 3; }

struct FragA { uint32_t x[4]; };  // a_{2r} | a_{2r+1} << 16 in x[r]
struct FragB { uint32_t x[2]; };  // b_{2r} | b_{2r+1} << 16 in x[r]
struct FragC { float x[4]; };

CJ_HD uint32_t pack(uint16_t lo, uint16_t hi) { return uint32_t(lo) | (uint32_t(hi) << 16); }
CJ_HD uint16_t half_of(uint32_t word, int which) { return uint16_t(which ? word >> 16 : word & 0xffffu); }

// ---- 16-bit values ------------------------------------------------------------------------------
struct Bf16 {};  // the two element types, as tags: the kernels and tests keep values as raw bits
struct F16 {};

template <typename H>
CJ_HD uint16_t to_bits(float x) {  // round to nearest even
#if defined(__CUDA_ARCH__)
  if constexpr (std::is_same_v<H, Bf16>) return __bfloat16_as_ushort(__float2bfloat16_rn(x));
  else return __half_as_ushort(__float2half_rn(x));
#else
  if constexpr (std::is_same_v<H, Bf16>) return bf16::from_float(x);
  else return f16::from_float(x);
#endif
}

template <typename H>
CJ_HD float from_bits(uint16_t b) {
#if defined(__CUDA_ARCH__)
  if constexpr (std::is_same_v<H, Bf16>) return __bfloat162float(__ushort_as_bfloat16(b));
  else return __half2float(__ushort_as_half(b));
#else
  if constexpr (std::is_same_v<H, Bf16>) return float(bf16::from_bits(b));
  else return f16::to_float(b);
#endif
}

// Two adjacent 16-bit values (4-byte aligned) as one word.
CJ_HD uint32_t load_pair(const uint16_t* p) {
#if defined(__CUDA_ARCH__)
  return *reinterpret_cast<const uint32_t*>(p);
#else
  uint32_t w;
  std::memcpy(&w, p, sizeof w);
  return w;
#endif
}
CJ_HD void store_pair(uint16_t* p, uint32_t w) {
#if defined(__CUDA_ARCH__)
  *reinterpret_cast<uint32_t*>(p) = w;
#else
  std::memcpy(p, &w, sizeof w);
#endif
}

// 16 bytes from global src to shared dst (both 16-byte aligned), or 16 zero bytes when !valid. On
// the GPU an asynchronous cp.async (sm_80+) that the kernel waits for (cp.async.wait_group) and
// then publishes with a barrier; on the CPU a copy.
CJ_HD void copy_16_async(uint16_t* dst, const uint16_t* src, bool valid) {
#if defined(__CUDA_ARCH__)
  const unsigned to = static_cast<unsigned>(__cvta_generic_to_shared(dst));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(to), "l"(src), "r"(valid ? 16 : 0));
#else
  if (valid) std::memcpy(dst, src, 16);
  else std::memset(dst, 0, 16);
#endif
}

// ---- the problem --------------------------------------------------------------------------------
// q: (Bt, Lq, E), k, v: (Bt, Lk, E) as 16-bit bits with element strides (last stride 1; every
// stride a multiple of 8 and the pointers 16-byte aligned, for the 16-byte loads).
struct Args {
  const uint16_t *q, *k, *v;
  int64_t q_batch, q_row, k_batch, k_row, v_batch, v_row;
  int64_t Lq, Lk;
  float scale;
  MaskDesc mask;
  CJ_HD bool masked() const { return mask.keep != nullptr || mask.add != nullptr; }
};

// Where warp `warp` of block `block` works: batch entry b, query rows [row0, row0 + 16).
struct WarpPlace {
  int64_t b, row0;
};
CJ_HD int64_t blocks_per_entry(int64_t Lq) { return (Lq + kRows - 1) / kRows; }
CJ_HD WarpPlace warp_place(int64_t block, int warp, int64_t Lq) {
  const int64_t per = blocks_per_entry(Lq);
  return {block / per, (block % per) * kRows + warp * kWarpRows};
}

// ---- shared-memory tiles (each of the block's threads calls these with its index) ---------------
CJ_HD int tile_count(int64_t Lk, int64_t j0) { return int(Lk - j0 < kKeys ? Lk - j0 : kKeys); }

// Keys [j0, j0 + count) of entry b into the K and V tiles (kKeys, kStride), 16 bytes per copy,
// consecutive threads on consecutive chunks of a row (coalesced); rows >= count are zeroed, so that
// no stale bits (a NaN) reach the scores or 0·v.
template <int E>
CJ_HD void load_kv_tiles(uint16_t* k_tile, uint16_t* v_tile, const Args& a, int64_t b, int64_t j0, int thread) {
  constexpr int kChunks = E / 8;  // 16-byte chunks per row
  const int count = tile_count(a.Lk, j0);
  const uint16_t* k = a.k + b * a.k_batch + j0 * a.k_row;
  const uint16_t* v = a.v + b * a.v_batch + j0 * a.v_row;
  for (int idx = thread; idx < kKeys * kChunks; idx += kThreads) {
    const int key = idx / kChunks, c = idx % kChunks;
    const bool live = key < count;  // a dead copy still names a valid address: the tile's first row
    copy_16_async(k_tile + key * Config<E>::kStride + 8 * c, live ? k + key * a.k_row + 8 * c : k, live);
    copy_16_async(v_tile + key * Config<E>::kStride + 8 * c, live ? v + key * a.v_row + 8 * c : v, live);
  }
}

// ---- fragments of the operands ------------------------------------------------------------------
// The lane's Q fragments for its warp's rows [row0, row0 + 16) (from global memory, once); rows
// >= Lq are zero.
template <int E>
CJ_HD void load_q(FragA (&qa)[Config<E>::kSteps], const Args& a, int64_t b, int64_t row0, int lane) {
  const uint16_t* src = a.q + b * a.q_batch;
  CJ_UNROLL
  for (int ks = 0; ks < Config<E>::kSteps; ++ks)
    CJ_UNROLL
    for (int r = 0; r < 4; ++r) {
      const int64_t row = row0 + a_row(lane, 2 * r);
      qa[ks].x[r] = row < a.Lq ? load_pair(src + row * a.q_row + 16 * ks + a_col(lane, 2 * r)) : 0u;
    }
}

// B fragments come from the tiles by ldmatrix.sync.aligned.m8n8.x4[.trans].shared.b16: lane l gives
// the address of row l%8 of the 8×8 matrix l/8 (16 bytes); register m of lane l receives, of matrix m,
// the pair (row l/4, cols 2(l%4) and 2(l%4)+1), or with .trans the pair (rows 2(l%4) and 2(l%4)+1,
// col l/4). The functions below give lane l's row address.
//
// Kᵀ (n = key, k = head dim; K row-major): matrix m holds keys 8nt.. and head dims 16(ks + m/2) + 8(m%2)..;
// without .trans, registers {0, 1} are the B fragment of (score n-tile nt, k-step ks), {2, 3} that of
// (nt, ks + 1).
template <int E>
CJ_HD const uint16_t* k_ldmatrix_row(const uint16_t* k_tile, int lane, int nt, int ks) {
  const int m = lane >> 3;
  return k_tile + (8 * nt + (lane & 7)) * Config<E>::kStride + 16 * (ks + (m >> 1)) + 8 * (m & 1);
}

// V (k = key, n = head dim; V row-major): matrix m holds keys 16kk + 8(m%2).. and head dims 8(nt + m/2)..;
// with .trans, registers {0, 1} are the B fragment of (k-step kk, output n-tile nt), {2, 3} that of
// (kk, nt + 1).
template <int E>
CJ_HD const uint16_t* v_ldmatrix_row(const uint16_t* v_tile, int lane, int kk, int nt) {
  const int m = lane >> 3;
  return v_tile + (16 * kk + 8 * (m & 1) + (lane & 7)) * Config<E>::kStride + 8 * (nt + (m >> 1));
}

// The mma work a partial key tile (count < kKeys keys) needs: score n-tiles and P·V k-steps that
// hold a key < count (skipping the others changes no value: their scores become -inf, their p 0).
CJ_HD bool score_tile_live(int nt, int count) { return 8 * nt < count; }
CJ_HD bool key_step_live(int kk, int count) { return 16 * kk < count; }

// A fragment of P over keys [16kk, 16kk + 16) from the probabilities held in the score tiles.
template <typename H>
CJ_HD FragA p_fragment(const FragC (&p)[kScoreTiles], int kk) {
  FragA f;
  CJ_UNROLL
  for (int r = 0; r < 4; ++r) {
    const FragC& tile = p[2 * kk + tile_of_a(2 * r)];
    f.x[r] = pack(to_bits<H>(tile.x[c_of_a(2 * r)]), to_bits<H>(tile.x[c_of_a(2 * r + 1)]));
  }
  return f;
}

// ---- the online softmax -------------------------------------------------------------------------
constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;

// The lane's two rows (g and g + 8 of its warp): running max m (log2 units), and its share l of the
// running Σ exp2(s - m) over its own columns (the quad's shares are summed once, at the end).
struct RowStats {
  float m[2], l[2];
};

template <int E>
CJ_HD void init(RowStats& st, FragC (&o)[Config<E>::kOutTiles]) {
  CJ_UNROLL
  for (int r = 0; r < 2; ++r) st.m[r] = -INFINITY, st.l[r] = 0.f;
  CJ_UNROLL
  for (int nt = 0; nt < Config<E>::kOutTiles; ++nt)
    CJ_UNROLL
    for (int c = 0; c < 4; ++c) o[nt].x[c] = 0.f;
}

// Raw scores q·k of the tile (keys j0.. of which `count` exist) -> scale·s (+ mask) in log2 units,
// -inf past the tile's end; row_max gets the lane's max of each of its two rows. kMasked = false
// (a.mask empty) compiles the mask reads away, which keeps the unmasked kernel in fewer registers.
template <bool kMasked>
CJ_HD void scale_and_mask(FragC (&s)[kScoreTiles], float (&row_max)[2], const Args& a, int64_t mask_base,
                          int64_t row0, int64_t j0, int count, int lane) {
  row_max[0] = row_max[1] = -INFINITY;
  CJ_UNROLL
  for (int nt = 0; nt < kScoreTiles; ++nt)
    CJ_UNROLL
    for (int c = 0; c < 4; ++c) {
      const int64_t i = row0 + c_row(lane, c);
      const int j = 8 * nt + c_col(lane, c);
      float x = a.scale * s[nt].x[c];
      if (j >= count) x = -INFINITY;
      else if (kMasked && i < a.Lq) x = a.mask.apply(x, mask_base, i, j0 + j);  // rows past Lq are never stored
      s[nt].x[c] = x * kLog2e;
      row_max[c >> 1] = fmaxf(row_max[c >> 1], s[nt].x[c]);
    }
}

// The quad's combine of row maxima (the kernel shuffles with lanes ^ 1, then ^ 2).
CJ_HD float combine_max(float a, float b) { return fmaxf(a, b); }

// With the quad's row maxima of this tile: new m, rescale l and O by exp2(m_old - m_new), and turn
// the scores into p = exp2(s - m_new) (in place, f32), adding them to l.
template <int E>
CJ_HD void online_update(RowStats& st, FragC (&s)[kScoreTiles], FragC (&o)[Config<E>::kOutTiles],
                         const float (&tile_max)[2]) {
  float m_use[2], correction[2];
  CJ_UNROLL
  for (int r = 0; r < 2; ++r) {
    const float m_new = fmaxf(st.m[r], tile_max[r]);
    // no live key yet: subtract 0, so that exp2(-inf - 0) = 0 rather than exp2(-inf + inf) = NaN
    m_use[r] = m_new == -INFINITY ? 0.f : m_new;
    correction[r] = exp2f(st.m[r] - m_use[r]);  // 0 on the first live tile (m = -inf)
    st.m[r] = m_new;
    st.l[r] *= correction[r];
  }
  CJ_UNROLL
  for (int nt = 0; nt < kScoreTiles; ++nt)
    CJ_UNROLL
    for (int c = 0; c < 4; ++c) {
      const float p = exp2f(s[nt].x[c] - m_use[c >> 1]);
      s[nt].x[c] = p;
      st.l[c >> 1] += p;
    }
  CJ_UNROLL
  for (int nt = 0; nt < Config<E>::kOutTiles; ++nt)
    CJ_UNROLL
    for (int c = 0; c < 4; ++c) o[nt].x[c] *= correction[c >> 1];
}

// The quad's combine of l shares (the kernel shuffles with lanes ^ 1, then ^ 2).
CJ_HD float combine_sum(float a, float b) { return a + b; }

// With the quad's total l per row: out = O / l rounded to 16 bits (rows < Lq; out (Bt, Lq, E)
// contiguous) and, from lane t = 0 of each quad, lse = m ln 2 + log l (-inf and out = 0 for a row
// without a live key).
template <typename H, int E>
CJ_HD void finish(const RowStats& st, const float (&l)[2], const FragC (&o)[Config<E>::kOutTiles], uint16_t* out,
                  float* lse, int64_t b, int64_t row0, int64_t Lq, int lane) {
  CJ_UNROLL
  for (int r = 0; r < 2; ++r) {
    const int64_t i = row0 + c_row(lane, 2 * r);
    if (i >= Lq) continue;
    const float inv = l[r] > 0.f ? 1.f / l[r] : 0.f;
    uint16_t* dst = out + (b * Lq + i) * E;
    CJ_UNROLL
    for (int nt = 0; nt < Config<E>::kOutTiles; ++nt)
      store_pair(dst + 8 * nt + c_col(lane, 2 * r),
                 pack(to_bits<H>(o[nt].x[2 * r] * inv), to_bits<H>(o[nt].x[2 * r + 1] * inv)));
    if ((lane & 3) == 0) lse[b * Lq + i] = l[r] > 0.f ? st.m[r] * kLn2 + logf(l[r]) : -INFINITY;
  }
}

}  // namespace cj::flash::mma
