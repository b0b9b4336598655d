// layer_norm forward (out, mean, rstd) and backward (gx, gweight, gbias) against f64 references.
#include "tests/cuda/reference.hpp"
#include "tests/error_of.hpp"

using namespace cj;
using namespace cj::test;

namespace {

struct LnRef {
  std::vector<double> out, mean, rstd, gx, gw, gb;
};

LnRef layer_norm_ref(const Tensor& x, int64_t C, const Tensor* w, const Tensor* b, const Tensor& gy, double eps) {
  std::vector<double> xv = values(x), gv = values(gy);
  std::vector<double> wv = w ? values(*w) : std::vector<double>(C, 1.0), bv = b ? values(*b) : std::vector<double>(C, 0.0);
  const int64_t rows = int64_t(xv.size()) / C;
  LnRef r;
  r.out.resize(xv.size());
  r.gx.resize(xv.size());
  r.gw.assign(C, 0);
  r.gb.assign(C, 0);
  for (int64_t i = 0; i < rows; ++i) {
    const double* p = &xv[i * C];
    double m = 0, var = 0;
    for (int64_t c = 0; c < C; ++c) m += p[c];
    m /= C;
    for (int64_t c = 0; c < C; ++c) var += (p[c] - m) * (p[c] - m);
    double rs = 1 / std::sqrt(var / C + eps);
    r.mean.push_back(m);
    r.rstd.push_back(rs);
    double sg = 0, sgx = 0;
    for (int64_t c = 0; c < C; ++c) {
      double xhat = (p[c] - m) * rs, g = gv[i * C + c];
      r.out[i * C + c] = xhat * wv[c] + bv[c];
      sg += g * wv[c];
      sgx += g * wv[c] * xhat;
      r.gw[c] += g * xhat;
      r.gb[c] += g;
    }
    for (int64_t c = 0; c < C; ++c) {
      double xhat = (p[c] - m) * rs;
      r.gx[i * C + c] = rs * (gv[i * C + c] * wv[c] - sg / C - xhat * sgx / C);
    }
  }
  return r;
}

void check(const Shape& shape, const Shape& normalized, bool affine, DType t, bool strided) {
  const int64_t C = shape_numel(normalized);
  Tensor x = random_cpu(shape, t, 40, -3.f, 3.f), gy = random_cpu(shape, t, 41);
  Tensor w = random_cpu(normalized, t, 42, 0.5f, 1.5f), b = random_cpu(normalized, t, 43);
  Tensor xg = to_gpu(x);
  if (strided) {  // the same values read through a transposed-back view
    xg = ops::transpose(ops::contiguous(ops::transpose(xg, 0, 1)), 0, 1);
    EXPECT_FALSE(xg.is_contiguous());
  }
  std::optional<Tensor> wg, bg;
  if (affine) wg = to_gpu(w), bg = to_gpu(b);
  auto res = cuda::layer_norm(xg, normalized, wg, bg, 1e-5);
  LnRef r = layer_norm_ref(x, C, affine ? &w : nullptr, affine ? &b : nullptr, gy, 1e-5);
  std::string what = "layer_norm " + shape_str(shape) + (affine ? " affine" : "");
  expect_close(res.out, r.out, t, what);
  EXPECT_EQ(res.mean.dtype(), t == DType::f64 ? DType::f64 : DType::f32);
  expect_close(res.mean, r.mean, DType::f32, what + " mean");
  expect_close(res.rstd, r.rstd, t == DType::f64 ? DType::f64 : DType::f32, what + " rstd");
  auto g = cuda::layer_norm_backward(to_gpu(gy), xg, res.mean, res.rstd, normalized, wg, affine);
  expect_close(g.gx, r.gx, t, what + " gx");
  if (affine) {
    expect_close(g.gweight, r.gw, t, what + " gweight");
    expect_close(g.gbias, r.gb, t, what + " gbias");
  } else {
    EXPECT_FALSE(g.gweight.defined());
    EXPECT_FALSE(g.gbias.defined());
  }
}

}  // namespace

TEST(CudaLayerNorm, WarpRowsBlockRowsAffineAndNot) {
  CJ_REQUIRE_GPU();
  for (DType t : float_dtypes()) {
    check({6, 7, 128}, {128}, true, t, false);
    check({5, 1536}, {1536}, true, t, false);
    check({4, 6, 10}, {6, 10}, false, t, false);
    check({300, 48}, {48}, true, t, true);  // many rows: several partial chunks for gweight
  }
}

TEST(CudaLayerNorm, BadShapesAreRefused) {
  CJ_REQUIRE_GPU();
  Tensor x = zeros({3, 4}, {DType::f32, Device::cuda()});
  EXPECT_THROW(cuda::layer_norm(x, {5}, std::nullopt, std::nullopt, 1e-5), Error);
  EXPECT_THROW(cuda::layer_norm(x, {4}, zeros({3}, {DType::f32, Device::cuda()}), std::nullopt, 1e-5), Error);
  // a weight of another dtype is refused with the CPU op's message, not cast silently
  const Tensor xb = zeros({3, 4}, DType::bf16), wf = zeros({4}, DType::f32);
  const std::string want = error_of([&] { ops::layer_norm(xb, {4}, wf, std::nullopt, 1e-5); });
  EXPECT_NE(want.find("weight is f32 but the input is bf16"), std::string::npos) << want;
  EXPECT_EQ(error_of([&] { ops::layer_norm(to_gpu(xb), {4}, to_gpu(wf), std::nullopt, 1e-5); }), want);
}
