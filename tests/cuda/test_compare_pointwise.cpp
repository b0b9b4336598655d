// compare.cu and pointwise.cu against the CPU ops: every dtype each op takes, broadcasting and a
// permuted (strided) operand, NaNs where the rules for them differ from plain arithmetic.
#include <cmath>

#include "tests/cuda/op_check.hpp"

using namespace cj;
using namespace cj::test;

namespace {

const std::vector<DType> kAll = {DType::f32, DType::f64, DType::bf16, DType::f16,
                                 DType::i32, DType::i64, DType::u8,   DType::b8};
const std::vector<DType> kNumeric = {DType::f32, DType::f64, DType::bf16, DType::f16, DType::i32, DType::i64, DType::u8};

// a (3, 4) with NaNs for floating dtypes; b (4) broadcasts; c is a's transpose view of a (4, 3).
std::vector<Tensor> pair_inputs(DType dt, uint32_t seed) {
  Tensor a = sample_cpu({3, 4}, dt, seed), b = sample_cpu({4}, dt, seed + 1);
  if (is_floating(dt)) a = ops::where(ops::gt(sample_cpu({3, 4}, DType::f32, seed + 2), 3.f), ops::to(full({}, NAN), dt), a);
  return {a, b};
}

std::string name(const char* op, DType dt) { return std::string(op) + " " + dtype_name(dt); }

}  // namespace

TEST(CudaCompare, ComparisonsAndLogicMatchTheCpu) {
  CJ_REQUIRE_GPU();
  using Bin = Tensor (*)(const Tensor&, const Tensor&);
  const std::pair<const char*, Bin> ops2[] = {{"eq", ops::eq}, {"ne", ops::ne}, {"lt", ops::lt}, {"le", ops::le},
                                              {"gt", ops::gt}, {"ge", ops::ge}, {"logical_and", ops::logical_and},
                                              {"logical_or", ops::logical_or}, {"logical_xor", ops::logical_xor}};
  for (DType dt : kAll)
    for (const auto& [op, fn] : ops2) {
      expect_op_matches_cpu(name(op, dt), [fn = fn](const std::vector<Tensor>& t) { return fn(t[0], t[1]); },
                            pair_inputs(dt, 1), 0);
      // a strided operand and mixed dtypes (promotion)
      expect_op_matches_cpu(name(op, dt) + " strided, vs f32",
                            [fn = fn](const std::vector<Tensor>& t) { return fn(ops::transpose(t[0], 0, 1), t[1]); },
                            {sample_cpu({3, 4}, dt, 2), sample_cpu({4, 3}, DType::f32, 3)}, 0);
    }
  using WithScalar = Tensor (*)(const Tensor&, Scalar);
  const std::pair<const char*, WithScalar> ops1[] = {{"eq", ops::eq}, {"ne", ops::ne}, {"lt", ops::lt},
                                                     {"le", ops::le}, {"gt", ops::gt}, {"ge", ops::ge}};
  for (DType dt : kAll)
    for (const auto& [op, fn] : ops1) {
      expect_op_matches_cpu(name(op, dt) + " scalar 1", [fn = fn](const std::vector<Tensor>& t) { return fn(t[0], 1); },
                            pair_inputs(dt, 4), 0);
      expect_op_matches_cpu(name(op, dt) + " scalar 0.5",
                            [fn = fn](const std::vector<Tensor>& t) { return fn(t[0], 0.5); }, pair_inputs(dt, 5), 0);
    }
  for (DType dt : kAll)
    expect_op_matches_cpu(name("logical_not", dt), [](const std::vector<Tensor>& t) { return ops::logical_not(t[0]); },
                          pair_inputs(dt, 6), 0);
}

TEST(CudaCompare, WhereBroadcastsAndPromotes) {
  CJ_REQUIRE_GPU();
  for (DType dt : kAll) {
    auto fn = [](const std::vector<Tensor>& t) { return ops::where(t[0], t[1], t[2]); };
    expect_op_matches_cpu(name("where", dt), fn,
                          {sample_cpu({2, 1, 4}, DType::b8, 7), sample_cpu({3, 4}, dt, 8), sample_cpu({4}, dt, 9)}, 0);
    expect_op_matches_cpu(name("where", dt) + " with f64", fn,
                          {sample_cpu({3, 4}, DType::b8, 10), sample_cpu({3, 4}, dt, 11), sample_cpu({1}, DType::f64, 12)},
                          0);
  }
}

