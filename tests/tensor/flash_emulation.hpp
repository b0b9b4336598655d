#pragma once
// The flash attention kernels of cuda/flash_attention.cu replayed on the CPU: the same blocks,
// threads, lanes, shared-memory tiles (same sizes and strides, filled in the same layout), the same
// calls into tensor/flash_tile.hpp in the same order, the same lane merges as the shuffles do, and
// the same rounding of the results to the storage dtype. Only the thread scheduling is sequential,
// which cannot change a result: threads share nothing but read-only tiles.
#include <algorithm>
#include <type_traits>
#include <vector>

#include "tensor/dispatch.hpp"
#include "tensor/flash_tile.hpp"

namespace cj::test::flash_emu {

// Every operand widened to f32 exactly as the kernels load them; q: (Bt, Lq, E), k, v: (Bt, Lk, E),
// out, gout: (Bt, Lq, E), lse: (Bt, Lq).
struct Problem {
  int64_t Bt = 0, Lq = 0, Lk = 0;
  float scale = 1.f;
  std::vector<float> q, k, v, out, gout, lse;
  flash::MaskDesc mask;
};

// One thread's register array.
template <int E>
struct Regs {
  float v[E] = {};
};

template <typename T>
float round_to(float x) {
  return float(cast_value<T>(x));
}

// Rows [j0, j0 + count) of a (L, E) matrix into a (rows, S) tile, as the kernels' cooperative loads.
template <int E, int S>
void load_tile(std::vector<float>& tile, const float* rows, int64_t j0, int count) {
  for (int idx = 0; idx < count * E; ++idx) tile[(idx / E) * S + idx % E] = rows[(j0 + idx / E) * E + idx % E];
}

// K and V rows [j0, j0 + count) of batch entry b into their tiles, as the kernels' load_kv_tiles.
template <typename C>
void load_kv_tiles(std::vector<float>& kt, std::vector<float>& vt, const Problem& p, int64_t b, int64_t j0, int count) {
  kt.resize(C::kKeys * C::kStride);
  vt.resize(C::kKeys * C::kStride);
  load_tile<C::E, C::kStride>(kt, p.k.data() + b * p.Lk * C::E, j0, count);
  load_tile<C::E, C::kStride>(vt, p.v.data() + b * p.Lk * C::E, j0, count);
}

// For every key tile of batch entry b (loaded into kt, vt): f(t, i, j0, count) for each thread t of the
// block at query row i0 whose row i exists, as the kernels' tile loops.
template <typename C, typename F>
void over_key_tiles(const Problem& p, int64_t b, int64_t i0, std::vector<float>& kt, std::vector<float>& vt, F&& f) {
  for (int64_t j0 = 0; j0 < p.Lk; j0 += C::kKeys) {
    const int count = int(std::min<int64_t>(C::kKeys, p.Lk - j0));
    load_kv_tiles<C>(kt, vt, p, b, j0, count);
    for (int t = 0; t < C::kThreads; ++t) {
      const int64_t i = i0 + t / C::G;
      if (i < p.Lq) f(t, i, j0, count);
    }
  }
}

// f(b, mask_base, i0) for every block of a RowConfig grid (batch entry b, first query row i0).
template <typename C, typename F>
void for_each_row_block(const Problem& p, F&& f) {
  for (int64_t b = 0; b < p.Bt; ++b)
    for (int64_t i0 = 0; i0 < p.Lq; i0 += C::kRows) f(b, p.mask.batch_offset(b), i0);
}

// -> out (Bt, Lq, E) rounded to T, lse (Bt, Lq)
template <typename T, int E, int G>
void forward(const Problem& p, std::vector<float>& out, std::vector<float>& lse) {
  using C = flash::RowConfig<E, G>;
  out.assign(p.Bt * p.Lq * E, 0.f);
  lse.assign(p.Bt * p.Lq, 0.f);
  std::vector<float> kt, vt;
  for_each_row_block<C>(p, [&](int64_t b, int64_t base, int64_t i0) {
    std::vector<flash::RowState<E>> st(C::kThreads);
    std::vector<Regs<E>> q(C::kThreads);
    for (int t = 0; t < C::kThreads; ++t) {
      flash::init(st[t]);
      const int64_t i = i0 + t / G;
      for (int e = 0; e < E; ++e) q[t].v[e] = i < p.Lq ? p.q[(b * p.Lq + i) * E + e] : 0.f;
    }
    over_key_tiles<C>(p, b, i0, kt, vt, [&](int t, int64_t i, int64_t j0, int count) {
      flash::forward_tile<E, C::kPerLane, C::kStride>(st[t], q[t].v, kt.data(), vt.data(), count, t % G, G, p.scale,
                                                      p.mask, base, i, j0);
    });
    for (int off = 1; off < G; off <<= 1) {  // the butterfly of shuffles: partner = lane ^ off
      std::vector<flash::RowState<E>> next(C::kThreads);
      for (int t = 0; t < C::kThreads; ++t)
        next[t] = (t & off) ? flash::merge(st[t ^ off], st[t]) : flash::merge(st[t], st[t ^ off]);
      st = next;
    }
    for (int t = 0; t < C::kThreads; t += G) {
      const int64_t i = i0 + t / G;
      if (i >= p.Lq) continue;
      float o[E];
      lse[b * p.Lq + i] = flash::finish(st[t], o);
      for (int e = 0; e < E; ++e) out[(b * p.Lq + i) * E + e] = round_to<T>(o[e]);
    }
  });
}

// The dQ kernel (it also writes D_i for the dK/dV kernel) -> gq rounded to T, D.
template <typename T, int E, int G>
void backward_dq(const Problem& p, std::vector<float>& gq, std::vector<float>& D) {
  using C = flash::RowConfig<E, G>;
  gq.assign(p.Bt * p.Lq * E, 0.f);
  D.assign(p.Bt * p.Lq, 0.f);
  std::vector<float> kt, vt;
  for_each_row_block<C>(p, [&](int64_t b, int64_t base, int64_t i0) {
    std::vector<Regs<E>> q(C::kThreads), go(C::kThreads), dq(C::kThreads);
    std::vector<float> d(C::kThreads, 0.f), l(C::kThreads, 0.f);
    for (int t = 0; t < C::kThreads; ++t) {
      const int64_t i = i0 + t / G;
      if (i >= p.Lq) continue;
      for (int e = 0; e < E; ++e) {
        q[t].v[e] = p.q[(b * p.Lq + i) * E + e];
        go[t].v[e] = p.gout[(b * p.Lq + i) * E + e];
      }
      if (std::is_same_v<T, float>) d[t] = flash::dot<E>(go[t].v, p.out.data() + (b * p.Lq + i) * E);
      l[t] = p.lse[b * p.Lq + i];
    }
    if (!std::is_same_v<T, float>) {  // D from P and dP: a first pass over the key tiles, then the lane sums
      over_key_tiles<C>(p, b, i0, kt, vt, [&](int t, int64_t i, int64_t j0, int count) {
        d[t] += flash::d_tile<E, C::kPerLane, C::kStride>(q[t].v, go[t].v, l[t], kt.data(), vt.data(), count, t % G, G,
                                                          p.scale, p.mask, base, i, j0);
      });
      for (int off = 1; off < G; off <<= 1) {
        std::vector<float> next(C::kThreads);
        for (int t = 0; t < C::kThreads; ++t) next[t] = (t & off) ? d[t ^ off] + d[t] : d[t] + d[t ^ off];
        d = next;
      }
    }
    over_key_tiles<C>(p, b, i0, kt, vt, [&](int t, int64_t i, int64_t j0, int count) {
      flash::dq_tile<E, C::kPerLane, C::kStride>(dq[t].v, q[t].v, go[t].v, l[t], d[t], kt.data(), vt.data(), count,
                                                 t % G, G, p.scale, p.mask, base, i, j0);
    });
    for (int off = 1; off < G; off <<= 1) {  // lower + upper, as the kernel's shuffle sums
      auto next = dq;
      for (int t = 0; t < C::kThreads; ++t)
        for (int e = 0; e < E; ++e)
          next[t].v[e] = (t & off) ? dq[t ^ off].v[e] + dq[t].v[e] : dq[t].v[e] + dq[t ^ off].v[e];
      dq = next;
    }
    for (int t = 0; t < C::kThreads; t += G) {
      const int64_t i = i0 + t / G;
      if (i >= p.Lq) continue;
      for (int e = 0; e < E; ++e) gq[(b * p.Lq + i) * E + e] = round_to<T>(dq[t].v[e] * p.scale);
      D[b * p.Lq + i] = d[t];
    }
  });
}

// The dK/dV kernel, given D from backward_dq -> gk, gv rounded to T.
template <typename T, int E>
void backward_dkv(const Problem& p, const std::vector<float>& D, std::vector<float>& gk, std::vector<float>& gv) {
  using C = flash::KeyConfig<E>;
  gk.assign(p.Bt * p.Lk * E, 0.f);
  gv.assign(p.Bt * p.Lk * E, 0.f);
  std::vector<float> qt(C::kQueries * E), gt(C::kQueries * E), lt(C::kQueries), dt(C::kQueries);
  for (int64_t b = 0; b < p.Bt; ++b) {
    const int64_t base = p.mask.batch_offset(b);
    for (int64_t j0 = 0; j0 < p.Lk; j0 += C::kKeys) {
      std::vector<Regs<E>> own(C::kThreads), acc(C::kThreads);
      for (int t = 0; t < C::kThreads; ++t) {
        const int64_t j = j0 + t / 2;
        if (j < p.Lk)
          for (int e = 0; e < E; ++e) own[t].v[e] = (t % 2 == 0 ? p.k : p.v)[(b * p.Lk + j) * E + e];
      }
      for (int64_t i0 = 0; i0 < p.Lq; i0 += C::kQueries) {
        const int count = int(std::min<int64_t>(C::kQueries, p.Lq - i0));
        load_tile<E, E>(qt, p.q.data() + b * p.Lq * E, i0, count);
        load_tile<E, E>(gt, p.gout.data() + b * p.Lq * E, i0, count);
        for (int r = 0; r < count; ++r) {
          lt[r] = p.lse[b * p.Lq + i0 + r];
          dt[r] = D[b * p.Lq + i0 + r];
        }
        for (int r = 0; r < count; ++r) {
          float value[C::kThreads];
          for (int t = 0; t < C::kThreads; ++t) {
            const int lane = t % 2;
            const int64_t j = std::min<int64_t>(j0 + t / 2, p.Lk - 1);  // the kernel clamps idle keys' mask reads
            const float* x = (lane == 0 ? qt : gt).data() + r * E;
            value[t] = flash::kv_lane_value(lane, flash::dot<E>(own[t].v, x), p.scale, lt[r], p.mask, base, i0 + r, j);
          }
          for (int t = 0; t < C::kThreads; ++t) {
            const int lane = t % 2;
            const float* x = (lane == 0 ? qt : gt).data() + r * E;
            flash::kv_accumulate<E>(lane, acc[t].v, x, value[t], value[t ^ 1], dt[r]);
          }
        }
      }
      for (int t = 0; t < C::kThreads; ++t) {
        const int64_t j = j0 + t / 2;
        if (j >= p.Lk) continue;
        for (int e = 0; e < E; ++e) {
          if (t % 2 == 0)
            gk[(b * p.Lk + j) * E + e] = round_to<T>(acc[t].v[e] * p.scale);
          else
            gv[(b * p.Lk + j) * E + e] = round_to<T>(acc[t].v[e]);
        }
      }
    }
  }
}

}  // namespace cj::test::flash_emu
