// The reductions beyond sum/mean/amax (prod, amin, integer and bool inputs, max/min with indices,
// argmax/argmin, cumsum, var/std, logsumexp, all/any) and the in-place ops against the CPU.
#include <cmath>

#include "tests/cuda/op_check.hpp"

using namespace cj;
using namespace cj::test;

namespace {

const std::vector<DType> kAll = {DType::f32, DType::f64, DType::bf16, DType::f16,
                                 DType::i32, DType::i64, DType::u8,   DType::b8};
const std::vector<DType> kFloat = {DType::f32, DType::f64, DType::bf16, DType::f16};

std::string name(const char* op, DType dt) { return std::string(op) + " " + dtype_name(dt); }

Tensor with_nans(Tensor x, uint32_t seed) {
  if (!is_floating(x.dtype())) return x;
  return ops::where(ops::gt(sample_cpu(x.shape(), DType::f32, seed), 3.5f), ops::to(full({}, NAN), x.dtype()), x);
}

}  // namespace

TEST(CudaReduce, SumProdAminAmaxOfEveryDtype) {
  CJ_REQUIRE_GPU();
  for (DType dt : kAll)
    for (const ops::Dims& dims : std::vector<ops::Dims>{{}, {1}, {0, 2}})
      for (bool keep : {false, true}) {
        const std::string what = std::string(dtype_name(dt)) + " dims " + std::to_string(dims.size()) + (keep ? " keep" : "");
        Tensor x = sample_cpu({3, 5, 4}, dt, 1, -2.f, 2.f);
        const double tol = is_floating(dt) ? tolerance(dt) : 0;
        expect_op_matches_cpu("sum " + what, [&](const std::vector<Tensor>& t) { return ops::sum(t[0], dims, keep); },
                              {x}, tol);
        expect_op_matches_cpu("mean " + what, [&](const std::vector<Tensor>& t) { return ops::mean(t[0], dims, keep); },
                              {x}, is_floating(dt) ? tol : 1e-6);
        expect_op_matches_cpu("prod " + what, [&](const std::vector<Tensor>& t) { return ops::prod(t[0], dims, keep); },
                              {x}, tol);
        expect_op_matches_cpu("amin " + what, [&](const std::vector<Tensor>& t) { return ops::amin(t[0], dims, keep); },
                              {with_nans(x, 2)}, 0);
        expect_op_matches_cpu("amax " + what, [&](const std::vector<Tensor>& t) { return ops::amax(t[0], dims, keep); },
                              {with_nans(x, 3)}, 0);
      }
}

// Rows longer than 1024 take the block path: block_reduce with int64 accumulators (shuffles and
// the cross-warp combine) for integers and bools, float/double for the rest.
TEST(CudaReduce, LongRowsOfEveryDtypeTakeTheBlockPath) {
  CJ_REQUIRE_GPU();
  for (DType dt : kAll) {
    Tensor x = sample_cpu({3, 1500}, dt, 40, -2.f, 2.f);
    // prod over +-1 (+1 for u8 and bool): exact in every dtype, and the sign depends on every element
    Tensor signs = ops::sign(sample_cpu({3, 1500}, DType::f32, 41));
    if (dt == DType::u8 || dt == DType::b8) signs = ops::abs(signs);
    Tensor ones_and_minus = ops::to(signs, dt);
    const double tol = is_floating(dt) ? tolerance(dt) : 0;
    const std::string what = name(" long rows", dt);
    expect_op_matches_cpu("sum" + what, [](const std::vector<Tensor>& t) { return ops::sum(t[0], {-1}, false); }, {x}, tol);
    expect_op_matches_cpu("prod" + what, [](const std::vector<Tensor>& t) { return ops::prod(t[0], {-1}, false); },
                          {ones_and_minus}, tol);
    expect_op_matches_cpu("amin" + what, [](const std::vector<Tensor>& t) { return ops::amin(t[0], {-1}, false); },
                          {with_nans(x, 42)}, 0);
    expect_op_matches_cpu("amax" + what, [](const std::vector<Tensor>& t) { return ops::amax(t[0], {-1}, true); },
                          {with_nans(x, 43)}, 0);
  }
}

