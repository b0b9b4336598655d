// scaled_dot_product_attention forward (out, lse) and backward (gq, gk, gv) against an f64
// reference, without a mask, with a bool key-padding mask and with an additive float mask. Ev = 6 != E
// keeps these on the GEMM path (test_attention_flash.cpp covers the flash kernels).
#include <array>

#include "tests/cuda/reference.hpp"

using namespace cj;
using namespace cj::test;

namespace {

struct SdpaRef {
  std::vector<double> out, lse, gq, gk, gv;
};

// mask: expanded to (Bt, Lq, Lk) values; bool masks arrive as 1 (attend) / 0.
SdpaRef sdpa_ref(const std::vector<double>& q, const std::vector<double>& k, const std::vector<double>& v,
                 const std::vector<double>& gout, const std::vector<double>* mask, bool bool_mask, int64_t Bt,
                 int64_t Lq, int64_t Lk, int64_t E, int64_t Ev, double scale) {
  SdpaRef r;
  auto s = ref::matmul(q, ref::transpose(k, Bt, Lk, E), Bt, Lq, E, Lk);
  for (size_t i = 0; i < s.size(); ++i) {
    s[i] *= scale;
    if (mask) s[i] = bool_mask ? ((*mask)[i] != 0 ? s[i] : -INFINITY) : s[i] + (*mask)[i];
  }
  auto p = ref::softmax_rows(s, Lk, false);
  for (int64_t row = 0; row < Bt * Lq; ++row) {
    double m = -INFINITY, sum = 0;
    for (int64_t j = 0; j < Lk; ++j) m = std::fmax(m, s[row * Lk + j]);
    for (int64_t j = 0; j < Lk; ++j) sum += std::exp(s[row * Lk + j] - m);
    r.lse.push_back(m + std::log(sum));
  }
  r.out = ref::matmul(p, v, Bt, Lq, Lk, Ev);
  r.gv = ref::matmul(ref::transpose(p, Bt, Lq, Lk), gout, Bt, Lk, Lq, Ev);
  auto dp = ref::matmul(gout, ref::transpose(v, Bt, Lk, Ev), Bt, Lq, Ev, Lk);
  auto ds = ref::softmax_backward_rows(p, dp, Lk, false);
  r.gq = ref::matmul(ds, k, Bt, Lq, Lk, E);
  r.gk = ref::matmul(ref::transpose(ds, Bt, Lq, Lk), q, Bt, Lk, Lq, E);
  for (auto& x : r.gq) x *= scale;
  for (auto& x : r.gk) x *= scale;
  return r;
}

enum class MaskKind { none, boolean, additive };

void check(DType t, MaskKind mk, int64_t E) {
  const int64_t B = 2, H = 3, Lq = 5, Lk = 7, Ev = 6, Bt = B * H;
  Tensor q = random_cpu({B, H, Lq, E}, t, 70), k = random_cpu({B, H, Lk, E}, t, 71);
  Tensor v = random_cpu({B, H, Lk, Ev}, t, 72), gout = random_cpu({B, H, Lq, Ev}, t, 73);
  std::optional<Tensor> mask_cpu;
  if (mk == MaskKind::boolean) {  // key padding: batch 0 attends to 5 keys, batch 1 to all 7
    std::vector<bool> keep(B * Lk, true);
    keep[5] = keep[6] = false;
    mask_cpu = ops::view(from_vector(keep, {B, Lk}), {B, 1, 1, Lk});
  } else if (mk == MaskKind::additive) {
    mask_cpu = random_cpu({Lq, Lk}, t, 74);
  }
  std::vector<double> mask_values;
  if (mask_cpu) mask_values = values(ops::expand(*mask_cpu, {B, H, Lq, Lk}));
  const double scale = 1 / std::sqrt(double(E));
  SdpaRef r = sdpa_ref(values(q), values(k), values(v), values(gout), mask_cpu ? &mask_values : nullptr,
                       mk == MaskKind::boolean, Bt, Lq, Lk, E, Ev, scale);
  std::optional<Tensor> mask_gpu;
  if (mask_cpu) mask_gpu = to_gpu(*mask_cpu);
  Tensor qg = to_gpu(q), kg = to_gpu(k), vg = to_gpu(v);
  auto fwd = cuda::scaled_dot_product_attention(qg, kg, vg, mask_gpu, std::nullopt);
  std::string what = "sdpa E=" + std::to_string(E) + " mask " + std::to_string(int(mk));
  EXPECT_EQ(fwd.out.shape(), (Shape{B, H, Lq, Ev}));
  EXPECT_EQ(fwd.lse.shape(), (Shape{B, H, Lq}));
  expect_close(fwd.out, r.out, t, what + " out");
  expect_close(fwd.lse, r.lse, t, what + " lse");
  auto g = cuda::scaled_dot_product_attention_backward(to_gpu(gout), qg, kg, vg, fwd.out, fwd.lse, mask_gpu,
                                                       std::nullopt);
  expect_close(g.gq, r.gq, t, what + " gq");
  expect_close(g.gk, r.gk, t, what + " gk");
  expect_close(g.gv, r.gv, t, what + " gv");
}

}  // namespace