TEST(CudaPointwise, UnaryMathsMatchTheCpu) {
  CJ_REQUIRE_GPU();
  using Un = Tensor (*)(const Tensor&);
  const std::pair<const char*, Un> floats[] = {{"sin", ops::sin}, {"cos", ops::cos}, {"erf", ops::erf},
                                               {"expm1", ops::expm1}};
  for (DType dt : kNumeric) {
    for (const auto& [op, fn] : floats)
      expect_op_matches_cpu(name(op, dt), [fn = fn](const std::vector<Tensor>& t) { return fn(t[0]); },
                            {sample_cpu({5, 7}, dt, 13)}, tolerance(dt));
    // no zeros: an infinity in the reference would make the normalised error 0 whatever the GPU gave
    expect_op_matches_cpu(name("reciprocal", dt), [](const std::vector<Tensor>& t) { return ops::reciprocal(t[0]); },
                          {sample_cpu({5, 7}, dt, 28, 1.f, 4.f)}, tolerance(dt));
    expect_op_matches_cpu(name("log1p", dt), [](const std::vector<Tensor>& t) { return ops::log1p(t[0]); },
                          {sample_cpu({5, 7}, dt, 14, 0.f, 4.f)}, tolerance(dt));
    expect_op_matches_cpu(name("abs", dt), [](const std::vector<Tensor>& t) { return ops::abs(t[0]); },
                          pair_inputs(dt, 15), 0);
    expect_op_matches_cpu(name("square", dt), [](const std::vector<Tensor>& t) { return ops::square(t[0]); },
                          pair_inputs(dt, 16), tolerance(dt));
    expect_op_matches_cpu(name("clamp", dt), [](const std::vector<Tensor>& t) { return ops::clamp(t[0], -1, 2); },
                          pair_inputs(dt, 17), 0);
    expect_op_matches_cpu(name("clamp max only", dt),
                          [](const std::vector<Tensor>& t) { return ops::clamp(t[0], std::nullopt, 0.5); },
                          pair_inputs(dt, 18), 0);
  }
  for (DType dt : kAll)
    expect_op_matches_cpu(name("sign", dt), [](const std::vector<Tensor>& t) { return ops::sign(t[0]); },
                          pair_inputs(dt, 19), 0);
  expect_op_matches_cpu("square bool", [](const std::vector<Tensor>& t) { return ops::square(t[0]); },
                        pair_inputs(DType::b8, 20), 0);
}

TEST(CudaPointwise, BinaryMathsMatchTheCpu) {
  CJ_REQUIRE_GPU();
  for (DType dt : kNumeric) {
    const double tol = tolerance(dt);
    expect_op_matches_cpu(name("maximum", dt), [](const std::vector<Tensor>& t) { return ops::maximum(t[0], t[1]); },
                          pair_inputs(dt, 21), 0);
    expect_op_matches_cpu(name("minimum", dt), [](const std::vector<Tensor>& t) { return ops::minimum(t[0], t[1]); },
                          pair_inputs(dt, 22), 0);
    expect_op_matches_cpu(name("rsub", dt), [](const std::vector<Tensor>& t) { return ops::rsub(t[0], 3); },
                          pair_inputs(dt, 23), tol);
    const float lo = is_floating(dt) ? 0.1f : 0.f;  // float pow of negative bases is NaN on both sides; keep real
    expect_op_matches_cpu(name("pow", dt), [](const std::vector<Tensor>& t) { return ops::pow(t[0], t[1]); },
                          {sample_cpu({3, 4}, dt, 24, lo, 3.f), sample_cpu({4}, dt, 25, 0.f, 3.f)}, tol);
    for (double e : {2.0, 0.5, -1.0, 1.7})
      if (is_floating(dt))
        expect_op_matches_cpu(name("pow scalar", dt) + " " + std::to_string(e),
                              [e](const std::vector<Tensor>& t) { return ops::pow(t[0], e); },
                              {sample_cpu({3, 4}, dt, 26, lo, 3.f)}, tol);
    expect_op_matches_cpu(name("pow int scalar", dt), [](const std::vector<Tensor>& t) { return ops::pow(t[0], 3); },
                          {sample_cpu({3, 4}, dt, 27, 0.f, 3.f)}, tol);
  }
  // integer powers with negative exponents: only 1 and -1 survive, as on the CPU
  Tensor base = from_vector<int64_t>({-2, -1, 0, 1, 2, 3}, {6}), exps = from_vector<int64_t>({-1, -3, 2, -2, -1, 2}, {6});
  expect_op_matches_cpu("pow i64 negative exponents", [](const std::vector<Tensor>& t) { return ops::pow(t[0], t[1]); },
                        {base, exps}, 0);
}

