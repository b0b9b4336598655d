// cat, stack, split, split_with_sizes, chunk, repeat and pad against naive loops and PyTorch values.
#include "index_test_util.hpp"

using namespace cj;
using namespace cj::testing;

TEST(Cat, MatchesLoopAlongEveryDimAndLayout) {
  for_each_case({DType::f32, DType::bf16, DType::i32, DType::u8, DType::b8}, {0, 1, 2, -1}, 3, [](const Case& c) {
    std::vector<Tensor> xs;
    for (int64_t n : {2, 1, 3}) {
      Shape s{2, 3, 4};
      s[size_t(c.d)] = n;
      xs.push_back(with_layout(sample(s, c.dtype, uint32_t(30 + n)), c.layout));
    }
    Shape s{2, 3, 4};
    s[size_t(c.d)] = 1;
    xs.push_back(ops::expand(sample({1, 1, 1}, c.dtype, 34), s));  // a broadcast (stride 0) input
    Tensor out = ops::cat(xs, c.dim);
    EXPECT_EQ(out.dtype(), c.dtype);
    expect_same_values(out, reference(out.shape(), [&](std::vector<int64_t> i) {
                         size_t k = 0;
                         while (i[size_t(c.d)] >= xs[k].size(c.d)) i[size_t(c.d)] -= xs[k++].size(c.d);
                         return xs[k].at(i);
                       }));
  });
}

TEST(Cat, PromotesDtypesLikeTorch) {
  // torch.cat([tensor([1.5], float16), tensor([2.5], bfloat16), tensor([3], int32)]) -> float32 [1.5, 2.5, 3.]
  Tensor a = ops::to(tensor({1.5f}), DType::f16), b = ops::to(tensor({2.5f}), DType::bf16);
  Tensor out = ops::cat({a, b, full({1}, 3, DType::i32)}, 0);
  EXPECT_EQ(out.dtype(), DType::f32);
  EXPECT_EQ(to_vector<float>(out), (std::vector<float>{1.5f, 2.5f, 3.0f}));
  // torch.cat([tensor([1, 2], uint8), tensor([True])]) -> tensor([1, 2, 1], dtype=torch.uint8)
  Tensor u = ops::cat({from_vector<uint8_t>({1, 2}, {2}), from_vector<bool>({true}, {1})}, 0);
  EXPECT_EQ(u.dtype(), DType::u8);
  EXPECT_EQ(to_vector<int64_t>(u), (std::vector<int64_t>{1, 2, 1}));
  // Pairs checked against torch.cat([...]).dtype
  struct Promotion { DType a, b, want; };
  for (Promotion c : {Promotion{DType::u8, DType::i32, DType::i32}, Promotion{DType::i32, DType::i64, DType::i64},
                      Promotion{DType::i64, DType::f16, DType::f16}, Promotion{DType::bf16, DType::f64, DType::f64},
                      Promotion{DType::b8, DType::b8, DType::b8}, Promotion{DType::f32, DType::f16, DType::f32}})
    EXPECT_EQ(ops::cat({zeros({1}, c.a), zeros({1}, c.b)}, 0).dtype(), c.want)
        << dtype_name(c.a) << " + " << dtype_name(c.b);
}

TEST(Cat, EmptyInputsAndLegacyEmpty) {
  Tensor x = sample({2, 3}, DType::f32, 35);
  // torch.cat([torch.zeros(2, 3), torch.zeros(0, dtype=torch.float64)]) -> float64 (2, 3): a 1-D [0]
  // tensor is skipped in the shape checks but still takes part in dtype promotion.
  Tensor out = ops::cat({x, zeros({0}, DType::f64)}, 1);
  EXPECT_EQ(out.dtype(), DType::f64);
  expect_same_values(out, x);
  EXPECT_EQ(ops::cat({zeros({0}), zeros({0}, DType::i32)}, 0).shape(), (Shape{0}));
  EXPECT_EQ(ops::cat({zeros({2, 0}), x}, 1).shape(), (Shape{2, 3}));
}

TEST(Cat, BadInputs) {
  expect_error([] { ops::cat({zeros({2, 3}), zeros({2, 4})}, 0); },
               {"cat", "tensor 1 has shape [2, 4]", "every dim except dim 0", "dim 1: 4 vs 3"});
  expect_error([] { ops::cat({zeros({2, 3}), zeros({2})}, 0); }, {"cat", "tensor 1 has shape [2]", "same number of dims"});
  expect_error([] { ops::cat({zeros({}), zeros({2})}, 0); }, {"cat", "zero-dimensional", "position 0"});
  expect_error([] { ops::cat({}, 0); }, {"cat", "non-empty"});
  expect_error([] { ops::cat({zeros({2})}, 1); }, {"cat", "dimension 1 out of range"});
}

