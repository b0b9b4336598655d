// Convolutions and interpolate on CUDA tensors through the default path (cuDNN when built with it;
// test_conv_paths.cpp checks each path), interpolate as two GEMMs; forward and backward through
// autograd, against the CPU.
#include "autograd/ops.hpp"
#include "tests/cuda/op_check.hpp"

using namespace cj;
using namespace cj::test;

TEST(CudaConv, PatchEmbeddingAndGeneralConvolutionsMatchTheCpu) {
  CJ_REQUIRE_GPU();
  for (DType dt : float_dtypes()) {
    Conv2dParams patch{14, 14};
    expect_op_matches_cpu(std::string("patch-embedding conv2d ") + dtype_name(dt),
                          [&](const std::vector<Tensor>& t) { return ops::conv2d(t[0], t[1], t[2], patch); },
                          {random_cpu({2, 3, 30, 28}, dt, 1), random_cpu({8, 3, 14, 14}, dt, 2, -0.2f, 0.2f),
                           random_cpu({8}, dt, 3)},
                          tolerance(dt));
    Conv2dParams general;
    general.pad_h = general.pad_w = 1;
    general.stride_w = 2;
    expect_op_matches_cpu(std::string("padded strided conv2d ") + dtype_name(dt),
                          [&](const std::vector<Tensor>& t) { return ops::conv2d(t[0], t[1], std::nullopt, general); },
                          {random_cpu({1, 2, 7, 6}, dt, 4), random_cpu({3, 2, 3, 3}, dt, 5)}, tolerance(dt));
    Conv2dParams grouped;
    grouped.groups = 2;
    expect_op_matches_cpu(std::string("grouped conv2d ") + dtype_name(dt),
                          [&](const std::vector<Tensor>& t) { return ops::conv2d(t[0], t[1], std::nullopt, grouped); },
                          {random_cpu({1, 4, 5, 5}, dt, 14), random_cpu({2, 2, 3, 3}, dt, 15)}, tolerance(dt));
    expect_op_matches_cpu(std::string("conv_transpose2d ") + dtype_name(dt),
                          [&](const std::vector<Tensor>& t) { return ops::conv_transpose2d(t[0], t[1], std::nullopt, Conv2dParams{2, 2}); },
                          {random_cpu({1, 2, 4, 5}, dt, 6), random_cpu({2, 3, 2, 2}, dt, 7)}, tolerance(dt));
    InterpolateParams ip;
    ip.out_h = 9, ip.out_w = 5, ip.mode = InterpMode::bicubic;
    expect_op_matches_cpu(std::string("interpolate ") + dtype_name(dt),
                          [&](const std::vector<Tensor>& t) { return ops::interpolate(t[0], ip); },
                          {random_cpu({1, 2, 4, 6}, dt, 8)}, tolerance(dt));
  }
}

TEST(CudaConv, GradientsThroughPatchifyGeneralConvAndInterpolateMatchTheCpu) {
  CJ_REQUIRE_GPU();
  auto run = [](Device device) {
    Tensor x = ops::to(random_cpu({2, 3, 16, 16}, DType::f32, 9), device);
    Tensor w = ops::to(random_cpu({4, 3, 8, 8}, DType::f32, 10, -0.3f, 0.3f), device);
    Tensor b = ops::to(random_cpu({4}, DType::f32, 11), device);
    Tensor w3 = ops::to(random_cpu({2, 4, 3, 3}, DType::f32, 12, -0.3f, 0.3f), device);
    Tensor w3g = ops::to(random_cpu({2, 1, 3, 3}, DType::f32, 13, -0.3f, 0.3f), device);
    for (Tensor* t : {&x, &w, &b, &w3, &w3g}) t->requires_grad_();
    Tensor h = conv2d(x, w, b, Conv2dParams{8, 8});  // (2, 4, 2, 2), a patch embedding
    InterpolateParams ip;
    ip.out_h = ip.out_w = 5;
    Tensor up = interpolate(h, ip);                                 // (2, 4, 5, 5)
    Conv2dParams same;
    same.pad_h = same.pad_w = 1;
    Tensor y = conv2d(up, w3, std::nullopt, same);                  // (2, 2, 5, 5), overlapping windows
    Conv2dParams grouped;
    grouped.groups = 2;
    Tensor z = conv2d(y, w3g, std::nullopt, grouped);               // (2, 2, 3, 3), grouped
    backward(sum(y * y) + sum(z));
    return std::vector<Tensor>{x.grad(), w.grad(), b.grad(), w3.grad(), w3g.grad()};
  };
  std::vector<Tensor> cpu = run(Device::cpu()), gpu = run(Device::cuda());
  for (size_t i = 0; i < cpu.size(); ++i) {
    EXPECT_TRUE(gpu[i].is_cuda()) << i;
    EXPECT_LE(normalized_error(values(gpu[i]), values(cpu[i])), 1e-4) << i;
  }
}
