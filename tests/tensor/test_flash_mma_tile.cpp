// The tensor-core flash attention forward (tensor/flash_mma.hpp), replayed for every lane of every
// warp with an emulated mma.m16n8k16 and emulated quad shuffles (tests/tensor/flash_mma_emulation.hpp),
// against a naive f64 attention on the same 16-bit inputs: bf16 and f16, head dims 32 and 64, query
// and key counts that leave partial warps, blocks and key tiles (1, 15, 16, 17, 64, 70, 197, 257),
// no mask, key padding that empties whole tiles, full bool and additive masks (each with a fully
// masked query), broadcast masks, and strided q/k/v views (a packed qkv buffer, padded rows).
// The fragments themselves: test_flash_mma_fragments.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>

#include "tensor/flash_mask.hpp"
#include "tests/tensor/attention_cases.hpp"
#include "tests/tensor/flash_mma_emulation.hpp"

using namespace cj;
using namespace cj::test;
namespace fm = cj::flash::mma;

namespace {

constexpr int64_t kB = 2, kH = 2, kBt = kB * kH;

// Where q, k, v live: contiguous, or views into a packed (Bt, L, 3, E) qkv buffer (Lq = Lk) with q's
// rows padded instead when the lengths differ.
enum class Layout { contiguous, strided };

struct Operand {
  std::vector<uint16_t> storage;
  int64_t offset = 0, batch = 0, row = 0;
};

// Values in [-2, 2) rounded to H, written into `o` with the given strides; returns them as doubles.
template <typename H>
std::vector<double> fill(Operand& o, int64_t L, int E, uint64_t seed) {
  std::vector<double> vals = to_vector<double>(seeded_uniform({kBt, L, E}, seed, -2, 2, DType::f32));
  for (int64_t b = 0; b < kBt; ++b)
    for (int64_t i = 0; i < L; ++i)
      for (int e = 0; e < E; ++e) {
        const uint16_t bits = fm::to_bits<H>(float(vals[(b * L + i) * E + e]));
        o.storage[o.offset + b * o.batch + i * o.row + e] = bits;
        vals[(b * L + i) * E + e] = fm::from_bits<H>(bits);
      }
  return vals;
}

struct Reference {
  std::vector<double> out, lse, tol_out, tol_lse;
};

// Naive f64 attention on the rounded inputs, with each element's error bound for the kernel:
// the f32 scores (E products summed, possibly truncating: γ = E·2^-23, plus the roundings of the scale,
// mask, log2e and max) give each p a relative error η = 2σ + 2^-21; P rounded to 16 bits adds u
// (bf16 2^-8, f16 2^-11; f16 also loses p below 2^-14 to an absolute 2^-25); O and l are f32 sums of
// Lk terms; out is rounded once more (u·|out|). With A = Σ p|v| / l:
//   |out - ref| <= u·|ref| + (u + 2η + Lk·2^-22)·A·(1 + 2u) [+ f16: Lk·2^-25·max|v|]
//   |lse - ref| <= σ + η + Lk·2^-24 + 2^-22·(|lse| + 1)
Reference reference(const std::vector<double>& q, const std::vector<double>& k, const std::vector<double>& v, int64_t Lq,
                    int64_t Lk, int E, float scale, const flash::MaskDesc& mask, double u, bool f16) {
  Reference r;
  r.out.assign(kBt * Lq * E, 0), r.tol_out.assign(kBt * Lq * E, 0);
  r.lse.assign(kBt * Lq, 0), r.tol_lse.assign(kBt * Lq, 0);
  std::vector<double> s(Lk);
  for (int64_t b = 0; b < kBt; ++b) {
    const int64_t base = mask.batch_offset(b);
    for (int64_t i = 0; i < Lq; ++i) {
      double m = -INFINITY, worst_dot = 0, worst_s = 0, vmax = 0;
      for (int64_t j = 0; j < Lk; ++j) {
        double dot = 0, absd = 0;
        for (int e = 0; e < E; ++e) {
          dot += q[(b * Lq + i) * E + e] * k[(b * Lk + j) * E + e];
          absd += std::fabs(q[(b * Lq + i) * E + e] * k[(b * Lk + j) * E + e]);
        }
        const int64_t at = base + i * mask.stride_i + j * mask.stride_j;
        s[j] = scale * dot;
        if (mask.keep && !mask.keep[at]) s[j] = -INFINITY;
        if (mask.add) s[j] += mask.add[at];
        m = std::fmax(m, s[j]);
        worst_dot = std::fmax(worst_dot, absd);
        if (std::isfinite(s[j])) worst_s = std::fmax(worst_s, std::fabs(s[j]));
        for (int e = 0; e < E; ++e) vmax = std::fmax(vmax, std::fabs(v[(b * Lk + j) * E + e]));
      }
      const int64_t row = b * Lq + i;
      if (m == -INFINITY) {
        r.lse[row] = -INFINITY;  // out stays 0 with a zero bound: the kernel must give exactly that
        continue;
      }
      double l = 0;
      for (int64_t j = 0; j < Lk; ++j) l += std::exp(s[j] - m);
      const double sigma = scale * worst_dot * E * std::ldexp(1.0, -23) + std::ldexp(1.0, -22) * (2 * worst_s + 1);
      const double eta = 2 * sigma + std::ldexp(1.0, -21);
      r.lse[row] = m + std::log(l);
      r.tol_lse[row] = sigma + eta + double(Lk) * std::ldexp(1.0, -24) + std::ldexp(1.0, -22) * (std::fabs(r.lse[row]) + 1);
      for (int e = 0; e < E; ++e) {
        double o = 0, A = 0;
        for (int64_t j = 0; j < Lk; ++j) {
          const double p = std::exp(s[j] - m);
          o += p * v[(b * Lk + j) * E + e];
          A += p * std::fabs(v[(b * Lk + j) * E + e]);
        }
        o /= l, A /= l;
        r.out[row * E + e] = o;
        r.tol_out[row * E + e] = u * std::fabs(o) + (u + 2 * eta + double(Lk) * std::ldexp(1.0, -22)) * A * (1 + 2 * u) +
                                 (f16 ? double(Lk) * std::ldexp(1.0, -25) * vmax : 0.0);
      }
    }
  }
  return r;
}

struct Worst {
  double ratio = 0, normalized = 0;  // max |err| / bound, and max |err| / max |ref|
};

template <typename H, int E>
Worst check(int64_t Lq, int64_t Lk, MaskKind kind, Layout layout) {
  const bool packed = layout == Layout::strided && Lq == Lk;
  const std::string what = std::string(std::is_same_v<H, fm::Bf16> ? "bf16" : "f16") + " E=" + std::to_string(E) +
                           " Lq=" + std::to_string(Lq) + " Lk=" + std::to_string(Lk) + " " + mask_name(kind) +
                           (layout == Layout::strided ? (packed ? " packed qkv" : " padded rows") : "");
  Operand q, k, v;
  if (packed) {  // one (Bt, L, 3, E) buffer: q, k, v at offsets 0, E, 2E, row stride 3E
    q.storage.assign(kBt * Lq * 3 * E, 0);
    q.batch = Lq * 3 * E, q.row = 3 * E;
    k = v = q;
    k.offset = E, v.offset = 2 * E;
  } else {
    const int64_t pad = layout == Layout::strided ? 24 : 0, gap = layout == Layout::strided ? 8 : 0;
    for (auto [o, L] : {std::pair{&q, Lq}, {&k, Lk}, {&v, Lk}}) {
      o->row = E + pad, o->batch = L * (E + pad) + gap;
      o->storage.assign(kBt * o->batch, 0);
    }
  }
  const std::vector<double> qv = fill<H>(q, Lq, E, 11);
  if (packed) k.storage = q.storage;  // packed: each fill adds its part to the one buffer
  const std::vector<double> kv = fill<H>(k, Lk, E, 12);
  if (packed) v.storage = k.storage;
  const std::vector<double> vv = fill<H>(v, Lk, E, 13);
  if (packed) q.storage = k.storage = v.storage;

  const Tensor mask = attention_mask_any_length(kind, kB, kH, Lq, Lk);
  fm::Args a{};
  a.q = q.storage.data() + q.offset, a.k = k.storage.data() + k.offset, a.v = v.storage.data() + v.offset;
  a.q_batch = q.batch, a.q_row = q.row, a.k_batch = k.batch, a.k_row = k.row, a.v_batch = v.batch, a.v_row = v.row;
  a.Lq = Lq, a.Lk = Lk, a.scale = float(1 / std::sqrt(double(E)));
  if (mask.defined()) a.mask = flash::make_mask_desc(mask, {kB, kH}, Lq, Lk, "test");

  std::vector<uint16_t> out(kBt * Lq * E, 0xffff);
  std::vector<float> lse(kBt * Lq, NAN);
  flash_mma_emu::forward<H, E>(a, kBt, out.data(), lse.data());

  const bool is_f16 = std::is_same_v<H, fm::F16>;
  const Reference ref = reference(qv, kv, vv, Lq, Lk, E, a.scale, a.mask, std::ldexp(1.0, is_f16 ? -11 : -8), is_f16);
  Worst w;
  double worst_abs = 0, ref_max = 0;
  for (size_t n = 0; n < out.size(); ++n) {
    const double got = fm::from_bits<H>(out[n]), err = std::fabs(got - ref.out[n]);
    if (!(err <= ref.tol_out[n])) {
      ADD_FAILURE() << what << ": out[" << n << "] = " << got << ", want " << ref.out[n] << " within " << ref.tol_out[n];
      return w;
    }
    if (ref.tol_out[n] > 0) w.ratio = std::fmax(w.ratio, err / ref.tol_out[n]);
    worst_abs = std::fmax(worst_abs, err);
    ref_max = std::fmax(ref_max, std::fabs(ref.out[n]));
  }
  for (size_t n = 0; n < lse.size(); ++n) {
    if (ref.lse[n] == -INFINITY) {
      EXPECT_EQ(lse[n], -INFINITY) << what << ": lse of fully masked query " << n;
      continue;
    }
    const double err = std::fabs(lse[n] - ref.lse[n]);
    EXPECT_LE(err, ref.tol_lse[n]) << what << ": lse[" << n << "] = " << lse[n] << ", want " << ref.lse[n];
    w.ratio = std::fmax(w.ratio, err / ref.tol_lse[n]);
  }
  w.normalized = ref_max > 0 ? worst_abs / ref_max : worst_abs;
  EXPECT_LE(w.normalized, 1e-2) << what;  // the GPU suite's 16-bit tolerance on the normalised error
  return w;
}

template <typename H, int E>
Worst check_all() {
  Worst w;
  auto note = [&w](Worst x) {
    w.ratio = std::fmax(w.ratio, x.ratio);
    w.normalized = std::fmax(w.normalized, x.normalized);
  };
  // partial warps (Lq 1, 15, 17), partial blocks (70), partial key tiles (1, 15, 17, 65, 75, 197, 257)
  const std::pair<int64_t, int64_t> small[] = {{1, 1}, {1, 17}, {15, 16}, {16, 15}, {17, 64}, {64, 65}};
  for (auto [Lq, Lk] : small)
    for (MaskKind kind : {MaskKind::none, MaskKind::key_padding, MaskKind::additive})
      note(check<H, E>(Lq, Lk, kind, Layout::contiguous));
  for (MaskKind kind : kAllMasks) {
    note(check<H, E>(70, 75, kind, Layout::contiguous));
    note(check<H, E>(17, 197, kind, Layout::strided));   // slots over patches, padded rows
    note(check<H, E>(197, 197, kind, Layout::strided));  // DINOv2's 197 tokens from a packed qkv buffer
  }
  note(check<H, E>(257, 257, MaskKind::key_padding, Layout::contiguous));
  return w;
}

template <typename H, int E>
void report(const char* name) {
  const Worst w = check_all<H, E>();
  std::printf("[flash mma] %s E=%d: worst error / bound %.3f, worst normalised error %.2e\n", name, E, w.ratio,
              w.normalized);
}

TEST(FlashMmaTile, MatchesNaiveAttentionInBf16) {
  report<fm::Bf16, 32>("bf16");
  report<fm::Bf16, 64>("bf16");
}

TEST(FlashMmaTile, MatchesNaiveAttentionInF16) {
  report<fm::F16, 32>("f16");
  report<fm::F16, 64>("f16");
}

// A query whose keys are all masked: out exactly 0 and lse -inf (query 5 of the first entry under the
// full bool and the additive masks; checked by the bound above, which is 0 there, and spelled out here).
TEST(FlashMmaTile, AFullyMaskedQueryGivesZeroAndMinusInfinity) {
  for (MaskKind kind : {MaskKind::full_bool, MaskKind::additive}) {
    constexpr int E = 32;
    constexpr int64_t Lq = 20, Lk = 70;
    Operand q, k, v;
    for (auto [o, L] : {std::pair{&q, Lq}, {&k, Lk}, {&v, Lk}}) {
      o->row = E, o->batch = L * E;
      o->storage.assign(kBt * L * E, 0);
    }
    fill<fm::Bf16>(q, Lq, E, 1);
    fill<fm::Bf16>(k, Lk, E, 2);
    fill<fm::Bf16>(v, Lk, E, 3);
    const Tensor mask = make_attention_mask(kind, kB, kH, Lq, Lk);
    fm::Args a{};
    a.q = q.storage.data(), a.k = k.storage.data(), a.v = v.storage.data();
    a.q_batch = q.batch, a.q_row = q.row, a.k_batch = k.batch, a.k_row = k.row, a.v_batch = v.batch, a.v_row = v.row;
    a.Lq = Lq, a.Lk = Lk, a.scale = 0.2f;
    a.mask = flash::make_mask_desc(mask, {kB, kH}, Lq, Lk, "test");
    std::vector<uint16_t> out(kBt * Lq * E, 0xffff);
    std::vector<float> lse(kBt * Lq, NAN);
    flash_mma_emu::forward<fm::Bf16, E>(a, kBt, out.data(), lse.data());
    EXPECT_EQ(lse[5], -INFINITY) << mask_name(kind);
    for (int e = 0; e < E; ++e) EXPECT_EQ(out[5 * E + e], 0) << mask_name(kind);
    EXPECT_TRUE(std::isfinite(lse[4]) && std::isfinite(lse[6])) << mask_name(kind);
  }
}

}  // namespace
