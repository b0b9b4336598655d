#pragma once
// The tensor-core flash attention forward (cuda/flash_attention_mma.cu) replayed on the CPU: the
// same blocks, warps and 32 lanes, the same double-buffered shared-memory tiles filled by the same
// per-thread calls, the same calls into tensor/flash_mma.hpp in the same order. The warp-wide operations are
// emulated across the 32 simulated lanes: mma.m16n8k16 (gathers the lanes' fragments into matrices
// by the PTX layouts, multiplies in f32, scatters D back by the C layout), ldmatrix.x4 (.trans) and
// the quad shuffles (every lane reads its partner's old value, then all update).
#include <algorithm>
#include <array>
#include <vector>

#include "tensor/flash_mma.hpp"

namespace cj::test::flash_mma_emu {

using namespace cj::flash::mma;

// D = A·B + D for one warp: d[lane], a[lane], b[lane] are the lanes' fragments. Inputs are exact
// 16-bit values, so each product is exact in f32; the sums run in f32 over k = 0..15 (the hardware's
// order and rounding of that sum are its own: the tests' bounds allow for any order).
template <typename H>
void mma_m16n8k16(const std::array<FragC*, kLanes>& d, const std::array<const FragA*, kLanes>& a,
                  const std::array<FragB, kLanes>& b) {
  float A[16][16], B[16][8], C[16][8];
  for (int lane = 0; lane < kLanes; ++lane) {
    for (int i = 0; i < 8; ++i) A[a_row(lane, i)][a_col(lane, i)] = from_bits<H>(half_of(a[lane]->x[i >> 1], i & 1));
    for (int i = 0; i < 4; ++i) B[b_k(lane, i)][b_n(lane, i)] = from_bits<H>(half_of(b[lane].x[i >> 1], i & 1));
    for (int i = 0; i < 4; ++i) C[c_row(lane, i)][c_col(lane, i)] = d[lane]->x[i];
  }
  for (int lane = 0; lane < kLanes; ++lane)
    for (int i = 0; i < 4; ++i) {
      const int m = c_row(lane, i), n = c_col(lane, i);
      float acc = C[m][n];
      for (int k = 0; k < 16; ++k) acc += A[m][k] * B[k][n];
      d[lane]->x[i] = acc;
    }
}

// ldmatrix.sync.aligned.m8n8.x4[.trans].shared.b16 for one warp: row[lane] is the address lane gives
// (row lane%8 of matrix lane/8); r[lane][m] gets, of matrix m, the pair (row lane/4, cols 2(lane%4),
// +1), or with .trans (rows 2(lane%4), +1; col lane/4), the lower index in the lower half.
template <bool kTrans>
void ldmatrix_x4(std::array<std::array<uint32_t, 4>, kLanes>& r, const std::array<const uint16_t*, kLanes>& row) {
  for (int lane = 0; lane < kLanes; ++lane)
    for (int m = 0; m < 4; ++m) {
      const int g = lane >> 2, t = lane & 3;
      r[lane][m] = kTrans ? pack(row[8 * m + 2 * t][g], row[8 * m + 2 * t + 1][g])
                          : pack(row[8 * m + g][2 * t], row[8 * m + g][2 * t + 1]);
    }
}

// x[lane] = combine(x[lane], x[lane ^ off]) for off = 1, 2: the kernel's two __shfl_xor_sync steps.
template <typename F>
void quad_reduce(std::array<float, kLanes>& x, F combine) {
  for (int off = 1; off < 4; off <<= 1) {
    const std::array<float, kLanes> old = x;
    for (int lane = 0; lane < kLanes; ++lane) x[lane] = combine(old[lane], old[lane ^ off]);
  }
}

// One lane's registers in the kernel.
template <int E>
struct LaneRegs {
  FragA qa[Config<E>::kSteps];
  RowStats st;
  FragC o[Config<E>::kOutTiles];
  FragC s[kScoreTiles];
  float row_max[2];
};

// out: (Bt, Lq, E) 16-bit bits, lse: (Bt, Lq), both written by the replay.
template <typename H, int E>
void forward(const Args& a, int64_t Bt, uint16_t* out, float* lse) {
  using C = Config<E>;
  std::vector<uint16_t> tiles[2][2];  // [buffer][K, V], tile t in buffer t % 2 as in the kernel
  // a buffer turns to NaN bits before it is refilled (stale shared memory could hold anything), so
  // that a missed zero fill shows
  auto load = [&](int buffer, int64_t b, int64_t j0) {
    for (auto& tile : tiles[buffer]) tile.assign(C::kTile, uint16_t(0xffff));
    for (int t = 0; t < kThreads; ++t) load_kv_tiles<E>(tiles[buffer][0].data(), tiles[buffer][1].data(), a, b, j0, t);
  };
  using Warp = std::array<LaneRegs<E>, kLanes>;
  for (int64_t block = 0; block < Bt * blocks_per_entry(a.Lq); ++block) {
    std::vector<Warp> warps(kWarps);
    std::vector<WarpPlace> place(kWarps);
    for (int w = 0; w < kWarps; ++w) {
      place[w] = warp_place(block, w, a.Lq);
      for (int lane = 0; lane < kLanes; ++lane) {
        load_q<E>(warps[w][lane].qa, a, place[w].b, place[w].row0, lane);
        init<E>(warps[w][lane].st, warps[w][lane].o);
      }
    }
    const int64_t b = place[0].b, mask_base = a.mask.batch_offset(b);
    load(0, b, 0);
    for (int64_t j0 = 0, tile = 0; j0 < a.Lk; j0 += kKeys, ++tile) {
      if (j0 + kKeys < a.Lk) load((tile + 1) & 1, b, j0 + kKeys);
      const uint16_t* k_s = tiles[tile & 1][0].data();
      const uint16_t* v_s = tiles[tile & 1][1].data();
      const int count = tile_count(a.Lk, j0);
      for (int w = 0; w < kWarps; ++w) {
        if (place[w].row0 >= a.Lq) continue;  // the kernel's idle warps only load tiles
        Warp& L = warps[w];
        std::array<FragC*, kLanes> d;
        std::array<const FragA*, kLanes> fa;
        std::array<FragB, kLanes> fb;
        std::array<const uint16_t*, kLanes> rows;
        std::array<std::array<uint32_t, 4>, kLanes> regs;
        // D += A·B with B = registers {2h, 2h + 1} of the last ldmatrix, for every lane
        auto mma_with = [&](int h, auto&& acc, auto&& a_frag) {
          for (int lane = 0; lane < kLanes; ++lane) {
            d[lane] = &acc(lane);
            fa[lane] = &a_frag(lane);
            fb[lane] = FragB{{regs[lane][2 * h], regs[lane][2 * h + 1]}};
          }
          mma_m16n8k16<H>(d, fa, fb);
        };
        for (int nt = 0; nt < kScoreTiles; ++nt) {
          for (int lane = 0; lane < kLanes; ++lane) L[lane].s[nt] = FragC{{0.f, 0.f, 0.f, 0.f}};
          if (!score_tile_live(nt, count)) continue;
          for (int ks = 0; ks < C::kSteps; ks += 2) {
            for (int lane = 0; lane < kLanes; ++lane) rows[lane] = k_ldmatrix_row<E>(k_s, lane, nt, ks);
            ldmatrix_x4<false>(regs, rows);
            for (int h = 0; h < 2; ++h)
              mma_with(h, [&](int lane) -> FragC& { return L[lane].s[nt]; },
                       [&](int lane) -> const FragA& { return L[lane].qa[ks + h]; });
          }
        }
        for (int lane = 0; lane < kLanes; ++lane)
          a.masked() ? scale_and_mask<true>(L[lane].s, L[lane].row_max, a, mask_base, place[w].row0, j0, count, lane)
                     : scale_and_mask<false>(L[lane].s, L[lane].row_max, a, mask_base, place[w].row0, j0, count, lane);
        for (int r = 0; r < 2; ++r) {
          std::array<float, kLanes> x;
          for (int lane = 0; lane < kLanes; ++lane) x[lane] = L[lane].row_max[r];
          quad_reduce(x, combine_max);
          for (int lane = 0; lane < kLanes; ++lane) L[lane].row_max[r] = x[lane];
        }
        for (int lane = 0; lane < kLanes; ++lane) online_update<E>(L[lane].st, L[lane].s, L[lane].o, L[lane].row_max);
        std::array<FragA, kLanes> pa;
        for (int kk = 0; kk < kKeySteps; ++kk) {
          if (!key_step_live(kk, count)) continue;
          for (int lane = 0; lane < kLanes; ++lane) pa[lane] = p_fragment<H>(L[lane].s, kk);
          for (int nt = 0; nt < C::kOutTiles; nt += 2) {
            for (int lane = 0; lane < kLanes; ++lane) rows[lane] = v_ldmatrix_row<E>(v_s, lane, kk, nt);
            ldmatrix_x4<true>(regs, rows);
            for (int h = 0; h < 2; ++h)
              mma_with(h, [&](int lane) -> FragC& { return L[lane].o[nt + h]; },
                       [&](int lane) -> const FragA& { return pa[lane]; });
          }
        }
      }
    }
    for (int w = 0; w < kWarps; ++w) {
      std::array<float, kLanes> l[2];
      for (int r = 0; r < 2; ++r) {
        for (int lane = 0; lane < kLanes; ++lane) l[r][lane] = warps[w][lane].st.l[r];
        quad_reduce(l[r], combine_sum);
      }
      for (int lane = 0; lane < kLanes; ++lane) {
        const float total[2] = {l[0][lane], l[1][lane]};
        finish<H, E>(warps[w][lane].st, total, warps[w][lane].o, out, lse, place[w].b, place[w].row0, a.Lq, lane);
      }
    }
  }
}

}  // namespace cj::test::flash_mma_emu
