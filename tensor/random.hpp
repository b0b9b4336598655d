#pragma once
// Counter-based random numbers (Philox4x32-10, as PyTorch's CUDA generator and curand use):
// element i of a draw depends only on (seed, offset, i), so the CUDA backend reproduces the CPU
// stream exactly and draws parallelise without shared state.
//
// The exact mapping (a CUDA kernel must follow it to give the same numbers):
//   philox(seed, c) = Philox4x32-10 with key (lo32(seed), hi32(seed)) and 128-bit counter
//                     (lo32(c), hi32(c), 0, 0), giving four 32-bit words w0..w3.
//   A draw of n elements first reserves B = ceil(n / E) blocks, o = gen.reserve(B), where E is the
//   number of elements one block yields; element i (row-major over the tensor) then comes from
//   block c = o + i / E, slot q = i % E:
//     uniform, f32/bf16/f16 (E = 4): u = (w_q >> (32 - p)) * 2^-p with p = 24 (f32), 8 (bf16),
//                                    11 (f16) mantissa bits, so u is exact and < 1 in the dtype;
//     uniform, f64          (E = 2): u = ((w_2q << 32 | w_2q+1) >> 11) * 2^-53;
//     normal,  f32/bf16/f16 (E = 4): Box-Muller on the pair j = q / 2: u1 = 1 - U24(w_2j) in (0, 1],
//                                    u2 = U24(w_2j+1); z = sqrt(-2 ln u1) * (q even ? cos : sin)(2 pi u2),
//                                    computed in double (ln and sincos of tensor/philox.hpp, not
//                                    libm's, so every backend rounds alike), then rounded;
//     normal,  f64          (E = 2): the same with the two 53-bit uniforms of the block;
//     randint               (E = 2): low + (w_2q << 32 | w_2q+1) mod (high - low) (bias < range / 2^64);
//     randperm(n)           (E = 2): the 64-bit words k_i as randint's, then the stable order of
//                                    (k_i, i): result[j] = the i with the j-th smallest key;
//   uniform_(low, high) = low + (high - low) * u and normal_(mean, std) = mean + std * z, in double.
//   trunc_normal_ draws u exactly as uniform_ does for the tensor's dtype (E and bits above).
#include <cstdint>

#include "tensor/philox.hpp"
#include "tensor/tensor.hpp"

namespace cj {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) : seed_(seed) {}
  uint64_t seed() const { return seed_; }
  uint64_t offset() const { return offset_; }  // in 128-bit Philox blocks consumed so far
  void set_state(uint64_t seed, uint64_t offset) { seed_ = seed; offset_ = offset; }
  // Reserves `blocks` Philox counter values and returns the first; draws are reproducible from it.
  uint64_t reserve(uint64_t blocks) { uint64_t o = offset_; offset_ += blocks; return o; }

 private:
  uint64_t seed_;
  uint64_t offset_ = 0;
};

Generator& default_generator();  // process-wide, seed 0 until manual_seed
void manual_seed(uint64_t seed);

// One Philox4x32-10 block: four 32-bit outputs for (key = seed, counter = (offset, subsequence)).
void philox4x32_10(uint64_t seed, uint64_t counter_lo, uint64_t counter_hi, uint32_t out[4]);

Tensor rand(const Shape& shape, TensorOptions options = {}, Generator* gen = nullptr);   // U[0, 1)
Tensor randn(const Shape& shape, TensorOptions options = {}, Generator* gen = nullptr);  // N(0, 1), Box-Muller
Tensor randint(int64_t low, int64_t high, const Shape& shape, TensorOptions options = DType::i64,
               Generator* gen = nullptr);
Tensor randperm(int64_t n, Generator* gen = nullptr);  // i64
void uniform_(const Tensor& t, double low, double high, Generator* gen = nullptr);
void normal_(const Tensor& t, double mean, double std, Generator* gen = nullptr);
// Normal(mean, std) truncated to [a, b] by inverse-CDF, as torch.nn.init.trunc_normal_.
void trunc_normal_(const Tensor& t, double mean, double std, double a, double b, Generator* gen = nullptr);

namespace ops {
// The kernel behind uniform_, normal_, rand, randn and randint: element i of t (row-major) gets
// draw's value for slot i % E of Philox block first_block + i / E under key seed. The caller has
// reserved the blocks. A backend registers its own under "philox_fill_" (cuda/random.cu) running
// the same tensor/philox.hpp functions, so device tensors get the CPU's values bit for bit.
void philox_fill_(const Tensor& t, const philox::Draw& draw, uint64_t seed, uint64_t first_block);
}  // namespace ops

// Inverse error function in double (used by trunc_normal_): erf(erfinv(y)) = y for y in (-1, 1),
// +-inf at +-1, NaN outside.
double erfinv(double y);

}  // namespace cj
