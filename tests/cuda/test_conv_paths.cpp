// Both device paths of the convolutions (cuDNN when the build has it, and the native im2col + GEMM
// composite) against the CPU ops: conv2d and conv_transpose2d, forward and every gradient, each
// float dtype, groups (including depthwise), stride, padding, dilation and output_padding.
#include "tests/cuda/op_check.hpp"

using namespace cj;
using namespace cj::test;

namespace {

// Sets the convolution path for one scope and restores the previous one.
struct ConvPathScope {
  cuda::ConvPath saved;
  explicit ConvPathScope(cuda::ConvPath path) : saved(cuda::conv_path()) { cuda::set_conv_path(path); }
  ~ConvPathScope() { cuda::set_conv_path(saved); }
};

std::vector<std::pair<cuda::ConvPath, const char*>> device_paths() {
  std::vector<std::pair<cuda::ConvPath, const char*>> paths{{cuda::ConvPath::native, "native"}};
#ifdef CJ_WITH_CUDNN
  paths.push_back({cuda::ConvPath::cudnn, "cudnn"});
#endif
  return paths;
}

Conv2dParams params(int64_t stride, int64_t pad, int64_t dilation = 1, int64_t groups = 1, int64_t output_pad = 0) {
  Conv2dParams p;
  p.stride_h = p.stride_w = stride, p.pad_h = p.pad_w = pad, p.dilation_h = p.dilation_w = dilation;
  p.groups = groups, p.output_pad_h = p.output_pad_w = output_pad;
  return p;
}

struct ConvCase {
  const char* name;
  Shape x, w;
  Conv2dParams p;
  bool bias;
};

// f64 differs from the CPU only in summation order; the others as every CUDA suite.
double tol(DType dt) { return dt == DType::f64 ? 1e-12 : tolerance(dt); }

void check(const ConvCase& c, bool transposed) {
  for (const auto& [path, path_name] : device_paths()) {
    ConvPathScope scope(path);
    for (DType dt : float_dtypes()) {
      SCOPED_TRACE(std::string(c.name) + " " + path_name + " " + dtype_name(dt));
      Tensor x = random_cpu(c.x, dt, 1, -1.f, 1.f), w = random_cpu(c.w, dt, 2, -0.5f, 0.5f);
      std::optional<Tensor> b;
      if (c.bias) b = random_cpu({transposed ? c.w[1] * c.p.groups : c.w[0]}, dt, 3);
      auto forward = [&](const Tensor& xi, const Tensor& wi, const std::optional<Tensor>& bi) {
        return transposed ? ops::conv_transpose2d(xi, wi, bi, c.p) : ops::conv2d(xi, wi, bi, c.p);
      };
      Tensor want = forward(x, w, b);
      Tensor got = forward(to_gpu(x), to_gpu(w), b ? std::optional<Tensor>(to_gpu(*b)) : std::nullopt);
      ASSERT_TRUE(got.is_cuda());
      ASSERT_EQ(got.shape(), want.shape());
      EXPECT_LE(normalized_error(values(got), values(want)), tol(dt)) << "forward";
      Tensor gy = random_cpu(want.shape(), dt, 4, -1.f, 1.f);
      auto backward = [&](const Tensor& gyi, const Tensor& xi, const Tensor& wi) {
        return transposed ? ops::conv_transpose2d_backward(gyi, xi, wi, c.bias, c.p)
                          : ops::conv2d_backward(gyi, xi, wi, c.bias, c.p);
      };
      ops::ConvGrads ref = backward(gy, x, w), grads = backward(to_gpu(gy), to_gpu(x), to_gpu(w));
      EXPECT_LE(normalized_error(values(grads.gx), values(ref.gx)), tol(dt)) << "grad input";
      EXPECT_LE(normalized_error(values(grads.gw), values(ref.gw)), tol(dt)) << "grad weight";
      ASSERT_EQ(grads.gb.defined(), c.bias);
      if (c.bias) {
        EXPECT_LE(normalized_error(values(grads.gb), values(ref.gb)), tol(dt)) << "grad bias";
      }
    }
  }
}

}  // namespace

TEST(CudaConvPaths, Conv2dMatchesTheCpuOnEveryPath) {
  CJ_REQUIRE_GPU();
  Conv2dParams per_axis = params(2, 1, 2);
  per_axis.stride_w = 3, per_axis.pad_w = 2, per_axis.dilation_w = 1;
  const ConvCase cases[] = {
      {"patch embedding", {2, 3, 30, 29}, {8, 3, 14, 14}, params(14, 0), true},
      {"3x3 same", {2, 4, 9, 10}, {6, 4, 3, 3}, params(1, 1), true},
      {"stride, padding, dilation per axis", {2, 3, 11, 13}, {4, 3, 3, 2}, per_axis, false},
      {"2 groups, stride 2", {2, 4, 9, 8}, {6, 2, 3, 3}, params(2, 1, 1, 2), true},
      {"depthwise", {2, 8, 12, 11}, {8, 1, 3, 3}, params(1, 1, 1, 8), true},
      {"depthwise multiplier 2, dilated", {1, 4, 10, 10}, {8, 1, 3, 3}, params(1, 2, 2, 4), false},
      {"SAVi encoder k5", {2, 16, 16, 16}, {16, 16, 5, 5}, params(1, 2), true},
  };
  for (const ConvCase& c : cases) check(c, false);
}

