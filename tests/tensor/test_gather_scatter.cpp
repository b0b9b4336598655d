// index_select, gather, scatter, scatter_add, index_add, embedding, one_hot against naive loops over
// every layout and several dtypes, plus a few values produced by PyTorch.
#include "index_test_util.hpp"

using namespace cj;
using namespace cj::testing;

namespace {

const std::vector<DType> kDTypes{DType::f32, DType::f64, DType::bf16, DType::f16,
                                 DType::i32, DType::i64, DType::u8,   DType::b8};

std::vector<int64_t> with_dim(std::vector<int64_t> i, int64_t dim, int64_t value) {
  i[size_t(dim)] = value;
  return i;
}

}  // namespace

TEST(IndexSelect, MatchesLoopForEveryDimDtypeAndLayout) {
  const Shape shape{3, 4, 5};
  for_each_case(kDTypes, {0, 1, 2, -1}, 3, [&](const Case& c) {
    Tensor x = with_layout(sample(shape, c.dtype, 1), c.layout);
    for (DType index_dt : {DType::i64, DType::i32}) {
      Tensor index = sample_index({7}, shape[size_t(c.d)], 2, index_dt);  // repeats are likely
      Tensor out = ops::index_select(x, c.dim, index);
      EXPECT_EQ(out.dtype(), c.dtype);
      expect_same_values(out, reference(with_dim(shape, c.d, 7), [&](const std::vector<int64_t>& i) {
                           return x.at(with_dim(i, c.d, int64_t(index.at({i[size_t(c.d)]}))));
                         }));
    }
  });
}

TEST(IndexSelect, StridedIndexExpandedInputEmptyAndScalar) {
  Tensor x = ops::expand(sample({1, 4}, DType::f32, 3), {3, 4});  // stride 0 along dim 0
  Tensor index = ops::slice(from_vector<int64_t>({3, 9, 0, 9, 1, 9}, {6}), 0, 0, 6, 2);  // 3, 0, 1
  Tensor out = ops::index_select(x, 1, index);
  expect_same_values(out, reference({3, 3}, [&](const std::vector<int64_t>& i) {
                       return x.at({i[0], std::vector<int64_t>{3, 0, 1}[size_t(i[1])]});
                     }));
  EXPECT_EQ(ops::index_select(x, 0, from_vector<int64_t>({}, {0})).shape(), (Shape{0, 4}));
  Tensor scalar = scalar_tensor(2.5);
  Tensor picked = ops::index_select(scalar, 0, from_vector<int64_t>({0}, {1}));
  EXPECT_EQ(picked.dim(), 0);
  EXPECT_EQ(picked.item(), 2.5);
  EXPECT_EQ(ops::index_select(sample({3}, DType::i64, 4), 0, scalar_tensor(2, DType::i64)).shape(), (Shape{1}));
}

TEST(IndexSelect, BadInputsNameOpValueAndRange) {
  Tensor x = sample({2, 3}, DType::f32, 5);
  expect_error([&] { ops::index_select(x, 1, from_vector<int64_t>({0, 3}, {2})); },
               {"index_select", "index 3", "dim 1 of size 3", "0..2"});
  expect_error([&] { ops::index_select(x, 1, from_vector<int64_t>({-1}, {1})); }, {"index_select", "index -1", "0..2"});
  expect_error([&] { ops::index_select(x, 0, from_vector<int64_t>({0, 1, 0, 1}, {2, 2})); },
               {"index_select", "0-d or 1-D", "[2, 2]"});
  expect_error([&] { ops::index_select(x, 0, tensor({0})); }, {"index_select", "int64 or int32", "float32"});
  expect_error([&] { ops::index_select(x, 2, from_vector<int64_t>({0}, {1})); }, {"index_select", "dimension 2"});
  expect_error([&] { ops::index_select(scalar_tensor(1.0), 0, from_vector<int64_t>({0, 0}, {2})); },
               {"index_select", "exactly one index", "got 2"});
}

