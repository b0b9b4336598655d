// Tensor::str() against the text torch 2.x prints for the same tensors (strings copied from
// python3 -c 'import torch; print(repr(str(torch.tensor(...))))').
#include <sstream>

#include "tests/tensor/op_test_util.hpp"

using namespace cj;

namespace {

Tensor of(std::vector<double> v, DType dt, Shape shape = {}) {
  if (shape.empty()) shape = {int64_t(v.size())};
  return ops::to(from_vector(v, shape), dt);
}

TEST(Print, FloatModesMatchTorch) {
  EXPECT_EQ(tensor({1, 2, 3, 4}, {2, 2}).str(), "tensor([[1., 2.],\n        [3., 4.]])");
  EXPECT_EQ(tensor({1.5f, -2.25f, 3.0f}).str(), "tensor([ 1.5000, -2.2500,  3.0000])");
  EXPECT_EQ(tensor({1e-5f, 1.0f, 100.0f}).str(), "tensor([1.0000e-05, 1.0000e+00, 1.0000e+02])");
  EXPECT_EQ(tensor({1.f, 1e9f}).str(), "tensor([1.0000e+00, 1.0000e+09])");
  EXPECT_EQ(tensor({0.001f, 10.0f}).str(), "tensor([1.0000e-03, 1.0000e+01])");
  EXPECT_EQ(tensor({-1.2345e-7f, 3.0f}).str(), "tensor([-1.2345e-07,  3.0000e+00])");
  EXPECT_EQ(tensor({NAN, INFINITY, -INFINITY, 1.0f}).str(), "tensor([nan, inf, -inf, 1.])");
  EXPECT_EQ(tensor({NAN, 2.0f}).str(), "tensor([nan, 2.])");
  EXPECT_EQ(zeros({3}).str(), "tensor([0., 0., 0.])");
  EXPECT_EQ(tensor({-0.0f, 1.0f}).str(), "tensor([-0., 1.])");
  EXPECT_EQ(scalar_tensor(3.5).str(), "tensor(3.5000)");
  EXPECT_EQ(ops::reshape(arange(0.0, 12.0, 1.0, DType::f32), {2, 2, 3}).str(),
            "tensor([[[ 0.,  1.,  2.],\n         [ 3.,  4.,  5.]],\n\n        [[ 6.,  7.,  8.],\n         [ 9., 10., "
            "11.]]])");
}

TEST(Print, IntegerBoolAndDTypeSuffixes) {
  EXPECT_EQ(of({1, -20, 300}, DType::i64).str(), "tensor([  1, -20, 300])");
  EXPECT_EQ(of({1, 2}, DType::i32).str(), "tensor([1, 2], dtype=torch.int32)");
  EXPECT_EQ(of({1, 200}, DType::u8).str(), "tensor([  1, 200], dtype=torch.uint8)");
  EXPECT_EQ(of({1, 0}, DType::b8).str(), "tensor([ True, False])");
  EXPECT_EQ(of({1.5, 2.0}, DType::f64).str(), "tensor([1.5000, 2.0000], dtype=torch.float64)");
  EXPECT_EQ(of({1.5, 2.0}, DType::bf16).str(), "tensor([1.5000, 2.0000], dtype=torch.bfloat16)");
  EXPECT_EQ(of({0.1, 2.0}, DType::f16).str(), "tensor([0.1000, 2.0000], dtype=torch.float16)");
  EXPECT_EQ(scalar_tensor(7, DType::i64).str(), "tensor(7)");
  EXPECT_EQ(zeros({0}).str(), "tensor([])");
  EXPECT_EQ(zeros({0, 3}).str(), "tensor([], size=(0, 3))");
  EXPECT_EQ(zeros({0}, DType::i32).str(), "tensor([], dtype=torch.int32)");
  Tensor g = tensor({1, 2});
  g.requires_grad_();
  EXPECT_EQ(g.str(), "tensor([1., 2.], requires_grad=True)");
  std::ostringstream os;
  os << of({1, 2}, DType::i32);
  EXPECT_EQ(os.str(), "tensor([1, 2], dtype=torch.int32)");
}

TEST(Print, LongRowsWrapAtEightyColumns) {
  EXPECT_EQ(ops::mul(arange(0.0, 30.0, 1.0, DType::f32), 1.5).str(),
            "tensor([ 0.0000,  1.5000,  3.0000,  4.5000,  6.0000,  7.5000,  9.0000, 10.5000,\n"
            "        12.0000, 13.5000, 15.0000, 16.5000, 18.0000, 19.5000, 21.0000, 22.5000,\n"
            "        24.0000, 25.5000, 27.0000, 28.5000, 30.0000, 31.5000, 33.0000, 34.5000,\n"
            "        36.0000, 37.5000, 39.0000, 40.5000, 42.0000, 43.5000])");
  EXPECT_EQ(ops::mul(arange(0.0, 14.0, 1.0, DType::f64), 1000.5).str(),
            "tensor([    0.0000,  1000.5000,  2001.0000,  3001.5000,  4002.0000,  5002.5000,\n"
            "         6003.0000,  7003.5000,  8004.0000,  9004.5000, 10005.0000, 11005.5000,\n"
            "        12006.0000, 13006.5000], dtype=torch.float64)");
}

TEST(Print, SummarisesBeyondAThousandElements) {
  EXPECT_EQ(arange(0.0, 2000.0, 1.0, DType::f32).str(),
            "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n        1.9990e+03])");
  EXPECT_EQ(ops::reshape(arange(1100), {110, 10}).str(),
            "tensor([[   0,    1,    2,  ...,    7,    8,    9],\n"
            "        [  10,   11,   12,  ...,   17,   18,   19],\n"
            "        [  20,   21,   22,  ...,   27,   28,   29],\n"
            "        ...,\n"
            "        [1070, 1071, 1072,  ..., 1077, 1078, 1079],\n"
            "        [1080, 1081, 1082,  ..., 1087, 1088, 1089],\n"
            "        [1090, 1091, 1092,  ..., 1097, 1098, 1099]])");
  // (4, 5, 60) / 7: the last dim is elided and its rows wrap
  std::string s = ops::div(ops::reshape(arange(0.0, 1200.0, 1.0, DType::f32), {4, 5, 60}), 7).str();
  EXPECT_EQ(s,
            "tensor([[[0.0000e+00, 1.4286e-01, 2.8571e-01,  ..., 8.1429e+00,\n"
            "          8.2857e+00, 8.4286e+00],\n"
            "         [8.5714e+00, 8.7143e+00, 8.8571e+00,  ..., 1.6714e+01,\n"
            "          1.6857e+01, 1.7000e+01],\n"
            "         [1.7143e+01, 1.7286e+01, 1.7429e+01,  ..., 2.5286e+01,\n"
            "          2.5429e+01, 2.5571e+01],\n"
            "         [2.5714e+01, 2.5857e+01, 2.6000e+01,  ..., 3.3857e+01,\n"
            "          3.4000e+01, 3.4143e+01],\n"
            "         [3.4286e+01, 3.4429e+01, 3.4571e+01,  ..., 4.2429e+01,\n"
            "          4.2571e+01, 4.2714e+01]],\n"
            "\n"
            "        [[4.2857e+01, 4.3000e+01, 4.3143e+01,  ..., 5.1000e+01,\n"
            "          5.1143e+01, 5.1286e+01],\n"
            "         [5.1429e+01, 5.1571e+01, 5.1714e+01,  ..., 5.9571e+01,\n"
            "          5.9714e+01, 5.9857e+01],\n"
            "         [6.0000e+01, 6.0143e+01, 6.0286e+01,  ..., 6.8143e+01,\n"
            "          6.8286e+01, 6.8429e+01],\n"
            "         [6.8571e+01, 6.8714e+01, 6.8857e+01,  ..., 7.6714e+01,\n"
            "          7.6857e+01, 7.7000e+01],\n"
            "         [7.7143e+01, 7.7286e+01, 7.7429e+01,  ..., 8.5286e+01,\n"
            "          8.5429e+01, 8.5571e+01]],\n"
            "\n"
            "        [[8.5714e+01, 8.5857e+01, 8.6000e+01,  ..., 9.3857e+01,\n"
            "          9.4000e+01, 9.4143e+01],\n"
            "         [9.4286e+01, 9.4429e+01, 9.4571e+01,  ..., 1.0243e+02,\n"
            "          1.0257e+02, 1.0271e+02],\n"
            "         [1.0286e+02, 1.0300e+02, 1.0314e+02,  ..., 1.1100e+02,\n"
            "          1.1114e+02, 1.1129e+02],\n"
            "         [1.1143e+02, 1.1157e+02, 1.1171e+02,  ..., 1.1957e+02,\n"
            "          1.1971e+02, 1.1986e+02],\n"
            "         [1.2000e+02, 1.2014e+02, 1.2029e+02,  ..., 1.2814e+02,\n"
            "          1.2829e+02, 1.2843e+02]],\n"
            "\n"
            "        [[1.2857e+02, 1.2871e+02, 1.2886e+02,  ..., 1.3671e+02,\n"
            "          1.3686e+02, 1.3700e+02],\n"
            "         [1.3714e+02, 1.3729e+02, 1.3743e+02,  ..., 1.4529e+02,\n"
            "          1.4543e+02, 1.4557e+02],\n"
            "         [1.4571e+02, 1.4586e+02, 1.4600e+02,  ..., 1.5386e+02,\n"
            "          1.5400e+02, 1.5414e+02],\n"
            "         [1.5429e+02, 1.5443e+02, 1.5457e+02,  ..., 1.6243e+02,\n"
            "          1.6257e+02, 1.6271e+02],\n"
            "         [1.6286e+02, 1.6300e+02, 1.6314e+02,  ..., 1.7100e+02,\n"
            "          1.7114e+02, 1.7129e+02]]])");
}

TEST(Print, NonContiguousViewsPrintTheirOwnElements) {
  Tensor x = tensor({1, 2, 3, 4}, {2, 2});
  EXPECT_EQ(ops::transpose(x, 0, 1).str(), "tensor([[1., 3.],\n        [2., 4.]])");
  EXPECT_EQ(ops::expand(tensor({1.5f}), {3}).str(), "tensor([1.5000, 1.5000, 1.5000])");
}

}  // namespace
