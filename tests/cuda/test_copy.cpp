// Transfers, device casts, strided/broadcast copies and fills: the GPU must reproduce the CPU's
// results exactly (a copy or a cast has only one right answer).
#include <algorithm>
#include <cmath>

#include "tests/cuda/gpu_test.hpp"

using namespace cj;
using namespace cj::test;

namespace {
const DType kAll[] = {DType::f32, DType::f64, DType::bf16, DType::f16, DType::i32, DType::i64, DType::u8, DType::b8};

// Values in [0, 100) with a fractional part (non-negative so float -> u8 is defined on both sides).
Tensor sample(const Shape& shape, DType dtype, uint32_t seed) { return random_cpu(shape, dtype, seed, 0.f, 100.f); }
}  // namespace

TEST(CudaCopy, RoundTripKeepsEveryDtypeBitExact) {
  CJ_REQUIRE_GPU();
  for (DType t : kAll) {
    Tensor x = sample({3, 17}, t, 1);
    Tensor back = to_cpu(to_gpu(x));
    EXPECT_TRUE(to_gpu(x).is_cuda());
    EXPECT_EQ(back.dtype(), t);
    EXPECT_EQ(values(back), values(x)) << dtype_name(t);
  }
}

TEST(CudaCopy, DeviceCastsMatchTheCpuForEveryDtypePair) {
  CJ_REQUIRE_GPU();
  for (DType from : kAll) {
    Tensor x = sample({5, 13}, from, 2);
    Tensor xg = to_gpu(x);
    for (DType to : kAll) {
      Tensor got = ops::to(xg, to);
      EXPECT_TRUE(got.is_cuda());
      EXPECT_EQ(got.dtype(), to);
      EXPECT_EQ(values(got), values(ops::to(x, to))) << dtype_name(from) << " -> " << dtype_name(to);
    }
  }
}

TEST(CudaCopy, StridedBroadcastCastingCopyOnTheDevice) {
  CJ_REQUIRE_GPU();
  Tensor src = random_cpu({5, 1}, DType::f32, 3);
  Tensor dst_cpu = zeros({6, 4, 5}, DType::bf16);
  Tensor dst_gpu = to_gpu(dst_cpu);
  // write into a permuted view: (4, 5, 6) over a (6, 4, 5) buffer
  ops::copy_(ops::permute(dst_cpu, {1, 2, 0}), ops::expand(src, {4, 5, 6}));
  ops::copy_(ops::permute(dst_gpu, {1, 2, 0}), ops::expand(to_gpu(src), {4, 5, 6}));
  EXPECT_EQ(values(dst_gpu), values(dst_cpu));
}

TEST(CudaCopy, HostToDeviceAndBackIntoStridedViews) {
  CJ_REQUIRE_GPU();
  Tensor src = random_cpu({7, 9}, DType::f64, 4);
  Tensor dst_gpu = zeros({9, 7}, {DType::f32, Device::cuda()});
  ops::copy_(ops::transpose(dst_gpu, 0, 1), src);  // host f64 -> strided device f32
  Tensor dst_cpu = zeros({9, 7}, DType::f32);
  ops::copy_(ops::transpose(dst_cpu, 0, 1), src);
  EXPECT_EQ(values(dst_gpu), values(dst_cpu));
  Tensor host = zeros({3, 9}, DType::f16);
  ops::copy_(ops::slice(host, 0, 0, 3), ops::narrow(ops::transpose(dst_gpu, 0, 1), 0, 2, 3));  // device -> host
  EXPECT_EQ(values(host), values(ops::to(ops::narrow(src, 0, 2, 3), DType::f16)));
}

TEST(CudaCopy, TransfersLargerThanTheStagingBufferArriveWhole) {
  CJ_REQUIRE_GPU();
  Tensor x = sample({10 * 1000 * 1000 + 7}, DType::f32, 5);  // 40 MiB > the 32 MiB pinned buffer
  EXPECT_EQ(values(to_cpu(to_gpu(x))), values(x));
}

