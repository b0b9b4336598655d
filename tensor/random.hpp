#pragma once
// Counter-based random numbers (Philox4x32-10, as PyTorch's CUDA generator and curand use):
// element i of a draw depends only on (seed, offset, i), so the CUDA backend reproduces the CPU
// stream exactly and draws parallelise without shared state.
#include <cstdint>

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

}  // namespace cj
