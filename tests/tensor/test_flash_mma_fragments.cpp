// The fragments of the tensor-core flash attention forward (tensor/flash_mma.hpp): the mma.m16n8k16
// layouts are bijections onto their tiles, a register's two halves are neighbours, the P fragment
// reads the score element of its own row and key, the emulated mma (tests/tensor/flash_mma_emulation.hpp)
// is a matrix product, the ldmatrix row addresses give the B fragments of the layout, and their
// reads are free of bank conflicts. The whole forward: test_flash_mma_tile.cpp.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "tests/tensor/flash_mma_emulation.hpp"

namespace fm = cj::flash::mma;
namespace flash_mma_emu = cj::test::flash_mma_emu;

namespace {

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

}  // namespace
