// index.cu, sort.cu and the composite index/mask ops against the CPU ops, plus the device-generic
// joins (pad, cat, stack, repeat): every dtype they move, strided inputs, repeated indices, and
// the CPU ops' errors for out-of-range indices.
#include "tests/cuda/op_check.hpp"

using namespace cj;
using namespace cj::test;

namespace {

const std::vector<DType> kAll = {DType::f32, DType::f64, DType::bf16, DType::f16,
                                 DType::i32, DType::i64, DType::u8,   DType::b8};
const std::vector<DType> kAddable = {DType::f32, DType::f64, DType::bf16, DType::f16, DType::i32, DType::i64};

Tensor indices(const Shape& shape, int64_t bound, uint32_t seed) {
  return ops::to(sample_cpu(shape, DType::f32, seed, 0.f, float(bound) - 0.01f), DType::i64);
}

std::string name(const char* op, DType dt) { return std::string(op) + " " + dtype_name(dt); }

}  // namespace

TEST(CudaIndex, GatherAndIndexSelectMatchTheCpu) {
  CJ_REQUIRE_GPU();
  for (DType dt : kAll)
    for (int64_t dim : {0, 1, -1}) {
      const std::string what = name("gather", dt) + " dim " + std::to_string(dim);
      Tensor x = sample_cpu({4, 5, 6}, dt, 1);
      const int64_t d = dim < 0 ? 2 : dim;
      Shape ishape{3, 4, 5};
      Tensor idx = indices(ishape, x.size(d), 2);
      expect_op_matches_cpu(what, [dim](const std::vector<Tensor>& t) { return ops::gather(t[0], dim, t[1]); },
                            {x, idx}, 0);
      expect_op_matches_cpu(what + " permuted x",
                            [dim](const std::vector<Tensor>& t) { return ops::gather(ops::permute(t[0], {2, 1, 0}), dim, t[1]); },
                            {sample_cpu({6, 5, 6}, dt, 3), indices(ishape, 5, 4)}, 0);
      expect_op_matches_cpu(name("index_select", dt),
                            [dim](const std::vector<Tensor>& t) { return ops::index_select(t[0], dim, t[1]); },
                            {x, indices({7}, x.size(d), 5)}, 0);
    }
  Tensor w = sample_cpu({10, 4}, DType::f32, 6);
  expect_op_matches_cpu("embedding", [](const std::vector<Tensor>& t) { return ops::embedding(t[0], t[1]); },
                        {w, indices({2, 3}, 10, 7)}, 0);
  expect_op_matches_cpu("embedding i32 index",
                        [](const std::vector<Tensor>& t) { return ops::embedding(t[0], ops::to(t[1], DType::i32)); },
                        {w, indices({5}, 10, 8)}, 0);
}

TEST(CudaIndex, ScatterScatterAddAndIndexAddMatchTheCpu) {
  CJ_REQUIRE_GPU();
  // scatter with a permutation (no repeats, so the result does not depend on write order)
  Tensor perm = from_vector<int64_t>({3, 0, 4, 1, 2, 4, 2, 0, 1, 3}, {2, 5});
  for (DType dt : kAll)
    expect_op_matches_cpu(name("scatter", dt),
                          [](const std::vector<Tensor>& t) { return ops::scatter(t[0], 1, t[1], t[2]); },
                          {sample_cpu({3, 5}, dt, 9), perm, sample_cpu({2, 5}, dt, 10)}, 0);
  for (DType dt : kAddable) {
    const double tol = tolerance(dt);
    expect_op_matches_cpu(name("scatter_add", dt),
                          [](const std::vector<Tensor>& t) { return ops::scatter_add(t[0], 0, t[1], t[2]); },
                          {sample_cpu({4, 6}, dt, 11), indices({7, 5}, 4, 12), sample_cpu({7, 6}, dt, 13)}, tol);
    expect_op_matches_cpu(name("index_add", dt),
                          [](const std::vector<Tensor>& t) { return ops::index_add(t[0], 1, t[1], t[2]); },
                          {sample_cpu({3, 4, 2}, dt, 14), indices({6}, 4, 15), sample_cpu({3, 6, 2}, dt, 16)}, tol);
  }
  for (DType dt : {DType::f32, DType::f64, DType::bf16, DType::f16})
    expect_op_matches_cpu(name("embedding_backward", dt),
                          [](const std::vector<Tensor>& t) { return ops::embedding_backward(t[0], t[1], 5); },
                          {sample_cpu({3, 4, 6}, dt, 17), indices({3, 4}, 5, 18)}, tolerance(dt));
  expect_op_matches_cpu("one_hot", [](const std::vector<Tensor>& t) { return ops::one_hot(t[0], -1); },
                        {indices({2, 3}, 6, 19)}, 0);
}