TEST(CudaConvPaths, ConvTranspose2dMatchesTheCpuOnEveryPath) {
  CJ_REQUIRE_GPU();
  const ConvCase cases[] = {
      {"stride 2 kernel 2", {2, 4, 5, 6}, {4, 3, 2, 2}, params(2, 0), true},
      {"SAVi decoder k5 s2 p2 op1", {2, 16, 8, 8}, {16, 8, 5, 5}, params(2, 2, 1, 1, 1), true},
      {"2 groups, dilated", {2, 4, 5, 6}, {4, 3, 3, 3}, params(2, 1, 2, 2), false},
      {"depthwise", {1, 6, 7, 5}, {6, 1, 3, 3}, params(1, 1, 1, 6), true},
  };
  for (const ConvCase& c : cases) check(c, true);
}

// Views that are not 16-byte aligned or not packed are packed (and aligned) before cuDNN reads them.
TEST(CudaConvPaths, StridedAndOffsetViewsMatchTheCpu) {
  CJ_REQUIRE_GPU();
  auto views = [](const Tensor& big, const Tensor& tall, const Tensor& flat) {  // all (2, 4, 9, 8)
    return std::vector<Tensor>{ops::slice(ops::slice(big, 1, 1, 5), 3, 1, 9),  // at element 82: 328 bytes in
                               ops::transpose(tall, 2, 3),                     // transposed strides
                               // packed but 4 bytes in: contiguous() keeps it, packed() must copy it
                               ops::view(ops::narrow(flat, 0, 1, 2 * 4 * 9 * 8), {2, 4, 9, 8})};
  };
  Tensor big = random_cpu({2, 5, 9, 9}, DType::f32, 9), tall = random_cpu({2, 4, 8, 9}, DType::f32, 10);
  Tensor flat = random_cpu({2 * 4 * 9 * 8 + 1}, DType::f32, 12);
  Tensor w = random_cpu({4, 4, 3, 3}, DType::f32, 11, -0.5f, 0.5f);
  const std::vector<Tensor> cpu = views(big, tall, flat), gpu = views(to_gpu(big), to_gpu(tall), to_gpu(flat));
  const Conv2dParams same = params(1, 1), up = params(2, 1, 1, 1, 1);
  for (const auto& [path, path_name] : device_paths()) {
    ConvPathScope scope(path);
    for (size_t i = 0; i < cpu.size(); ++i) {
      SCOPED_TRACE(std::string(path_name) + " view " + std::to_string(i));
      EXPECT_LE(normalized_error(values(ops::conv2d(gpu[i], to_gpu(w), std::nullopt, same)),
                                 values(ops::conv2d(cpu[i], w, std::nullopt, same))),
                1e-5);
      EXPECT_LE(normalized_error(values(ops::conv_transpose2d(gpu[i], to_gpu(w), std::nullopt, up)),
                                 values(ops::conv_transpose2d(cpu[i], w, std::nullopt, up))),
                1e-5);
    }
  }
}

// output_padding beyond the stride (allowed when dilation is larger) has no cuDNN descriptor: the
// automatic path computes it natively, a forced cuDNN path says why it refuses.
TEST(CudaConvPaths, WhatCudnnCannotTakeRunsNativelyOrIsRefusedWhenForced) {
  CJ_REQUIRE_GPU();
  const Conv2dParams p = params(1, 0, 2, 1, 1);
  Tensor x = random_cpu({1, 2, 4, 5}, DType::f32, 5), w = random_cpu({2, 3, 2, 3}, DType::f32, 6);
  Tensor want = ops::conv_transpose2d(x, w, std::nullopt, p);
  {
    ConvPathScope scope(cuda::ConvPath::automatic);
    Tensor got = ops::conv_transpose2d(to_gpu(x), to_gpu(w), std::nullopt, p);
    EXPECT_LE(normalized_error(values(got), values(want)), 1e-5);
  }
  ConvPathScope scope(cuda::ConvPath::cudnn);
  try {
    ops::conv_transpose2d(to_gpu(x), to_gpu(w), std::nullopt, p);
    ADD_FAILURE() << "a forced cuDNN path took output_padding beyond the stride";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("conv_transpose2d"), std::string::npos) << what;
#ifdef CJ_WITH_CUDNN
    EXPECT_NE(what.find("output_padding"), std::string::npos) << what;
#else
    EXPECT_NE(what.find("no cuDNN"), std::string::npos) << what;
#endif
  }
}

// Bad arguments raise the CPU op's messages on either path.
TEST(CudaConvPaths, BadArgumentsRaiseTheCpuOpErrors) {
  CJ_REQUIRE_GPU();
  for (const auto& [path, path_name] : device_paths()) {
    SCOPED_TRACE(path_name);
    ConvPathScope scope(path);
    Tensor x = to_gpu(random_cpu({1, 4, 6, 6}, DType::f32, 7)), w = to_gpu(random_cpu({6, 3, 3, 3}, DType::f32, 8));
    auto message = [](const std::function<void()>& f) {
      try {
        f();
      } catch (const Error& e) {
        return std::string(e.what());
      }
      return std::string("no error");
    };
    EXPECT_NE(message([&] { ops::conv2d(x, w, std::nullopt, params(1, 0, 1, 2)); }).find("does not fit input"),
              std::string::npos);
    EXPECT_NE(message([&] { ops::conv_transpose2d(x, w, std::nullopt, params(2, 0, 1, 1, 2)); }).find("output_padding"),
              std::string::npos);
  }
}
