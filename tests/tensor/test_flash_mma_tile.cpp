// The tensor-core flash attention forward (tensor/flash_mma.hpp), replayed for every lane of every
// warp with an emulated mma.m16n8k16 and emulated quad shuffles (tests/tensor/flash_mma_emulation.hpp),
// against a naive f64 attention on the same 16-bit inputs: bf16 and f16, head dims 32 and 64, query
// and key counts that leave partial warps, blocks and key tiles (1, 15, 16, 17, 64, 70, 197, 257),
// no mask, key padding that empties whole tiles, full bool and additive masks (each with a fully
// masked query), broadcast masks, and strided q/k/v views (a packed qkv buffer, padded rows).
// Also: the fragment layouts are bijections onto their tiles, the P fragment reads the score
// element of its own row and key, the emulated mma is a matrix product, the ldmatrix row addresses
// give the B fragments of the layout, and their reads are free of bank conflicts.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <set>
#include <string>

#include "tensor/flash_mask.hpp"
#include "tests/tensor/attention_cases.hpp"
#include "tests/tensor/flash_mma_emulation.hpp"

using namespace cj;
using namespace cj::test;
namespace fm = cj::flash::mma;

namespace {

// ---- layouts ------------------------------------------------------------------------------------
TEST(FlashMmaTile, FragmentLayoutsCoverEveryElementOnce) {
  int A[16][16] = {}, B[16][8] = {}, C[16][8] = {};
  for (int lane = 0; lane < fm::kLanes; ++lane) {
    for (int i = 0; i < 8; ++i) ++A[fm::a_row(lane, i)][fm::a_col(lane, i)];
    for (int i = 0; i < 4; ++i) ++B[fm::b_k(lane, i)][fm::b_n(lane, i)];
    for (int i = 0; i < 4; ++i) ++C[fm::c_row(lane, i)][fm::c_col(lane, i)];
  }
  for (int r = 0; r < 16; ++r) {
    for (int c = 0; c < 16; ++c) EXPECT_EQ(A[r][c], 1) << "A " << r << "," << c;
    for (int c = 0; c < 8; ++c) EXPECT_EQ(B[r][c], 1) << "B " << r << "," << c;
    for (int c = 0; c < 8; ++c) EXPECT_EQ(C[r][c], 1) << "C " << r << "," << c;
  }
}

// A register's two halves are neighbours in memory (one 32-bit load or store), and the A fragment of
// P (keys 16kk..) reads, from the score n-tile 2kk + tile_of_a(i), the C element of the same row and key.
TEST(FlashMmaTile, PairsAreAdjacentAndTheScoreFragmentIsThePFragment) {
  for (int lane = 0; lane < fm::kLanes; ++lane) {
    for (int r = 0; r < 4; ++r) {
      EXPECT_EQ(fm::a_row(lane, 2 * r), fm::a_row(lane, 2 * r + 1));
      EXPECT_EQ(fm::a_col(lane, 2 * r) + 1, fm::a_col(lane, 2 * r + 1));
    }
    for (int r = 0; r < 2; ++r) {
      EXPECT_EQ(fm::b_n(lane, 2 * r), fm::b_n(lane, 2 * r + 1));
      EXPECT_EQ(fm::b_k(lane, 2 * r) + 1, fm::b_k(lane, 2 * r + 1));
      EXPECT_EQ(fm::c_row(lane, 2 * r), fm::c_row(lane, 2 * r + 1));
      EXPECT_EQ(fm::c_col(lane, 2 * r) + 1, fm::c_col(lane, 2 * r + 1));
    }
    for (int i = 0; i < 8; ++i) {
      EXPECT_EQ(fm::c_row(lane, fm::c_of_a(i)), fm::a_row(lane, i)) << lane << " " << i;
      EXPECT_EQ(8 * fm::tile_of_a(i) + fm::c_col(lane, fm::c_of_a(i)), fm::a_col(lane, i)) << lane << " " << i;
    }
  }
}

// The emulated mma against the matrix product of the matrices its fragments were cut from.
template <typename H>
void check_emulated_mma() {
  float A[16][16], B[16][8], C[16][8];
  for (int r = 0; r < 16; ++r)
    for (int c = 0; c < 16; ++c) {
      A[r][c] = fm::from_bits<H>(fm::to_bits<H>(std::sin(0.7f * float(r * 16 + c))));
      if (c < 8) {
        B[r][c] = fm::from_bits<H>(fm::to_bits<H>(std::cos(0.3f * float(r * 8 + c))));
        C[r][c] = 0.25f * float(r - c);
      }
    }
  std::array<fm::FragA, fm::kLanes> a;
  std::array<fm::FragB, fm::kLanes> b;
  std::array<fm::FragC, fm::kLanes> c;
  std::array<fm::FragC*, fm::kLanes> d;
  std::array<const fm::FragA*, fm::kLanes> pa;
  for (int lane = 0; lane < fm::kLanes; ++lane) {
    for (int r = 0; r < 4; ++r)
      a[lane].x[r] = fm::pack(fm::to_bits<H>(A[fm::a_row(lane, 2 * r)][fm::a_col(lane, 2 * r)]),
                              fm::to_bits<H>(A[fm::a_row(lane, 2 * r + 1)][fm::a_col(lane, 2 * r + 1)]));
    for (int r = 0; r < 2; ++r)
      b[lane].x[r] = fm::pack(fm::to_bits<H>(B[fm::b_k(lane, 2 * r)][fm::b_n(lane, 2 * r)]),
                              fm::to_bits<H>(B[fm::b_k(lane, 2 * r + 1)][fm::b_n(lane, 2 * r + 1)]));
    for (int i = 0; i < 4; ++i) c[lane].x[i] = C[fm::c_row(lane, i)][fm::c_col(lane, i)];
    d[lane] = &c[lane];
    pa[lane] = &a[lane];
  }
  flash_mma_emu::mma_m16n8k16<H>(d, pa, b);
  for (int lane = 0; lane < fm::kLanes; ++lane)
    for (int i = 0; i < 4; ++i) {
      const int m = fm::c_row(lane, i), n = fm::c_col(lane, i);
      double want = C[m][n];
      for (int k = 0; k < 16; ++k) want += double(A[m][k]) * B[k][n];
      EXPECT_NEAR(c[lane].x[i], want, 1e-5) << m << "," << n;
    }
}

TEST(FlashMmaTile, TheEmulatedMmaIsAMatrixProduct) {
  check_emulated_mma<fm::Bf16>();
  check_emulated_mma<fm::F16>();
}

// The B fragments that ldmatrix gives from the row addresses of k_ldmatrix_row / v_ldmatrix_row are
// those of the B layout: for Kᵀ, b_i of (nt, ks) is K[8nt + n][16ks + k]; for V, b_i of (kk, nt) is
// V[16kk + k][8nt + n], with (k, n) = (b_k, b_n)(lane, i). Registers {0, 1} are the first fragment,
// {2, 3} the second (k-step ks + 1, or n-tile nt + 1).
template <int E>
void check_ldmatrix_fragments() {
  using C = fm::Config<E>;
  std::vector<uint16_t> tile(C::kTile);
  for (size_t n = 0; n < tile.size(); ++n) tile[n] = uint16_t(n * 7 + 3);  // distinct values
  auto at = [&](int row, int col) { return tile[row * C::kStride + col]; };
  std::array<const uint16_t*, fm::kLanes> rows;
  std::array<std::array<uint32_t, 4>, fm::kLanes> regs;
  auto expect_fragment = [&](int lane, int first, auto&& element, const std::string& what) {
    for (int i = 0; i < 4; ++i)
      EXPECT_EQ(fm::half_of(regs[lane][first + i / 2], i & 1), element(fm::b_k(lane, i), fm::b_n(lane, i)))
          << what << " lane " << lane << " b" << i;
  };
  for (int nt = 0; nt < fm::kScoreTiles; ++nt)
    for (int ks = 0; ks < C::kSteps; ks += 2) {
      for (int lane = 0; lane < fm::kLanes; ++lane) rows[lane] = fm::k_ldmatrix_row<E>(tile.data(), lane, nt, ks);
      flash_mma_emu::ldmatrix_x4<false>(regs, rows);
      for (int lane = 0; lane < fm::kLanes; ++lane)
        for (int h = 0; h < 2; ++h)
          expect_fragment(lane, 2 * h, [&](int k, int n) { return at(8 * nt + n, 16 * (ks + h) + k); },
                          "K E=" + std::to_string(E) + " nt " + std::to_string(nt) + " ks " + std::to_string(ks + h));
    }
  for (int kk = 0; kk < fm::kKeySteps; ++kk)
    for (int nt = 0; nt < C::kOutTiles; nt += 2) {
      for (int lane = 0; lane < fm::kLanes; ++lane) rows[lane] = fm::v_ldmatrix_row<E>(tile.data(), lane, kk, nt);
      flash_mma_emu::ldmatrix_x4<true>(regs, rows);
      for (int lane = 0; lane < fm::kLanes; ++lane)
        for (int h = 0; h < 2; ++h)
          expect_fragment(lane, 2 * h, [&](int k, int n) { return at(16 * kk + k, 8 * (nt + h) + n); },
                          "V E=" + std::to_string(E) + " kk " + std::to_string(kk) + " nt " + std::to_string(nt + h));
    }
}

TEST(FlashMmaTile, LdmatrixGivesTheBFragmentsOfTheLayout) {
  check_ldmatrix_fragments<32>();
  check_ldmatrix_fragments<64>();
}

// Shared memory has 32 banks of 4 bytes, and ldmatrix.x4 reads its 4 matrices in 4 phases of 8 rows of
// 16 bytes: within a phase the 8 rows must start in 8 distinct groups of 4 banks (and be 16-byte aligned).
template <int E>
void check_banks() {
  using C = fm::Config<E>;
  std::vector<uint16_t> tile(C::kTile);
  auto conflict_free = [&](const std::array<const uint16_t*, fm::kLanes>& rows) {
    for (int m = 0; m < 4; ++m) {
      std::set<int> groups;
      for (int r = 0; r < 8; ++r) {
        const auto half = rows[8 * m + r] - tile.data();
        if (half % 8 != 0) return false;
        groups.insert(int(half / 8) % 8);  // 16-byte group of banks
      }
      if (groups.size() != 8) return false;
    }
    return true;
  };
  std::array<const uint16_t*, fm::kLanes> rows;
  for (int nt = 0; nt < fm::kScoreTiles; ++nt)
    for (int ks = 0; ks < C::kSteps; ks += 2) {
      for (int lane = 0; lane < fm::kLanes; ++lane) rows[lane] = fm::k_ldmatrix_row<E>(tile.data(), lane, nt, ks);
      EXPECT_TRUE(conflict_free(rows)) << "K E=" << E << " nt " << nt << " ks " << ks;
    }
  for (int kk = 0; kk < fm::kKeySteps; ++kk)
    for (int nt = 0; nt < C::kOutTiles; nt += 2) {
      for (int lane = 0; lane < fm::kLanes; ++lane) rows[lane] = fm::v_ldmatrix_row<E>(tile.data(), lane, kk, nt);
      EXPECT_TRUE(conflict_free(rows)) << "V E=" << E << " kk " << kk << " nt " << nt;
    }
}

TEST(FlashMmaTile, LdmatrixReadsAreFreeOfBankConflicts) {
  check_banks<32>();
  check_banks<64>();
}

// ---- the whole forward --------------------------------------------------------------------------
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