TEST(CudaIndex, OutOfRangeIndicesRaiseTheCpuErrors) {
  CJ_REQUIRE_GPU();
  Tensor x = to_gpu(sample_cpu({3, 4}, DType::f32, 20));
  Tensor bad = to_gpu(from_vector<int64_t>({0, 4, 1}, {3}));
  auto expect_error = [](const std::function<void()>& f, const std::string& op) {
    try {
      f();
      ADD_FAILURE() << op << " did not throw";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(op + ": index 4 is out of range"), std::string::npos) << e.what();
    }
  };
  expect_error([&] { ops::index_select(x, 1, bad); }, "index_select");
  expect_error([&] { ops::gather(x, 1, ops::reshape(bad, {1, 3})); }, "gather");
  expect_error([&] { ops::scatter_add(x, 1, ops::reshape(bad, {1, 3}), x); }, "scatter_add");
  expect_error([&] { ops::embedding(x, bad); }, "embedding");
  EXPECT_THROW(ops::one_hot(bad, 3), Error);
  EXPECT_THROW(ops::gather(x, 1, ops::to(bad, DType::f32)), Error);  // index dtype
}

TEST(CudaIndex, MaskedFillAndSelectMatchTheCpu) {
  CJ_REQUIRE_GPU();
  for (DType dt : kAll) {
    std::vector<Tensor> in = {sample_cpu({3, 4}, dt, 21), sample_cpu({2, 1, 4}, DType::b8, 22)};
    expect_op_matches_cpu(name("masked_fill", dt),
                          [](const std::vector<Tensor>& t) { return ops::masked_fill(t[0], t[1], 1); }, in, 0);
    expect_op_matches_cpu(name("masked_select", dt),
                          [](const std::vector<Tensor>& t) { return ops::masked_select(t[0], t[1]); }, in, 0);
  }
}

TEST(CudaSort, SortArgsortAndTopkMatchTheCpu) {
  CJ_REQUIRE_GPU();
  for (DType dt : kAll)
    for (bool desc : {false, true})
      for (int64_t n : {1, 7, 64, 300, 1000, 2048}) {  // 1000, 2048: two slots per thread, the longest block sort
        const std::string what = name("sort", dt) + (desc ? " desc n " : " asc n ") + std::to_string(n);
        Tensor x = sample_cpu({3, n}, dt, 23);  // small integers: many ties, so stability shows
        if (is_floating(dt)) x = ops::where(ops::gt(sample_cpu({3, n}, DType::f32, 24), 3.2f), ops::to(full({}, NAN), dt), x);
        expect_op_matches_cpu(what + " values",
                              [desc](const std::vector<Tensor>& t) { return ops::sort(t[0], 1, desc).first; }, {x}, 0);
        expect_op_matches_cpu(what + " indices",
                              [desc](const std::vector<Tensor>& t) { return ops::sort(t[0], 1, desc).second; }, {x}, 0);
        expect_op_matches_cpu(what + " dim 0",
                              [desc](const std::vector<Tensor>& t) { return ops::argsort(t[0], 0, desc); }, {x}, 0);
        if (dt != DType::b8)
          expect_op_matches_cpu(what + " topk",
                                [desc, n](const std::vector<Tensor>& t) {
                                  auto r = ops::topk(t[0], std::min<int64_t>(n, 5), -1, !desc);
                                  return ops::cat({ops::to(r.first, DType::f64), ops::to(r.second, DType::f64)}, 1);
                                },
                                {x}, 0);
      }
  // longer than one block sorts: the host fallback
  Tensor long_x = sample_cpu({2, 3000}, DType::f32, 25);
  expect_op_matches_cpu("sort 3000", [](const std::vector<Tensor>& t) { return ops::sort(t[0], -1, false).second; },
                        {long_x}, 0);
}

TEST(CudaJoin, PadCatStackRepeatRunOnTheGpu) {
  CJ_REQUIRE_GPU();
  for (DType dt : kAll) {
    expect_op_matches_cpu(name("pad", dt), [](const std::vector<Tensor>& t) { return ops::pad(t[0], {1, -1, 2, 0}, 1); },
                          {sample_cpu({2, 3, 4}, dt, 26)}, 0);
    expect_op_matches_cpu(name("cat", dt),
                          [](const std::vector<Tensor>& t) { return ops::cat({t[0], ops::transpose(t[1], 0, 1)}, 1); },
                          {sample_cpu({3, 2}, dt, 27), sample_cpu({4, 3}, dt, 28)}, 0);
    expect_op_matches_cpu(name("stack", dt), [](const std::vector<Tensor>& t) { return ops::stack({t[0], t[1]}, -1); },
                          {sample_cpu({3, 2}, dt, 29), sample_cpu({3, 2}, dt, 30)}, 0);
    expect_op_matches_cpu(name("repeat", dt), [](const std::vector<Tensor>& t) { return ops::repeat(t[0], {2, 1, 3}); },
                          {sample_cpu({3, 2}, dt, 31)}, 0);
  }
  // tensors of one call must share a device
  EXPECT_THROW(ops::cat({to_gpu(ones({2})), ones({2})}, 0), Error);
}