TEST(CudaReduce, MaxMinArgAndCumsumAlongADim) {
  CJ_REQUIRE_GPU();
  for (DType dt : kAll)
    for (int64_t dim : {0, 1, -1})
      for (bool keep : {false, true}) {
        const std::string what = name("", dt) + " dim " + std::to_string(dim) + (keep ? " keep" : "");
        Tensor x = with_nans(sample_cpu({4, 6, 5}, dt, 4), 5);  // small integers: ties take the first index
        expect_op_matches_cpu("max values" + what, [&](const std::vector<Tensor>& t) { return ops::max(t[0], dim, keep).first; },
                              {x}, 0);
        expect_op_matches_cpu("max indices" + what,
                              [&](const std::vector<Tensor>& t) { return ops::max(t[0], dim, keep).second; }, {x}, 0);
        expect_op_matches_cpu("min indices" + what,
                              [&](const std::vector<Tensor>& t) { return ops::min(t[0], dim, keep).second; }, {x}, 0);
        expect_op_matches_cpu("argmax" + what, [&](const std::vector<Tensor>& t) { return ops::argmax(t[0], dim, keep); },
                              {x}, 0);
        expect_op_matches_cpu("argmin" + what, [&](const std::vector<Tensor>& t) { return ops::argmin(t[0], dim, keep); },
                              {x}, 0);
        if (!keep)
          expect_op_matches_cpu("cumsum" + what, [&](const std::vector<Tensor>& t) { return ops::cumsum(t[0], dim); },
                                {sample_cpu({4, 6, 5}, dt, 6)}, is_floating(dt) ? tolerance(dt) : 0);
      }
}

TEST(CudaReduce, MomentsLogsumexpAndTruth) {
  CJ_REQUIRE_GPU();
  for (DType dt : kFloat)
    for (const ops::Dims& dims : std::vector<ops::Dims>{{}, {1}, {0, 2}})
      for (bool keep : {false, true}) {
        const std::string what = name("", dt) + " dims " + std::to_string(dims.size()) + (keep ? " keep" : "");
        Tensor x = sample_cpu({3, 5, 4}, dt, 7);
        expect_op_matches_cpu("var" + what, [&](const std::vector<Tensor>& t) { return ops::var(t[0], dims, true, keep); },
                              {x}, tolerance(dt));
        expect_op_matches_cpu("std" + what, [&](const std::vector<Tensor>& t) { return ops::std(t[0], dims, false, keep); },
                              {x}, tolerance(dt));
        if (!dims.empty())
          expect_op_matches_cpu("logsumexp" + what,
                                [&](const std::vector<Tensor>& t) { return ops::logsumexp(t[0], dims, keep); }, {x},
                                tolerance(dt));
      }
  for (DType dt : kAll) {
    expect_op_matches_cpu(name("all", dt), [](const std::vector<Tensor>& t) { return ops::all(t[0]); },
                          {sample_cpu({3, 4}, dt, 8)}, 0);
    expect_op_matches_cpu(name("any", dt), [](const std::vector<Tensor>& t) { return ops::any(t[0]); },
                          {sample_cpu({3, 4}, dt, 9, 0.f, 1.1f)}, 0);
  }
}

TEST(CudaInplace, InPlaceOpsMatchTheCpuAndBumpTheVersion) {
  CJ_REQUIRE_GPU();
  for (DType dt : {DType::f32, DType::bf16, DType::i64}) {
    auto run = [&](Device device) {
      Tensor self = ops::to(sample_cpu({3, 4}, dt, 10), device);
      Tensor other = ops::to(sample_cpu({4}, dt, 11, 1.f, 3.f), device);
      ops::add_(self, other, 2);
      ops::sub_(self, other);
      ops::mul_(self, other);
      if (is_floating(dt)) ops::div_(self, other);
      ops::add_(self, 3);
      ops::mul_(self, 2);
      ops::clamp_(self, -5, 40);
      return self;
    };
    Tensor want = run(Device::cpu()), got = run(Device::cuda());
    EXPECT_LE(normalized_error(values(got), values(want)), tolerance(dt)) << dtype_name(dt);
  }
  Tensor self = to_gpu(zeros({2, 3}));
  const auto before = self.version();
  ops::add_(self, to_gpu(ones({3})));
  EXPECT_GT(self.version(), before);
  EXPECT_THROW(ops::add_(to_gpu(zeros({3}, DType::i32)), to_gpu(ones({3}))), Error);  // float into int
  EXPECT_THROW(ops::mul_(to_gpu(zeros({3})), to_gpu(ones({2, 3}))), Error);           // shape grows
}