TEST(Stack, InsertsANewDim) {
  // torch.stack([torch.tensor([1, 2]), torch.tensor([3, 4])], dim=-1).tolist() -> [[1, 3], [2, 4]]
  Tensor out = ops::stack({from_vector<int64_t>({1, 2}, {2}), from_vector<int64_t>({3, 4}, {2})}, -1);
  EXPECT_EQ(out.shape(), (Shape{2, 2}));
  EXPECT_EQ(to_vector<int64_t>(out), (std::vector<int64_t>{1, 3, 2, 4}));
  for (Layout layout : all_layouts())
    for (int64_t dim : {0, 1, 2, -3}) {
      std::vector<Tensor> xs{with_layout(sample({3, 4}, DType::f32, 36), layout), sample({3, 4}, DType::f32, 37)};
      Tensor s = ops::stack(xs, dim);
      const int64_t d = dim < 0 ? dim + 3 : dim;
      expect_same_values(s, reference(s.shape(), [&](std::vector<int64_t> i) {
                           const int64_t k = i[size_t(d)];
                           i.erase(i.begin() + d);
                           return xs[size_t(k)].at(i);
                         }));
    }
  EXPECT_EQ(ops::stack({scalar_tensor(1.0), scalar_tensor(2.0)}, 0).shape(), (Shape{2}));
  expect_error([] { ops::stack({zeros({2, 3}), zeros({2, 4})}, 0); },
               {"stack", "same shape", "[2, 3] at entry 0", "[2, 4] at entry 1"});
  expect_error([] { ops::stack({zeros({2})}, 2); }, {"stack", "dimension 2"});
}

TEST(Split, ViewsWithTorchSizing) {
  Tensor x = with_layout(sample({4, 7}, DType::f32, 38), Layout::sliced);
  std::vector<Tensor> parts = ops::split(x, 3, -1);
  ASSERT_EQ(parts.size(), 3u);
  int64_t start = 0;
  for (const Tensor& p : parts) {
    EXPECT_EQ(p.storage(), x.storage());  // views, not copies
    expect_same_values(p, ops::narrow(x, 1, start, p.size(1)));
    start += p.size(1);
  }
  EXPECT_EQ(parts[2].shape(), (Shape{4, 1}));
  auto sized = ops::split_with_sizes(x, {2, 0, 5}, 1);
  ASSERT_EQ(sized.size(), 3u);
  EXPECT_EQ(sized[1].shape(), (Shape{4, 0}));
  expect_same_values(sized[2], ops::narrow(x, 1, 2, 5));
  // torch.split(torch.zeros(0), 0) -> one empty part
  EXPECT_EQ(ops::split(zeros({0}), 0, 0).size(), 1u);
  expect_error([] { ops::split(zeros({5}), 0, 0); }, {"split", "split_size", "got 0", "size 5"});
  expect_error([&] { ops::split_with_sizes(x, {2, 4}, 1); }, {"split_with_sizes", "[2, 4]", "add up to 6", "size 7"});
}

TEST(Chunk, MatchesTorchSizes) {
  // [t.shape[0] for t in torch.chunk(torch.zeros(n), chunks)]:
  //   n=5, 4 -> [2, 2, 1];  n=6, 4 -> [2, 2, 2];  n=2, 4 -> [1, 1];  n=0, 3 -> [0, 0, 0]
  struct Sizes { int64_t n, chunks; std::vector<int64_t> sizes; };
  for (const Sizes& c : {Sizes{5, 4, {2, 2, 1}}, Sizes{6, 4, {2, 2, 2}}, Sizes{2, 4, {1, 1}}, Sizes{0, 3, {0, 0, 0}}}) {
    std::vector<int64_t> sizes;
    for (const Tensor& t : ops::chunk(zeros({3, c.n}), c.chunks, 1)) sizes.push_back(t.size(1));
    EXPECT_EQ(sizes, c.sizes) << "n=" << c.n << " chunks=" << c.chunks;
  }
  expect_error([] { ops::chunk(zeros({4}), 0, 0); }, {"chunk", "positive", "got 0"});
}

