// Reductions and the softmax family against f64 references: warp rows (short) and block rows
// (long), reductions over inner and outer dims, non-contiguous inputs.
#include <algorithm>

#include "tests/cuda/reference.hpp"

using namespace cj;
using namespace cj::test;

namespace {

enum class Kind { sum, mean, max };

// Reference: move the reduced dims last on the CPU, then reduce rows in f64.
std::vector<double> reduce_ref(const Tensor& x, const ops::Dims& dims, Kind kind) {
  Shape perm, reduced_perm;
  int64_t cols = 1;
  for (int64_t d = 0; d < x.dim(); ++d) {
    bool r = dims.empty() || std::find(dims.begin(), dims.end(), d) != dims.end();
    (r ? reduced_perm : perm).push_back(d);
    if (r) cols *= x.size(d);
  }
  perm.insert(perm.end(), reduced_perm.begin(), reduced_perm.end());
  std::vector<double> v = values(ops::permute(x, perm)), out(v.size() / cols);
  for (size_t r = 0; r < out.size(); ++r) {
    double acc = kind == Kind::max ? -INFINITY : 0;
    for (int64_t c = 0; c < cols; ++c) acc = kind == Kind::max ? std::fmax(acc, v[r * cols + c]) : acc + v[r * cols + c];
    out[r] = kind == Kind::mean ? acc / cols : acc;
  }
  return out;
}

void check_reductions(const Tensor& x, const Tensor& xg, const ops::Dims& dims, bool keepdim, DType t) {
  std::string what = "dims " + shape_str(dims) + " of " + shape_str(x.shape());
  expect_close(cuda::sum(xg, dims, keepdim), reduce_ref(x, dims, Kind::sum), t, "sum " + what);
  expect_close(cuda::mean(xg, dims, keepdim), reduce_ref(x, dims, Kind::mean), t, "mean " + what);
  expect_close(cuda::amax(xg, dims, keepdim), reduce_ref(x, dims, Kind::max), t, "amax " + what);
}

}  // namespace

TEST(CudaReduce, LastDimShortAndLongRows) {
  CJ_REQUIRE_GPU();
  for (DType t : float_dtypes()) {
    for (Shape shape : {Shape{7, 300}, Shape{5, 3000}, Shape{33}}) {
      Tensor x = random_cpu(shape, t, 30);
      check_reductions(x, to_gpu(x), {-1 + int64_t(shape.size())}, false, t);
    }
  }
}

TEST(CudaReduce, OuterDimsKeepdimAllDimsAndStridedInput) {
  CJ_REQUIRE_GPU();
  for (DType t : float_dtypes()) {
    Tensor base = random_cpu({6, 4, 5}, t, 31);
    Tensor x = ops::permute(base, {1, 2, 0});  // (4, 5, 6), non-contiguous
    Tensor xg = ops::permute(to_gpu(base), {1, 2, 0});
    check_reductions(x, xg, {0, 2}, true, t);
    check_reductions(x, xg, {1}, false, t);
    check_reductions(x, xg, {}, false, t);
    EXPECT_EQ(cuda::sum(xg, {0, 2}, true).shape(), (Shape{1, 5, 1}));
    EXPECT_EQ(cuda::sum(xg, {}, false).shape(), (Shape{}));
  }
  Tensor empty_dim = zeros({3, 0}, {DType::f32, Device::cuda()});
  EXPECT_EQ(values(cuda::sum(empty_dim, {1}, false)), (std::vector<double>{0, 0, 0}));
  EXPECT_THROW(cuda::amax(empty_dim, {1}, false), Error);
  EXPECT_THROW(cuda::sum(empty_dim, {2}, false), Error);
}

TEST(CudaSoftmax, ForwardAndBackwardShortAndLongRows) {
  CJ_REQUIRE_GPU();
  for (DType t : float_dtypes()) {
    for (int64_t cols : {112, 2500}) {
      Tensor x = random_cpu({9, cols}, t, 32, -4.f, 4.f), gy = random_cpu({9, cols}, t, 33);
      Tensor xg = to_gpu(x), gyg = to_gpu(gy);
      for (bool log : {false, true}) {
        std::string what = std::string(log ? "log_softmax" : "softmax") + " cols " + std::to_string(cols);
        Tensor y = log ? cuda::log_softmax(xg, -1) : cuda::softmax(xg, -1);
        expect_close(y, ref::softmax_rows(values(x), cols, log), t, what);
        Tensor gx = log ? cuda::log_softmax_backward(y, gyg, -1) : cuda::softmax_backward(y, gyg, -1);
        expect_close(gx, ref::softmax_backward_rows(values(y), values(gy), cols, log), t, what + " backward");
      }
    }
  }
}

TEST(CudaSoftmax, OverAnInnerDimOfAStridedTensor) {
  CJ_REQUIRE_GPU();
  for (DType t : float_dtypes()) {
    Tensor base = random_cpu({6, 9}, t, 34, -4.f, 4.f);
    Tensor xg = ops::transpose(to_gpu(base), 0, 1);  // (9, 6); softmax over dim 0 = rows of base
    Tensor y = cuda::softmax(xg, 0);
    EXPECT_EQ(y.shape(), (Shape{9, 6}));
    expect_close(ops::transpose(y, 0, 1), ref::softmax_rows(values(base), 9, false), t, "softmax dim 0");
    Tensor gy = random_cpu({6, 9}, t, 35);
    Tensor gx = cuda::log_softmax_backward(cuda::log_softmax(xg, 0), ops::transpose(to_gpu(gy), 0, 1), 0);
    std::vector<double> yl = values(ops::transpose(cuda::log_softmax(xg, 0), 0, 1));
    expect_close(ops::transpose(gx, 0, 1), ref::softmax_backward_rows(yl, values(gy), 9, true), t,
                 "log_softmax_backward dim 0");
  }
}
