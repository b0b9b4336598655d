// Philox draws on CUDA tensors against the CPU's: the same generator state must give the same
// values bit for bit, for every random op and dtype, contiguous or strided, and advance the
// generator alike.
#include "tests/cuda/bitwise.hpp"

using namespace cj;
using namespace cj::test;

namespace {

// Runs draw(device, generator) on the CPU and on the GPU from the same state (seed 77, offset 5).
template <typename Draw>
void expect_same_stream(const std::string& what, Draw draw) {
  Generator cpu_gen(77), gpu_gen(77);
  cpu_gen.set_state(77, 5), gpu_gen.set_state(77, 5);
  const Tensor want = draw(Device::cpu(), cpu_gen);
  const Tensor got = draw(Device::cuda(), gpu_gen);
  ASSERT_TRUE(got.is_cuda()) << what;
  EXPECT_EQ(got.dtype(), want.dtype()) << what;
  EXPECT_EQ(got.shape(), want.shape()) << what;
  EXPECT_EQ(first_difference(got, want), "") << what << ": CUDA values differ from the CPU's";
  EXPECT_EQ(gpu_gen.offset(), cpu_gen.offset()) << what;
}

TEST(CudaRandom, RandAndRandnEqualTheCpuStreamInEveryDtype) {
  CJ_REQUIRE_GPU();
  for (DType t : float_dtypes())
    for (const Shape& shape : std::vector<Shape>{{1}, {7}, {1000, 33}, {3, 5, 17}}) {
      const std::string where = std::string(dtype_name(t)) + " " + shape_str(shape);
      expect_same_stream("rand " + where, [&](Device d, Generator& g) { return rand(shape, {t, d}, &g); });
      expect_same_stream("randn " + where, [&](Device d, Generator& g) { return randn(shape, {t, d}, &g); });
    }
}

TEST(CudaRandom, UniformNormalAndTruncNormalFillViewsLikeTheCpu) {
  CJ_REQUIRE_GPU();
  for (DType t : float_dtypes()) {
    const std::string name = dtype_name(t);
    auto fill_view = [&](Device d, Generator& g, int which) {
      Tensor base = zeros({64, 48}, {t, d});
      Tensor view = ops::slice(ops::transpose(base, 0, 1), 0, 1, 40, 3);  // strided: goes through a copy
      if (which == 0) uniform_(view, -3, 0.5, &g);
      else if (which == 1) normal_(view, 2, 0.25, &g);
      else trunc_normal_(view, 0, 1, -1.5, 2, &g);
      return base;
    };
    expect_same_stream("uniform_ " + name, [&](Device d, Generator& g) { return fill_view(d, g, 0); });
    expect_same_stream("normal_ " + name, [&](Device d, Generator& g) { return fill_view(d, g, 1); });
    expect_same_stream("trunc_normal_ " + name, [&](Device d, Generator& g) { return fill_view(d, g, 2); });
  }
}

TEST(CudaRandom, RandintEqualsTheCpuStream) {
  CJ_REQUIRE_GPU();
  for (DType t : {DType::i64, DType::i32, DType::u8, DType::f32, DType::bf16})
    expect_same_stream(std::string("randint ") + dtype_name(t), [&](Device d, Generator& g) {
      return randint(-5, t == DType::u8 ? 200 : 1000003, {513, 3}, {t, d}, &g);
    });
  expect_same_stream("randint full i64 range", [&](Device d, Generator& g) {
    return randint(INT64_MIN / 2, INT64_MAX / 2, {257}, {DType::i64, d}, &g);
  });
}

TEST(CudaRandom, DefaultGeneratorAdvancesAcrossDevices) {
  CJ_REQUIRE_GPU();
  manual_seed(9);
  Tensor a = randn({100}, DType::f32);
  Tensor b = randn({100}, {DType::f32, Device::cuda()});
  manual_seed(9);
  Tensor a2 = randn({100}, {DType::f32, Device::cuda()});
  Tensor b2 = randn({100}, DType::f32);
  EXPECT_EQ(first_difference(a2, a), "");
  EXPECT_EQ(first_difference(b, b2), "");
}

}  // namespace