TEST(Gather, MatchesLoopForEveryDimDtypeAndLayout) {
  const Shape shape{3, 4, 5};
  for_each_case({DType::f32, DType::bf16, DType::i64, DType::u8, DType::b8}, {0, 1, -1}, 3, [&](const Case& c) {
    Tensor x = with_layout(sample(shape, c.dtype, 6), c.layout);
    // smaller than x outside dim, larger along it
    const Shape index_shape = with_dim({2, 3, 4}, c.d, 6);
    Tensor index = with_layout(sample_index(index_shape, shape[size_t(c.d)], 7), c.layout);
    Tensor out = ops::gather(x, c.dim, index);
    EXPECT_EQ(out.dtype(), c.dtype);
    expect_same_values(out, reference(index_shape, [&](const std::vector<int64_t>& i) {
                         return x.at(with_dim(i, c.d, int64_t(index.at(i))));
                       }));
  });
}

TEST(Gather, ExpandedIndexInt32AndEmpty) {
  Tensor x = sample({4, 6}, DType::f64, 8);
  Tensor index = ops::expand(sample_index({1, 3}, 6, 9, DType::i32), {4, 3});
  Tensor out = ops::gather(x, 1, index);
  expect_same_values(out, reference({4, 3}, [&](const std::vector<int64_t>& i) {
                       return x.at({i[0], int64_t(index.at(i))});
                     }));
  EXPECT_EQ(ops::gather(x, 0, from_vector<int64_t>({}, {0, 6})).shape(), (Shape{0, 6}));
}

TEST(Gather, BadInputs) {
  Tensor x = sample({2, 3}, DType::f32, 10);
  expect_error([&] { ops::gather(x, 1, from_vector<int64_t>({0, 0, 0}, {3, 1})); },
               {"gather", "index shape [3, 1]", "x shape [2, 3]", "outside dim 1"});
  expect_error([&] { ops::gather(x, 1, from_vector<int64_t>({0, 1, 2, 3}, {2, 2})); },
               {"gather", "index 3", "dim 1 of size 3", "0..2"});  // index rows are [0, 1] and [2, 3]
  expect_error([&] { ops::gather(x, 0, from_vector<int64_t>({0}, {1})); }, {"gather", "index has 1 dims", "x has 2"});
}

// Reference for scatter/scatter_add: walks index in row-major order, as the kernel promises.
Tensor scatter_reference(const Tensor& x, int64_t d, const Tensor& index, const Tensor& src, bool add) {
  Tensor out = ops::to(ops::clone(x), DType::f64);
  double* p = out.data<double>();
  const Shape strides = out.strides();
  for_each_index(index.shape(), [&](const std::vector<int64_t>& i) {
    std::vector<int64_t> target = with_dim(i, d, int64_t(index.at(i)));
    int64_t off = 0;
    for (size_t k = 0; k < target.size(); ++k) off += target[k] * strides[k];
    p[off] = add ? p[off] + src.at(i) : src.at(i);
  });
  return out;
}

TEST(Scatter, ScatterAndScatterAddMatchLoop) {
  const Shape shape{4, 5, 3};
  for_each_case({DType::f32, DType::f64, DType::bf16, DType::i32, DType::i64}, {0, 1, -1}, 3, [&](const Case& c) {
    Tensor x = with_layout(sample(shape, c.dtype, 11), c.layout);
    // more entries along dim than the dim has: repeats are certain
    const Shape index_shape = with_dim({3, 4, 2}, c.d, 6);
    Tensor index = with_layout(sample_index(index_shape, shape[size_t(c.d)], 12), c.layout);
    Shape src_shape = index_shape;
    for (auto& s : src_shape) ++s;  // src may be larger than index
    Tensor src = with_layout(sample(src_shape, c.dtype, 13), c.layout);
    Tensor x_before = ops::clone(x);
    expect_same_values(ops::scatter(x, c.dim, index, src), scatter_reference(x, c.d, index, src, false));
    expect_same_values(ops::scatter_add(x, c.dim, index, src), scatter_reference(x, c.d, index, src, true));
    expect_same_values(x, x_before, "x must stay unchanged");
  });
}