TEST(CudaPointwise, ErrorsAreTheCpuOnes) {
  CJ_REQUIRE_GPU();
  Tensor b = to_gpu(ones({3}, DType::b8)), i = to_gpu(ones({3}, DType::i64));
  EXPECT_THROW(ops::abs(b), Error);
  EXPECT_THROW(ops::clamp(b, 0, 1), Error);
  EXPECT_THROW(ops::clamp(i, std::nullopt, std::nullopt), Error);
  EXPECT_THROW(ops::pow(i, -1), Error);
  EXPECT_THROW(ops::where(i, i, i), Error);  // condition must be bool
  EXPECT_THROW(ops::eq(i, to_gpu(ones({4}))), Error);  // shapes do not broadcast
}

TEST(CudaPointwise, KeyPaddingMaskItemAndToVectorWorkOnDeviceTensors) {
  CJ_REQUIRE_GPU();
  Tensor pad = from_vector<float>({0, 1, 1, 0}, {2, 2});
  Tensor m = ops::gt(pad, 0.5f);
  expect_op_matches_cpu("key_padding_to_attn_mask",
                        [](const std::vector<Tensor>& t) { return ops::key_padding_to_attn_mask(t[0]); }, {m}, 0);
  Tensor g = to_gpu(from_vector<float>({1.5f, -2.f}, {2}));
  EXPECT_EQ(ops::amax(g).item<double>(), 1.5);  // item() copies a device scalar to the host
  EXPECT_EQ(to_vector<float>(g), (std::vector<float>{1.5f, -2.f}));
  // the parity helpers compare on the host, so a device tensor can be compared with a CPU one
  EXPECT_EQ(ops::max_rel_error(g, from_vector<float>({1.5f, -2.f}, {2})), 0.0);
  EXPECT_TRUE(ops::allclose(g, from_vector<float>({1.5f, -2.f}, {2})));
}

TEST(CudaPointwise, AddAndSubRefuseWhatTheCpuRefuses) {
  CJ_REQUIRE_GPU();
  Tensor i = to_gpu(ones({3}, DType::i64)), b = to_gpu(ones({3}, DType::b8));
  EXPECT_THROW(ops::add(i, i, 0.5), Error);  // floating alpha, integral result
  EXPECT_THROW(ops::sub(b, b), Error);       // bool subtraction
  EXPECT_NO_THROW(ops::add(i, i, 2));
  // ... and take what it takes: bool add is logical or, bool mul logical and (a bool result)
  const std::vector<Tensor> bools = {sample_cpu({3, 4}, DType::b8, 30), sample_cpu({4}, DType::b8, 31)};
  expect_op_matches_cpu("add bool", [](const std::vector<Tensor>& t) { return ops::add(t[0], t[1]); }, bools, 0);
  expect_op_matches_cpu("mul bool", [](const std::vector<Tensor>& t) { return ops::mul(t[0], t[1]); }, bools, 0);
  expect_op_matches_cpu("add bool scalar", [](const std::vector<Tensor>& t) { return ops::add(t[0], Scalar(true)); },
                        bools, 0);
  expect_op_matches_cpu("mul bool scalar", [](const std::vector<Tensor>& t) { return ops::mul(t[0], Scalar(false)); },
                        bools, 0);
}