TEST(CudaAttention, ForwardBackwardAcrossMasksHeadDimsAndDtypes) {
  CJ_REQUIRE_GPU();
  for (DType t : {DType::f32, DType::bf16, DType::f16})
    for (int64_t E : {8, 18, 32})
      for (MaskKind mk : {MaskKind::none, MaskKind::boolean, MaskKind::additive}) check(t, mk, E);
}

TEST(CudaAttention, MismatchedShapesAreRefused) {
  CJ_REQUIRE_GPU();
  Tensor q = zeros({2, 5, 8}, {DType::f32, Device::cuda()}), k = zeros({2, 7, 4}, {DType::f32, Device::cuda()});
  EXPECT_THROW(cuda::scaled_dot_product_attention(q, k, k, std::nullopt, std::nullopt), Error);
  Tensor k8 = zeros({2, 7, 8}, {DType::f32, Device::cuda()});
  Tensor bad_mask = zeros({3, 5, 7}, {DType::b8, Device::cuda()});
  EXPECT_THROW(cuda::scaled_dot_product_attention(q, k8, k8, bad_mask, std::nullopt), Error);
}

// Empty key sets (and empty query sets, and no batch at all) on both paths: the CPU op's results,
// out = 0, lse = -inf (the softmax writes no lse for rows of no columns) and zero or empty gradients.
TEST(CudaAttention, EmptyKeysAndQueriesGiveTheCpuResult) {
  CJ_REQUIRE_GPU();
  const cuda::AttentionPath before = cuda::attention_path();
  for (cuda::AttentionPath path : {cuda::AttentionPath::automatic, cuda::AttentionPath::gemm})
    for (const auto& [Lq, Lk, B] : std::vector<std::array<int64_t, 3>>{{3, 0, 2}, {0, 4, 2}, {3, 4, 0}}) {
      cuda::set_attention_path(path);
      const std::string what = "Lq " + std::to_string(Lq) + " Lk " + std::to_string(Lk) + " B " + std::to_string(B);
      Tensor q = random_cpu({B, 2, Lq, 8}, DType::f32, 1), k = random_cpu({B, 2, Lk, 8}, DType::f32, 2);
      Tensor v = random_cpu({B, 2, Lk, 8}, DType::f32, 3), go = random_cpu({B, 2, Lq, 8}, DType::f32, 4);
      auto want = ops::scaled_dot_product_attention(q, k, v);
      auto got = cuda::scaled_dot_product_attention(to_gpu(q), to_gpu(k), to_gpu(v), std::nullopt, std::nullopt);
      EXPECT_EQ(values(got.out), values(want.out)) << what;
      EXPECT_EQ(values(got.lse), values(want.lse)) << what;
      auto gw = ops::scaled_dot_product_attention_backward(go, q, k, v, want.out, want.lse, std::nullopt, std::nullopt);
      auto gg = cuda::scaled_dot_product_attention_backward(to_gpu(go), to_gpu(q), to_gpu(k), to_gpu(v), got.out,
                                                            got.lse, std::nullopt, std::nullopt);
      EXPECT_EQ(values(gg.gq), values(gw.gq)) << what;
      EXPECT_EQ(gg.gk.shape(), gw.gk.shape()) << what;
      EXPECT_EQ(values(gg.gv), values(gw.gv)) << what;
    }
  cuda::set_attention_path(before);
}
