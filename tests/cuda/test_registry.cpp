// The CUDA kernels are registered with tensor's dispatch under the ops' names (no GPU needed),
// and the public ops reach them for CUDA tensors.
#include <gtest/gtest.h>

#include "tensor/backend.hpp"
#include "tests/cuda/forwarded_ops.hpp"
#include "tests/cuda/gpu_test.hpp"

using namespace cj;

TEST(CudaRegistry, EveryKernelIsRegisteredUnderItsOpName) {
  const char* names[] = {"copy_", "fill_", "add", "sub", "mul", "div", "add.scalar", "sub.scalar", "mul.scalar",
                         "div.scalar", "neg", "exp", "log", "sqrt", "rsqrt", "tanh", "sigmoid", "relu", "gelu",
                         "gelu_backward", "sum", "mean", "amax", "softmax", "log_softmax", "softmax_backward",
                         "log_softmax_backward", "layer_norm", "layer_norm_backward", "mm", "bmm", "matmul", "linear",
                         "scaled_dot_product_attention", "scaled_dot_product_attention_backward"};
  for (const char* n : names) EXPECT_NE(backend::find_op_erased(DeviceType::cuda, n), nullptr) << n;
  EXPECT_EQ(backend::find_op_erased(DeviceType::cuda, "mm"), reinterpret_cast<backend::AnyFn>(&cuda::mm));
  EXPECT_EQ(backend::find_op_erased(DeviceType::cuda, "add.scalar"),
            reinterpret_cast<backend::AnyFn>(&cuda::add_scalar));
  EXPECT_NO_THROW(allocator_for(DeviceType::cuda));
  cuda::ensure_registered();  // idempotent
  EXPECT_NE(backend::find_op_erased(DeviceType::cuda, "copy_"), nullptr);
}

// The completeness guarantee CI can check without a GPU: an op that forwards CUDA tensors to a
// device kernel finds one, so no public op fails on the GPU with "no kernel for cuda tensors".
TEST(CudaRegistry, EveryForwardedOpHasACudaKernel) {
  const auto forwarded = test::forwarded_op_names(CJ_SOURCE_DIR);
  // the scan itself works: it sees ops forwarded from several files, the Scalar overloads among them
  for (const char* known : {"add", "add.scalar", "mm", "layer_norm", "gather", "sort", "add_"})
    EXPECT_EQ(forwarded.count(known), 1u) << known << " not found by the source scan";
  for (const auto& [name, file] : forwarded)
    EXPECT_NE(backend::find_op_erased(DeviceType::cuda, name), nullptr)
        << file << " forwards \"" << name << "\" to the device, but cuda/register.cpp registers no kernel for it";
}

TEST(CudaRegistry, PublicOpsOnCudaTensorsReachTheKernels) {
  CJ_REQUIRE_GPU();
  Tensor x = ops::to(tensor({1, 2, 3, 4}, {2, 2}), Device::cuda());
  EXPECT_TRUE(x.is_cuda());
  Tensor z = zeros({2, 2}, {DType::f32, Device::cuda()});  // ops::fill_ forwards
  ops::copy_(z, x);                                         // ops::copy_ forwards
  Tensor back = ops::to(ops::to(z, DType::bf16), Device::cpu());
  EXPECT_EQ(to_vector<float>(back), (std::vector<float>{1, 2, 3, 4}));
}
