// Values produced with numpy 2.4.6 on this machine, e.g.
//   python3 -c "import numpy as np; print(np.random.RandomState(42).choice(7, 4, replace=False))"
#include <gtest/gtest.h>

#include "tensor/error.hpp"
#include "tensor/numpy_random.hpp"

using cj::NumpyRandomState;

TEST(NumpyRandomState, RawStreamMatchesNumpy) {
  NumpyRandomState r(42);
  // np.random.RandomState(42).random_sample(2)
  EXPECT_DOUBLE_EQ(r.random_sample(), 0.3745401188473625);
  EXPECT_DOUBLE_EQ(r.random_sample(), 0.9507143064099162);
}

TEST(NumpyRandomState, ChoiceWithoutReplacementMatchesReferenceMasks) {
  using V = std::vector<int64_t>;
  // The reference's fixed masks (spec §5.3): CLEVRER 4 of 7, Push-T 1 and 2 of 4.
  EXPECT_EQ(NumpyRandomState(42).choice_without_replacement(7, 4), (V{0, 1, 5, 2}));
  EXPECT_EQ(NumpyRandomState(42).choice_without_replacement(7, 1), (V{0}));
  EXPECT_EQ(NumpyRandomState(42).choice_without_replacement(4, 1), (V{1}));
  EXPECT_EQ(NumpyRandomState(42).choice_without_replacement(4, 2), (V{1, 3}));
  EXPECT_EQ(NumpyRandomState(42).choice_without_replacement(10, 3), (V{8, 1, 5}));
  EXPECT_EQ(NumpyRandomState(42).choice_without_replacement(1000, 5), (V{521, 737, 740, 660, 411}));
}

TEST(NumpyRandomState, PermutationMatchesNumpy) {
  EXPECT_EQ(NumpyRandomState(7).permutation(12), (std::vector<int64_t>{7, 10, 2, 5, 0, 1, 11, 8, 3, 6, 9, 4}));
}

TEST(NumpyRandomState, ChoiceRejectsTooMany) { EXPECT_THROW(NumpyRandomState(1).choice_without_replacement(3, 4), cj::Error); }
