// Views are metadata only: they must share storage and address exactly the elements PyTorch's do.
#include <gtest/gtest.h>

#include "tensor/ops.hpp"

using namespace cj;

namespace {
Tensor iota(const Shape& shape) {
  std::vector<float> v(shape_numel(shape));
  for (size_t i = 0; i < v.size(); ++i) v[i] = float(i);
  return from_vector(v, shape);
}
}  // namespace

TEST(Views, TransposeSharesStorageAndSwapsStrides) {
  Tensor x = iota({2, 3});
  Tensor t = ops::transpose(x, 0, 1);
  EXPECT_EQ(t.shape(), (Shape{3, 2}));
  EXPECT_EQ(t.strides(), (Shape{1, 3}));
  EXPECT_EQ(t.storage(), x.storage());
  EXPECT_FALSE(t.is_contiguous());
  EXPECT_EQ(t.at({2, 1}), 5.0);
  EXPECT_EQ(to_vector<float>(t), (std::vector<float>{0, 3, 1, 4, 2, 5}));
}

TEST(Views, SliceWithStepAndNegativeBounds) {
  Tensor x = iota({10});
  Tensor s = ops::slice(x, 0, -8, 9, 3);  // python x[-8:9:3] -> 2, 5, 8
  EXPECT_EQ(to_vector<float>(s), (std::vector<float>{2, 5, 8}));
  EXPECT_EQ(s.storage(), x.storage());
}

TEST(Views, ViewOfPermutedNeedsCompatibleStrides) {
  Tensor x = iota({2, 3, 4});
  Tensor p = ops::permute(x, {1, 0, 2});
  EXPECT_THROW(ops::view(p, {6, 4}), Error);
  Tensor r = ops::reshape(p, {6, 4});  // copies
  EXPECT_NE(r.storage(), x.storage());
  EXPECT_EQ(r.at({1, 0}), 12.0);  // p[0][1][0] = x[1][0][0]
  // merging the last two dims of x is a pure view
  Tensor v = ops::view(x, {2, -1});
  EXPECT_EQ(v.storage(), x.storage());
  EXPECT_EQ(v.shape(), (Shape{2, 12}));
}

TEST(Views, ExpandUsesStrideZero) {
  Tensor x = iota({3, 1});
  Tensor e = ops::expand(x, {2, 3, 4});
  EXPECT_EQ(e.strides(), (Shape{0, 1, 0}));
  EXPECT_EQ(e.at({1, 2, 3}), 2.0);
  EXPECT_THROW(ops::expand(x, {2, 2}), Error);
}

TEST(Views, SelectNarrowSqueezeUnsqueezeFlatten) {
  Tensor x = iota({2, 3, 4});
  EXPECT_EQ(to_vector<float>(ops::select(x, 1, -1)), (std::vector<float>{8, 9, 10, 11, 20, 21, 22, 23}));
  EXPECT_EQ(ops::narrow(x, 2, 1, 2).at({1, 2, 1}), 22.0);
  EXPECT_EQ(ops::unsqueeze(x, -1).shape(), (Shape{2, 3, 4, 1}));
  EXPECT_EQ(ops::squeeze(ops::unsqueeze(x, 0)).shape(), (Shape{2, 3, 4}));
  EXPECT_EQ(ops::flatten(x, 1).shape(), (Shape{2, 12}));
  EXPECT_EQ(ops::unflatten(ops::flatten(x), 0, {4, -1}).shape(), (Shape{4, 6}));
  EXPECT_THROW(ops::select(x, 3, 0), Error);
  EXPECT_THROW(ops::narrow(x, 0, 1, 2), Error);
}

TEST(Views, AsStridedOutOfStorageIsRejected) {
  Tensor x = iota({4});
  EXPECT_THROW(ops::as_strided(x, {3}, {2}, 0), Error);  // would read element 4
  EXPECT_EQ(to_vector<float>(ops::as_strided(x, {2}, {2}, 1)), (std::vector<float>{1, 3}));
}

TEST(Views, CopyCastsAndBroadcasts) {
  Tensor dst = zeros({2, 3}, DType::bf16);
  ops::copy_(dst, tensor({1.5f, -2.25f, 3.0f}));
  EXPECT_EQ(to_vector<float>(dst), (std::vector<float>{1.5f, -2.25f, 3.0f, 1.5f, -2.25f, 3.0f}));
  auto v0 = dst.version();
  ops::fill_(dst, 7);
  EXPECT_GT(dst.version(), v0);
  EXPECT_EQ(to_vector<int64_t>(dst), (std::vector<int64_t>(6, 7)));
}

TEST(Creation, ArangeLinspace) {
  EXPECT_EQ(to_vector<int64_t>(arange(5)), (std::vector<int64_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(to_vector<float>(arange(0.0, 1.0, 0.25, DType::f32)), (std::vector<float>{0, 0.25f, 0.5f, 0.75f}));
  auto l = to_vector<double>(linspace(0, 1, 5, DType::f64));
  EXPECT_EQ(l, (std::vector<double>{0, 0.25, 0.5, 0.75, 1}));
}

TEST(Views, ScalarViewsAsOnesShape) {
  Tensor s = scalar_tensor(4.0);
  Tensor v = ops::view(s, {1, 1});
  EXPECT_EQ(v.shape(), (Shape{1, 1}));
  EXPECT_EQ(v.storage(), s.storage());
  EXPECT_EQ(ops::reshape(s, {-1}).shape(), (Shape{1}));
  EXPECT_EQ(ops::view(v, {}).dim(), 0);
}