TEST(Scatter, BoolAddIsLogicalOrAndU8Wraps) {
  // torch.scatter_add(torch.zeros(3, dtype=torch.bool), 0, torch.tensor([0, 0, 1]),
  //                   torch.tensor([True, False, False])) -> tensor([ True, False, False])
  Tensor b = ops::scatter_add(zeros({3}, DType::b8), 0, from_vector<int64_t>({0, 0, 1}, {3}),
                              from_vector<bool>({true, false, false}, {3}));
  EXPECT_EQ(to_vector<int64_t>(b), (std::vector<int64_t>{1, 0, 0}));
  Tensor u = ops::scatter_add(full({1}, 200, DType::u8), 0, from_vector<int64_t>({0}, {1}), full({1}, 100, DType::u8));
  EXPECT_EQ(u.at({0}), 44.0);  // 300 mod 256, as torch's uint8
}

TEST(Scatter, BadInputs) {
  Tensor x = zeros({2, 3});
  Tensor index = zeros({2, 2}, DType::i64);
  expect_error([&] { ops::scatter(x, 1, index, ones({2, 1})); },
               {"scatter", "index shape [2, 2]", "src shape [2, 1]"});
  expect_error([&] { ops::scatter(x, 1, index, ones({2, 3}, DType::f64)); },
               {"scatter", "src dtype float64", "x dtype float32"});
  expect_error([&] { ops::scatter_add(x, 0, full({2, 2}, 2, DType::i64), ones({2, 2})); },
               {"scatter_add", "index 2", "dim 0 of size 2"});
  expect_error([&] { ops::scatter(x, 1, zeros({3, 2}, DType::i64), ones({3, 2})); },
               {"scatter", "index shape [3, 2]", "x shape [2, 3]"});
}

TEST(IndexAdd, MatchesLoopWithRepeatedIndices) {
  const Shape shape{4, 5, 3};
  for_each_case({DType::f32, DType::bf16, DType::i64, DType::u8}, {0, 1, -1}, 3, [&](const Case& c) {
    Tensor x = with_layout(sample(shape, c.dtype, 14), c.layout);
    Tensor index = sample_index({6}, shape[size_t(c.d)], 15, DType::i32);
    Tensor src = with_layout(sample(with_dim(shape, c.d, 6), c.dtype, 16), c.layout);
    Tensor index_like_src = reference(src.shape(), [&](const std::vector<int64_t>& i) {
      return index.at({i[size_t(c.d)]});
    });
    expect_same_values(ops::index_add(x, c.dim, index, src), scatter_reference(x, c.d, index_like_src, src, true));
  });
}

TEST(IndexAdd, Bf16RoundsEveryAddLikeTorch) {
  // torch.index_add(torch.zeros(3, dtype=torch.bfloat16), 0, torch.tensor([0, 0, 1]),
  //                 torch.tensor([1, 1e-3, 2], dtype=torch.bfloat16)) -> tensor([1., 2., 0.], dtype=torch.bfloat16)
  Tensor src = ops::to(from_vector<float>({1.0f, 1e-3f, 2.0f}, {3}), DType::bf16);
  Tensor out = ops::index_add(zeros({3}, DType::bf16), 0, from_vector<int64_t>({0, 0, 1}, {3}), src);
  EXPECT_EQ(to_vector<float>(out), (std::vector<float>{1, 2, 0}));
}

TEST(IndexAdd, BadInputs) {
  Tensor x = zeros({2, 3});
  expect_error([&] { ops::index_add(x, 1, from_vector<int64_t>({0, 1}, {2}), ones({2, 3})); },
               {"index_add", "src shape [2, 3]", "2 indices along dim 1", "expected 2, got 3"});
  expect_error([&] { ops::index_add(x, 1, from_vector<int64_t>({0, 5}, {2}), ones({2, 2})); },
               {"index_add", "index 5", "dim 1 of size 3"});
  expect_error([&] { ops::index_add(x, 0, from_vector<int64_t>({0}, {1}), ones({1, 3}, DType::bf16)); },
               {"index_add", "src dtype bfloat16"});
}

