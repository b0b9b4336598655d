// masked_fill and masked_select against naive loops, with broadcast masks and inputs.
#include "index_test_util.hpp"

using namespace cj;
using namespace cj::testing;

namespace {
Tensor sample_mask(const Shape& shape, uint32_t seed) { return sample(shape, DType::b8, seed); }
}  // namespace

TEST(MaskedFill, MatchesLoopWithBroadcastMask) {
  for (DType dt : {DType::f32, DType::f64, DType::bf16, DType::f16, DType::i32, DType::i64, DType::u8, DType::b8})
    for (Layout layout : all_layouts()) {
      Tensor x = with_layout(sample({3, 4, 5}, dt, 21), layout);
      for (const Shape& mask_shape : {Shape{3, 4, 5}, Shape{4, 1}, Shape{5}, Shape{}}) {
        Tensor mask = sample_mask(mask_shape, 22);
        if (mask.dim() == 3) mask = with_layout(mask, layout);
        Tensor out = ops::masked_fill(x, mask, 3);
        EXPECT_EQ(out.dtype(), dt);
        Tensor mask_full = ops::expand(mask, x.shape());
        expect_same_values(out, reference(x.shape(), [&](const std::vector<int64_t>& i) {
                             return mask_full.at(i) != 0 ? (dt == DType::b8 ? 1.0 : 3.0) : x.at(i);
                           }),
                           std::string(dtype_name(dt)) + " " + layout_name(layout) + " mask " + shape_str(mask_shape));
      }
    }
}

TEST(MaskedFill, ExpandedInputCastValueAndTorchBroadcast) {
  Tensor x = ops::expand(sample({1, 3}, DType::f32, 23), {2, 3});
  Tensor out = ops::masked_fill(x, from_vector<bool>({true, false, false, false, false, true}, {2, 3}), -1.5);
  EXPECT_EQ(to_vector<float>(out), (std::vector<float>{-1.5f, float(x.at({0, 1})), float(x.at({0, 2})),
                                                       float(x.at({0, 0})), float(x.at({0, 1})), -1.5f}));
  // torch.zeros(3, dtype=torch.int32).masked_fill(torch.ones(3, dtype=torch.bool), 2.7) -> [2, 2, 2]
  EXPECT_EQ(to_vector<int64_t>(ops::masked_fill(zeros({3}, DType::i32), ones({3}, DType::b8), 2.7)),
            (std::vector<int64_t>{2, 2, 2}));
  // As torch's out-of-place masked_fill, x and mask broadcast against each other:
  // torch.masked_fill(torch.arange(3), torch.tensor([[True, False, True], [False, True, False]]), -7).tolist()
  //   -> [[-7, 1, -7], [0, -7, 2]]
  Tensor mask = from_vector<bool>({true, false, true, false, true, false}, {2, 3});
  EXPECT_EQ(to_vector<int64_t>(ops::masked_fill(arange(3), mask, -7)), (std::vector<int64_t>{-7, 1, -7, 0, -7, 2}));
}

TEST(MaskedFill, BadInputs) {
  expect_error([&] { ops::masked_fill(zeros({3}), ones({3}), 1); }, {"masked_fill", "mask must be bool", "float32"});
  expect_error([&] { ops::masked_fill(zeros({3}), ones({2}, DType::b8), 1); },
               {"masked_fill", "[3]", "[2]", "not broadcastable"});
}

TEST(MaskedSelect, MatchesLoopInRowMajorOrder) {
  for (DType dt : {DType::f32, DType::bf16, DType::i64, DType::b8})
    for (Layout layout : all_layouts()) {
      Tensor x = with_layout(sample({3, 4, 5}, dt, 24), layout);
      for (const Shape& mask_shape : {Shape{3, 4, 5}, Shape{3, 1, 5}, Shape{}}) {
        Tensor mask = sample_mask(mask_shape, 25);
        if (mask.dim() == 3) mask = with_layout(mask, layout);
        Tensor mask_full = ops::expand(mask, x.shape());
        std::vector<double> want;
        for_each_index(x.shape(), [&](const std::vector<int64_t>& i) {
          if (mask_full.at(i) != 0) want.push_back(x.at(i));
        });
        Tensor out = ops::masked_select(x, mask);
        EXPECT_EQ(out.dtype(), dt);
        EXPECT_EQ(to_vector<double>(out), want) << dtype_name(dt) << " " << layout_name(layout);
      }
    }
}

TEST(MaskedSelect, BroadcastsBothLikeTorchAndHandlesEmpty) {
  // torch.masked_select(torch.arange(3), torch.tensor([[True, False, True], [False, True, False]]))
  //   -> tensor([0, 2, 1])
  Tensor mask = from_vector<bool>({true, false, true, false, true, false}, {2, 3});
  EXPECT_EQ(to_vector<int64_t>(ops::masked_select(arange(3), mask)), (std::vector<int64_t>{0, 2, 1}));
  EXPECT_EQ(ops::masked_select(zeros({0, 3}), ones({3}, DType::b8)).shape(), (Shape{0}));
  EXPECT_EQ(ops::masked_select(ones({2, 3}), zeros({2, 3}, DType::b8)).shape(), (Shape{0}));
  expect_error([&] { ops::masked_select(zeros({3}), ones({3}, DType::u8)); }, {"masked_select", "bool", "uint8"});
}