TEST(Repeat, MatchesLoopAndTorch) {
  // torch.arange(6).reshape(2, 3).repeat(2, 1, 2).tolist()
  //   -> [[[0, 1, 2, 0, 1, 2], [3, 4, 5, 3, 4, 5]], [[0, 1, 2, 0, 1, 2], [3, 4, 5, 3, 4, 5]]]
  Tensor r = ops::repeat(ops::reshape(arange(6), {2, 3}), {2, 1, 2});
  EXPECT_EQ(r.shape(), (Shape{2, 2, 6}));
  EXPECT_EQ(to_vector<int64_t>(r), (std::vector<int64_t>{0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5,
                                                         0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5}));
  for (DType dt : {DType::f64, DType::bf16, DType::b8})
    for (Layout layout : all_layouts()) {
      Tensor x = with_layout(sample({2, 3, 1}, dt, 39), layout);
      Tensor out = ops::repeat(x, {2, 1, 3, 4});
      EXPECT_EQ(out.shape(), (Shape{2, 2, 9, 4}));
      expect_same_values(out, reference(out.shape(), [&](const std::vector<int64_t>& i) {
                           return x.at({i[1] % 2, i[2] % 3, 0});
                         }));
    }
  EXPECT_EQ(ops::repeat(zeros({2, 3}), {2, 0, 1}).shape(), (Shape{2, 0, 3}));
  expect_error([] { ops::repeat(zeros({2, 3}), {2}); }, {"repeat", "1 repeats [2]", "2 dims"});
  expect_error([] { ops::repeat(zeros({2}), {-1}); }, {"repeat", "non-negative", "[-1]"});
}

TEST(Pad, MatchesLoopWithPositiveAndNegativePads) {
  const Shape pads{2, -1, -1, 3, 1, 0};  // last dim (2, -1), then (-1, 3), then (1, 0)
  for (DType dt : {DType::f32, DType::i64, DType::bf16, DType::u8})
    for (Layout layout : all_layouts()) {
      Tensor x = with_layout(sample({2, 3, 4, 5}, dt, 40), layout);
      Tensor out = ops::pad(x, pads, 7);
      EXPECT_EQ(out.shape(), (Shape{2, 4, 6, 6}));
      expect_same_values(out, reference(out.shape(), [&](const std::vector<int64_t>& i) {
                           std::vector<int64_t> src{i[0], i[1] - 1, i[2] + 1, i[3] - 2};
                           for (size_t d = 0; d < 4; ++d)
                             if (src[d] < 0 || src[d] >= x.shape()[d]) return 7.0;
                           return x.at(src);
                         }),
                         std::string(dtype_name(dt)) + " " + layout_name(layout));
    }
}

TEST(Pad, MatchesTorch) {
  // F.pad(torch.arange(6).reshape(2, 3), (1, -1, -1, 2), value=9).tolist() -> [[9, 3, 4], [9, 9, 9], [9, 9, 9]]
  Tensor a = ops::pad(ops::reshape(arange(6), {2, 3}), {1, -1, -1, 2}, 9);
  EXPECT_EQ(a.shape(), (Shape{3, 3}));
  EXPECT_EQ(to_vector<int64_t>(a), (std::vector<int64_t>{9, 3, 4, 9, 9, 9, 9, 9, 9}));
  // F.pad(torch.arange(4.).reshape(1, 2, 2), (0, 0, 1, 0, 1, 1), value=-1).tolist()
  //   -> [[[-1, -1], [-1, -1], [-1, -1]], [[-1, -1], [0, 1], [2, 3]], [[-1, -1], [-1, -1], [-1, -1]]]
  Tensor b = ops::pad(ops::reshape(arange(4, DType::f32), {1, 2, 2}), {0, 0, 1, 0, 1, 1}, -1);
  EXPECT_EQ(b.shape(), (Shape{3, 3, 2}));
  EXPECT_EQ(to_vector<float>(b), (std::vector<float>{-1, -1, -1, -1, -1, -1, -1, -1, 0, 1, 2, 3,
                                                     -1, -1, -1, -1, -1, -1}));
  // F.pad(torch.zeros(2, 3), (-2, -1)).shape -> (2, 0); a crop past the padding leaves an empty dim
  EXPECT_EQ(ops::pad(zeros({2, 3}), {-2, -1}).shape(), (Shape{2, 0}));
  EXPECT_EQ(ops::pad(zeros({2, 3}), {2, -5}).shape(), (Shape{2, 0}));
  EXPECT_EQ(ops::pad(zeros({2, 3}), {}).shape(), (Shape{2, 3}));
}

TEST(Pad, BadInputs) {
  expect_error([] { ops::pad(zeros({2, 3}), {-2, -2}); }, {"pad", "(-2, -2)", "dim 1 of size 3", "negative size -1"});
  expect_error([] { ops::pad(zeros({2, 3}), {1, 1, 1, 1, 1, 1}); }, {"pad", "6 padding values", "2 dims", "at most 4"});
  expect_error([] { ops::pad(zeros({2, 3}), {1}); }, {"pad", "even", "got 1"});
}