TEST(Embedding, LooksUpRowsForAnyIndexShape) {
  for (Layout layout : all_layouts())
    for (DType dt : {DType::f32, DType::bf16, DType::f64}) {
      Tensor weight = with_layout(sample({7, 5}, dt, 17), layout);
      Tensor index = with_layout(sample_index({2, 3, 4}, 7, 18, DType::i32), layout);
      Tensor out = ops::embedding(weight, index);
      EXPECT_EQ(out.shape(), (Shape{2, 3, 4, 5}));
      expect_same_values(out, reference(out.shape(), [&](const std::vector<int64_t>& i) {
                           return weight.at({int64_t(index.at({i[0], i[1], i[2]})), i[3]});
                         }));
    }
  Tensor weight = sample({4, 3}, DType::f32, 19);
  EXPECT_EQ(ops::embedding(weight, scalar_tensor(2, DType::i64)).shape(), (Shape{3}));
  EXPECT_EQ(ops::embedding(weight, zeros({0, 2}, DType::i64)).shape(), (Shape{0, 2, 3}));
}

TEST(Embedding, BadInputs) {
  Tensor weight = zeros({4, 3});
  expect_error([&] { ops::embedding(weight, from_vector<int64_t>({1, 4}, {2})); },
               {"embedding", "index 4", "size 4", "0..3"});
  expect_error([&] { ops::embedding(weight, from_vector<int64_t>({-1}, {1})); }, {"embedding", "index -1"});
  expect_error([&] { ops::embedding(zeros({4, 3, 2}), from_vector<int64_t>({0}, {1})); },
               {"embedding", "2-D", "[4, 3, 2]"});
  expect_error([&] { ops::embedding(weight, zeros({2}, DType::u8)); }, {"embedding", "int64 or int32", "uint8"});
}

TEST(OneHot, MatchesTorch) {
  // torch.nn.functional.one_hot(torch.tensor([[0, 2], [1, 0]]), 4).tolist()
  //   -> [[[1, 0, 0, 0], [0, 0, 1, 0]], [[0, 1, 0, 0], [1, 0, 0, 0]]]
  Tensor out = ops::one_hot(from_vector<int64_t>({0, 2, 1, 0}, {2, 2}), 4);
  EXPECT_EQ(out.dtype(), DType::i64);
  EXPECT_EQ(out.shape(), (Shape{2, 2, 4}));
  EXPECT_EQ(to_vector<int64_t>(out), (std::vector<int64_t>{1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 0}));
  // num_classes = -1 infers max + 1; a permuted int32 index reads through its strides.
  Tensor index = ops::transpose(from_vector<int32_t>({0, 1, 2, 0, 3, 1}, {2, 3}), 0, 1);
  Tensor inferred = ops::one_hot(index, -1);
  EXPECT_EQ(inferred.shape(), (Shape{3, 2, 4}));
  expect_same_values(inferred, reference({3, 2, 4}, [&](const std::vector<int64_t>& i) {
                       return double(int64_t(index.at({i[0], i[1]})) == i[2]);
                     }));
  EXPECT_EQ(ops::one_hot(zeros({0}, DType::i64), 3).shape(), (Shape{0, 3}));
}

TEST(OneHot, BadInputs) {
  expect_error([&] { ops::one_hot(from_vector<int64_t>({0, 3}, {2}), 3); },
               {"one_hot", "class value 3", "num_classes 3", "0..2"});
  expect_error([&] { ops::one_hot(from_vector<int64_t>({0, -1}, {2}), 3); }, {"one_hot", "non-negative", "-1"});
  expect_error([&] { ops::one_hot(zeros({0}, DType::i64), -1); }, {"one_hot", "empty index"});
  expect_error([&] { ops::one_hot(zeros({2}), 3); }, {"one_hot", "int64 or int32", "float32"});
}
