// gradcheck of indexing and joining. Index and mask tensors are passed through gradcheck
// unchanged (they do not require grad); repeated indices check that gradients accumulate.
#include <gtest/gtest.h>

#include "tests/autograd/autograd_test_util.hpp"

using namespace cj;
using cj::test::leaf;

namespace {
Tensor idx(std::vector<int64_t> v, const Shape& shape) { return from_vector(v, shape); }
Tensor idx(std::vector<int64_t> v) { return idx(v, {int64_t(v.size())}); }
}  // namespace

TEST(GradIndex, IndexSelectWithRepeats) {
  Tensor x = leaf({4, 3}, 4000);
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return index_select(in[0], 0, in[1]); },
                   {x, idx({2, 0, 2, 3, 2})});
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return index_select(transpose(in[0], 0, 1), 1, in[1]); },
                   {x, idx({1, 1, 3})});
}

TEST(GradIndex, GatherScatterFamily) {
  Tensor x = leaf({3, 4}, 4100), src = leaf({3, 2}, 4101);
  Tensor gidx = idx({0, 3, 3, 1, 2, 2, 0, 1, 1}, {3, 3});  // repeats within rows
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return gather(in[0], 1, in[1]); }, {x, gidx});
  Tensor sidx = idx({0, 3, 1, 2, 3, 0}, {3, 2});  // distinct within rows, as scatter needs
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return scatter(in[0], 1, in[2], in[1]); }, {x, src, sidx});
  Tensor aidx = idx({1, 1, 0, 0, 3, 3}, {3, 2});  // repeats: contributions add
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return scatter_add(in[0], 1, in[2], in[1]); }, {x, src, aidx});
  Tensor rows = leaf({5, 4}, 4102);
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return index_add(in[0], 0, in[2], in[1]); },
                   {x, rows, idx({2, 0, 2, 1, 2})});
}

TEST(GradIndex, MaskedOps) {
  Tensor x = leaf({3, 4}, 4200);
  Tensor mask = ops::gt(cj::test::seeded_uniform({3, 4}, 4201), 0.0);
  Tensor row_mask = ops::gt(cj::test::seeded_uniform({4}, 4202), 0.0);  // broadcast over rows
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return masked_fill(in[0], in[1], -2.0) * in[0]; }, {x, mask});
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return masked_select(in[0], in[1]); }, {x, mask});
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return masked_select(in[0], in[1]); }, {x, row_mask});
  Tensor col = leaf({3, 1}, 4203);  // x broadcast against the mask
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return masked_select(in[0], in[1]); }, {col, mask});
}

TEST(GradIndex, CatStackSplitChunk) {
  Tensor a = leaf({2, 3}, 4300), b = leaf({2, 1}, 4301), c = leaf({2, 2}, 4302);
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return cat({in[0], in[1], in[2]}, 1); }, {a, b, c});
  Tensor constant = cj::test::seeded_uniform({2, 3}, 4303, -1, 1, DType::f64);
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return cat({in[1], in[0], in[0]}, 0); }, {a, constant});
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return stack({in[0], in[1], in[0]}, -1); }, {a, constant});
  Tensor x = leaf({7, 2}, 4304);
  EXPECT_GRADCHECK(
      [](const std::vector<Tensor>& in) {
        std::vector<Tensor> parts = split(in[0], 3, 0);  // 3, 3, 1
        return parts[0] * parts[1] + sum(parts[2]);
      },
      {x});
  EXPECT_GRADCHECK(
      [](const std::vector<Tensor>& in) {
        std::vector<Tensor> parts = chunk(in[0], 2, 1);
        return parts[1] * 2.0 - parts[0];
      },
      {x});
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return split_with_sizes(in[0], {2, 5}, 0)[1] * 3.0; }, {x});
}

TEST(GradIndex, RepeatAndPad) {
  Tensor x = leaf({2, 3}, 4400);
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return repeat(in[0], {2, 1, 3}); }, {x});
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return repeat(transpose(in[0], 0, 1), {2, 2}); }, {x});
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return pad(in[0], {1, 2, 0, 1}, 0.5); }, {x});
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return pad(in[0], {-1, 2}); }, {x});  // crop + pad
}

TEST(GradIndex, EmbeddingAccumulatesRepeatedRows) {
  Tensor w = leaf({5, 3}, 4500);
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return embedding(in[0], in[1]); },
                   {w, idx({4, 0, 4, 1, 4, 2}, {2, 3})});
}

TEST(GradIndex, TopkAndSortValues) {
  Tensor x = leaf({3, 5}, 4600);  // distinct values
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return topk(in[0], 2, 1).first; }, {x});
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return topk(in[0], 2, 0, false).first; }, {x});
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return sort(in[0], -1, true).first; }, {x});
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return sort(transpose(in[0], 0, 1), 0).first; }, {x});
}
