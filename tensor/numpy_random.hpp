#pragma once
// NumPy's legacy np.random.RandomState (MT19937), reimplemented for the few draws the reference
// pipeline depends on bit for bit: the C-JEPA predictor masks
// `RandomState(42).choice(n, M, replace=False)` slots (reference spec §5.3).
#include <cstdint>
#include <vector>

namespace cj {

class NumpyRandomState {
 public:
  explicit NumpyRandomState(uint32_t seed);  // RandomState(int): MT19937 init_genrand(seed)

  uint32_t next_uint32();
  double random_sample();                     // RandomState.random_sample(): 53-bit double in [0, 1)
  uint64_t random_interval(uint64_t max);     // uniform in [0, max] by masked rejection (numpy's random_interval)
  std::vector<int64_t> permutation(int64_t n);  // RandomState.permutation(n)
  // RandomState.choice(n, m, replace=False) without p: the first m entries of permutation(n).
  std::vector<int64_t> choice_without_replacement(int64_t n, int64_t m);

 private:
  void twist();
  uint32_t state_[624];
  int pos_ = 624;
};

}  // namespace cj
