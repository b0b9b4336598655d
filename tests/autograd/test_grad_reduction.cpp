// gradcheck of the reductions over single dims, several dims, all dims, with and without keepdim,
// and on permuted inputs; exact values where gradients are split (ties) or special (zeros in prod).
#include <gtest/gtest.h>

#include "tests/autograd/autograd_test_util.hpp"

using namespace cj;
using cj::test::leaf;
using cj::test::random_shape;

namespace {
struct DimsCase {
  Dims dims;
  bool keepdim;
};
const DimsCase kDims[] = {{{}, false}, {{1}, false}, {{-1}, true}, {{0, 2}, false}, {{2, 0}, true}};
}  // namespace

TEST(GradReduction, SumMeanProdVarStdLogsumexp) {
  std::mt19937 rng(20);
  uint64_t seed = 2000;
  for (const DimsCase& c : kDims) {
    Dims dims = c.dims;
    bool keep = c.keepdim;
    Shape s = random_shape(rng, 3);
    s[0] = std::max<int64_t>(s[0], 2);  // var/std need 2+ elements in a reduced slice
    s[2] = std::max<int64_t>(s[2], 2);
    Tensor x = leaf(s, ++seed, 0.5, 1.5);
    SCOPED_TRACE("dims " + shape_str(dims) + (keep ? " keepdim" : ""));
    EXPECT_GRADCHECK([=](const std::vector<Tensor>& in) { return sum(in[0], dims, keep); }, {x});
    EXPECT_GRADCHECK([=](const std::vector<Tensor>& in) { return mean(in[0], dims, keep); }, {x});
    EXPECT_GRADCHECK([=](const std::vector<Tensor>& in) { return prod(in[0], dims, keep); }, {x});
    if (!dims.empty() && dims[0] == 1 && s[1] == 1) continue;  // a slice of one element has no variance
    EXPECT_GRADCHECK([=](const std::vector<Tensor>& in) { return var(in[0], dims, true, keep); }, {x});
    EXPECT_GRADCHECK([=](const std::vector<Tensor>& in) { return var(in[0], dims, false, keep); }, {x});
    EXPECT_GRADCHECK([=](const std::vector<Tensor>& in) { return cj::std(in[0], dims, true, keep); }, {x});
    if (!dims.empty())
      EXPECT_GRADCHECK([=](const std::vector<Tensor>& in) { return logsumexp(in[0], dims, keep); }, {x});
  }
}

TEST(GradReduction, ReductionsOfPermutedInputs) {
  Tensor x = leaf({3, 4, 5}, 2100);
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return sum(permute(in[0], {2, 0, 1}), {0, 2}); }, {x});
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return mean(slice(in[0], 2, 0, 5, 2), {-1}, true); }, {x});
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return softmax(transpose(in[0], 0, 2), 1); }, {x});
}

TEST(GradReduction, ProdWithZeros) {
  // One zero in a slice: only it gets a gradient (the product of the others); two zeros: none.
  Tensor x = ops::to(tensor({2, 0, 3, 0, 0, 5}, {2, 3}), DType::f64);
  x.requires_grad_();
  backward(sum(prod(x, {1})));
  EXPECT_EQ(to_vector<double>(x.grad()), (std::vector<double>{0, 6, 0, 0, 0, 0}));
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return prod(in[0], {1}) * 2.0; }, {x});
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return prod(in[0]); }, {x});
}

TEST(GradReduction, AmaxAminShareTiesMaxMinPickTheIndex) {
  Tensor x = ops::to(tensor({1, 3, 3, 2, 0, 2}, {2, 3}), DType::f64);
  x.requires_grad_();
  backward(sum(amax(x, {1})) + sum(amin(x, {1})));
  EXPECT_EQ(to_vector<double>(x.grad()), (std::vector<double>{1, 0.5, 0.5, 0.5, 1, 0.5}));
  x.set_grad({});
  auto [values, indices] = max(x, 1);
  backward(sum(values));
  EXPECT_EQ(to_vector<double>(x.grad()), (std::vector<double>{0, 1, 0, 1, 0, 0}));  // first index of a tie

  std::mt19937 rng(21);
  Tensor y = leaf(random_shape(rng, 3, 5), 2200);  // distinct values: no ties
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return amax(in[0], {0, 2}); }, {y});
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return amin(in[0], {1}, true); }, {y});
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return max(in[0], 1).first; }, {y});
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return min(in[0], -1, true).first; }, {y});
}

TEST(GradReduction, Cumsum) {
  Tensor x = leaf({3, 4, 2}, 2300);
  for (int64_t d : {0, 1, -1}) {
    EXPECT_GRADCHECK([d](const std::vector<Tensor>& in) { return cumsum(in[0], d); }, {x});
  }
}

TEST(GradReduction, SoftmaxAndLogSoftmax) {
  std::mt19937 rng(22);
  for (int trial = 0; trial < 3; ++trial) {
    Tensor x = leaf(random_shape(rng, 3, 5), 2400 + trial, -3, 3);
    for (int64_t d : {0, -1}) {
      EXPECT_GRADCHECK([d](const std::vector<Tensor>& in) { return softmax(in[0], d); }, {x});
      EXPECT_GRADCHECK([d](const std::vector<Tensor>& in) { return log_softmax(in[0], d); }, {x});
    }
  }
}
