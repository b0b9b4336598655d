#include "tensor/numpy_random.hpp"

#include <numeric>
#include <utility>

#include "tensor/error.hpp"

namespace cj {

namespace {
constexpr int kN = 624, kM = 397;
constexpr uint32_t kMatrixA = 0x9908b0dfu, kUpper = 0x80000000u, kLower = 0x7fffffffu;
}  // namespace

NumpyRandomState::NumpyRandomState(uint32_t seed) {
  state_[0] = seed;
  for (int i = 1; i < kN; ++i) state_[i] = 1812433253u * (state_[i - 1] ^ (state_[i - 1] >> 30)) + uint32_t(i);
  pos_ = kN;
}

void NumpyRandomState::twist() {
  for (int i = 0; i < kN; ++i) {
    uint32_t y = (state_[i] & kUpper) | (state_[(i + 1) % kN] & kLower);
    state_[i] = state_[(i + kM) % kN] ^ (y >> 1) ^ ((y & 1u) ? kMatrixA : 0u);
  }
  pos_ = 0;
}

uint32_t NumpyRandomState::next_uint32() {
  if (pos_ >= kN) twist();
  uint32_t y = state_[pos_++];
  y ^= y >> 11;
  y ^= (y << 7) & 0x9d2c5680u;
  y ^= (y << 15) & 0xefc60000u;
  y ^= y >> 18;
  return y;
}

double NumpyRandomState::random_sample() {
  uint32_t a = next_uint32() >> 5, b = next_uint32() >> 6;
  return (a * 67108864.0 + b) / 9007199254740992.0;
}

uint64_t NumpyRandomState::random_interval(uint64_t max) {
  if (max == 0) return 0;
  uint64_t mask = max;
  for (int shift = 1; shift <= 32; shift <<= 1) mask |= mask >> shift;
  uint64_t value;
  if (max <= 0xffffffffu) {
    while ((value = (next_uint32() & mask)) > max) {
    }
  } else {
    while ((value = (((uint64_t(next_uint32()) << 32) | next_uint32()) & mask)) > max) {
    }
  }
  return value;
}

std::vector<int64_t> NumpyRandomState::permutation(int64_t n) {
  CJ_CHECK(n >= 0, "RandomState.permutation: n must be non-negative, got ", n);
  std::vector<int64_t> a(n);
  std::iota(a.begin(), a.end(), int64_t(0));
  for (int64_t i = n - 1; i >= 1; --i) std::swap(a[i], a[random_interval(uint64_t(i))]);  // numpy's shuffle
  return a;
}

std::vector<int64_t> NumpyRandomState::choice_without_replacement(int64_t n, int64_t m) {
  CJ_CHECK(m >= 0 && m <= n, "RandomState.choice: cannot take ", m, " of ", n, " without replacement");
  auto p = permutation(n);
  p.resize(m);
  return p;
}

}  // namespace cj