// Uploads return once the bytes are staged in the pinned ring, not when they arrive: the host may
// overwrite its buffer at once, and the ring must not recycle a region a queued copy still reads,
// even when the GPU is far behind (a queue of matmuls first) and uploads lap the 64 MiB ring.
TEST(CudaCopy, QueuedUploadsArriveIntactWhileTheHostRefillsItsBuffer) {
  CJ_REQUIRE_GPU();
  Tensor a = to_gpu(random_cpu({2048, 2048}, DType::f32, 6));
  for (int i = 0; i < 20; ++i) a = ops::div(ops::matmul(a, a), Scalar(2048.0));  // keeps the stream busy a while
  const int64_t sizes[] = {1, 1000, 5 * 1000 * 1000, 17 * 1000 * 1000 + 3};  // up to 68 MB > the ring
  std::vector<Tensor> uploaded;
  std::vector<double> expected;
  Tensor host = Tensor::empty({sizes[3]}, DType::f32);
  for (int i = 0; i < 24; ++i) {
    const int64_t n = sizes[i % 4];
    Tensor view = ops::narrow(host, 0, 0, n);
    ops::fill_(view, Scalar(double(i + 1)));
    uploaded.push_back(to_gpu(view));
    ops::fill_(host, Scalar(-1.0));  // the upload must not read this
    expected.push_back(double(i + 1));
  }
  EXPECT_TRUE(std::isfinite(values(ops::sum(a))[0]));
  for (std::size_t i = 0; i < uploaded.size(); ++i) {
    const std::vector<double> got = values(uploaded[i]);
    ASSERT_EQ(int64_t(got.size()), sizes[i % 4]);
    const auto wrong = std::find_if(got.begin(), got.end(), [&](double v) { return v != expected[i]; });
    EXPECT_TRUE(wrong == got.end()) << "upload " << i << " of " << got.size() << " values: element "
                                    << (wrong - got.begin()) << " is " << (wrong == got.end() ? 0.0 : *wrong)
                                    << ", expected " << expected[i];
  }
}

TEST(CudaCopy, CloneAndContiguousOfNonContiguousViews) {
  CJ_REQUIRE_GPU();
  Tensor x = random_cpu({4, 6, 8}, DType::f32, 6);
  Tensor view_gpu = ops::slice(ops::permute(to_gpu(x), {2, 0, 1}), 0, 1, 8, 3);
  Tensor view_cpu = ops::slice(ops::permute(x, {2, 0, 1}), 0, 1, 8, 3);
  Tensor c = ops::contiguous(view_gpu);
  EXPECT_TRUE(c.is_cuda() && c.is_contiguous());
  EXPECT_EQ(values(c), values(view_cpu));
  EXPECT_EQ(values(ops::clone(view_gpu)), values(view_cpu));
  EXPECT_EQ(values(view_gpu), values(view_cpu));
}

TEST(CudaCopy, FillWritesOnlyTheView) {
  CJ_REQUIRE_GPU();
  for (DType t : kAll) {
    Tensor cpu = zeros({6, 5}, t);
    Tensor gpu = to_gpu(cpu);
    ops::fill_(ops::slice(ops::transpose(gpu, 0, 1), 1, 1, 6, 2), 3.5);
    ops::fill_(ops::slice(ops::transpose(cpu, 0, 1), 1, 1, 6, 2), 3.5);
    EXPECT_EQ(values(gpu), values(cpu)) << dtype_name(t);
  }
  EXPECT_EQ(values(full({3}, 2.0, {DType::bf16, Device::cuda()})), (std::vector<double>{2, 2, 2}));
}

TEST(CudaCopy, MismatchedShapesAreRefused) {
  CJ_REQUIRE_GPU();
  Tensor dst = zeros({3, 4}, {DType::f32, Device::cuda()});
  EXPECT_THROW(ops::copy_(dst, zeros({3, 5})), Error);
  EXPECT_THROW(ops::copy_(dst, zeros({2, 4}, {DType::f32, Device::cuda()})), Error);
}
