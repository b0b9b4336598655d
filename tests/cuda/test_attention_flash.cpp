// The fused flash attention kernels against the CPU op (f64, on the same rounded inputs) at every
// head dim they take, in f32/bf16/f16, with every mask form (a fully masked query row included),
// forward and backward; both paths on a fully masked query; against the GEMM path; on strided
// inputs; and the path switch. The bf16/f16 forward at head dims 32 and 64 runs on the tensor cores
// (flash_attention_mma.cu) unless switched off: it is checked against the CPU op at lengths that
// leave partial warps, blocks and key tiles, on strided and misaligned views, and against the
// CUDA-core kernel.
#include "cuda/flash_attention.hpp"
#include "tests/cuda/gpu_test.hpp"
#include "tests/tensor/attention_cases.hpp"

using namespace cj;
using namespace cj::test;

namespace {

// Forces a path for one scope and restores the previous one.
struct PathGuard {
  cuda::AttentionPath before = cuda::attention_path();
  explicit PathGuard(cuda::AttentionPath p) { cuda::set_attention_path(p); }
  ~PathGuard() { cuda::set_attention_path(before); }
};

// Switches the tensor-core forward on or off for one scope.
struct TensorCoreGuard {
  bool before = cuda::flash_attention::tensor_cores();
  explicit TensorCoreGuard(bool on) { cuda::flash_attention::set_tensor_cores(on); }
  ~TensorCoreGuard() { cuda::flash_attention::set_tensor_cores(before); }
};

Tensor f64(const Tensor& t) { return ops::to(t, DType::f64); }

double err(const Tensor& got, const Tensor& want) { return finite_normalized_error(values(got), values(want)); }

struct GpuResult {
  Tensor out, gq, gk, gv;
};

// The CPU op in f64 on the same rounded inputs against the GPU on `path` (flash by default).
GpuResult check_against_cpu(DType dt, int64_t E, MaskKind kind, int64_t Lq, int64_t Lk,
                            cuda::AttentionPath path = cuda::AttentionPath::flash) {
  const int64_t B = 2, H = 3;
  const std::string what = std::string(dtype_name(dt)) + " E=" + std::to_string(E) + " Lq=" + std::to_string(Lq) +
                           " Lk=" + std::to_string(Lk) + " " + mask_name(kind) +
                           (path == cuda::AttentionPath::gemm ? " gemm path" : " flash path");
  Tensor q = random_cpu({B, H, Lq, E}, dt, 80), k = random_cpu({B, H, Lk, E}, dt, 81);
  Tensor v = random_cpu({B, H, Lk, E}, dt, 82), gout = random_cpu({B, H, Lq, E}, dt, 83, -1, 1);
  Tensor mask = attention_mask_any_length(kind, B, H, Lq, Lk);
  std::optional<Tensor> mask_cpu, mask_gpu, mask64;
  if (mask.defined()) {
    mask_cpu = mask;
    mask_gpu = to_gpu(mask);
    mask64 = mask.dtype() == DType::b8 ? mask : f64(mask);
  }
  auto ref = ops::scaled_dot_product_attention(f64(q), f64(k), f64(v), mask64);
  auto gref = ops::scaled_dot_product_attention_backward(f64(gout), f64(q), f64(k), f64(v), ref.out, ref.lse, mask64,
                                                         std::nullopt);
  PathGuard forced(path);
  Tensor qg = to_gpu(q), kg = to_gpu(k), vg = to_gpu(v);
  auto fwd = cuda::scaled_dot_product_attention(qg, kg, vg, mask_gpu, std::nullopt);
  EXPECT_EQ(fwd.out.dtype(), dt);
  EXPECT_LE(err(fwd.out, ref.out), tolerance(dt)) << what << ": out";
  EXPECT_LE(err(fwd.lse, ref.lse), tolerance(DType::f32)) << what << ": lse";
  auto g = cuda::scaled_dot_product_attention_backward(to_gpu(gout), qg, kg, vg, fwd.out, fwd.lse, mask_gpu,
                                                       std::nullopt);
  EXPECT_LE(err(g.gq, gref.gq), tolerance(dt)) << what << ": gq";
  EXPECT_LE(err(g.gk, gref.gk), tolerance(dt)) << what << ": gk";
  EXPECT_LE(err(g.gv, gref.gv), tolerance(dt)) << what << ": gv";
  return {fwd.out, g.gq, g.gk, g.gv};
}

}  // namespace

TEST(CudaFlashAttention, MatchesTheCpuOpAtEveryHeadDimDtypeAndMask) {
  CJ_REQUIRE_GPU();
  for (bool tensor_cores : {true, false}) {  // off: 16-bit forwards at E 32/64 on the CUDA-core kernel too
    TensorCoreGuard guard(tensor_cores);
    for (DType dt : {DType::f32, DType::bf16, DType::f16})
      for (int64_t E : {8, 18, 32, 64}) {
        if (!tensor_cores && (dt == DType::f32 || E < 32)) continue;  // nothing changes there
        for (MaskKind kind : kAllMasks) {
          check_against_cpu(dt, E, kind, 70, 75);   // one lane per query, two query blocks, ragged key tiles
          check_against_cpu(dt, E, kind, 11, 197);  // slots over patches: 4 lanes per query
        }
      }
  }
}

// The tensor-core forward (and the CUDA-core backward from its out and lse) at lengths that leave
// partial warps (16 rows), blocks (64 rows) and key tiles (64 keys), including single queries and keys.
TEST(CudaFlashAttention, TensorCoreForwardMatchesTheCpuOpAtEveryLength) {
  CJ_REQUIRE_GPU();
  TensorCoreGuard on(true);
  const std::pair<int64_t, int64_t> lengths[] = {{1, 1},   {1, 257},  {15, 16},  {16, 17},  {17, 15},
                                                 {64, 64}, {64, 197}, {197, 1},  {197, 197}, {257, 257}};
  for (DType dt : {DType::bf16, DType::f16})
    for (int64_t E : {32, 64})
      for (auto [Lq, Lk] : lengths)
        for (MaskKind kind : kAllMasks) {
          const bool all_masks = (Lq == 64 && Lk == 197) || (Lq == 17 && Lk == 15) || Lq == 197;
          if (all_masks || kind == MaskKind::none || kind == MaskKind::key_padding) check_against_cpu(dt, E, kind, Lq, Lk);
        }
}

// q, k, v as views of one (B, H, L, 3E) buffer (read in place: row stride 3E), and views offset by 4
// values with a row stride of E + 4 (not 16-byte aligned: the dispatch copies them first).
TEST(CudaFlashAttention, TensorCoreForwardTakesStridedAndMisalignedViews) {
  CJ_REQUIRE_GPU();
  TensorCoreGuard on(true);
  for (DType dt : {DType::bf16, DType::f16})
    for (int64_t E : {32, 64})
      for (bool aligned : {true, false}) {
        const int64_t B = 2, H = 3, L = 83, Lk = 70;
        Tensor q, k, v;
        if (aligned) {
          Tensor qkv = to_gpu(random_cpu({B, H, L, 3 * E}, dt, 101));
          q = ops::slice(qkv, -1, 0, E), k = ops::slice(qkv, -1, E, 2 * E), v = ops::slice(qkv, -1, 2 * E, 3 * E);
        } else {
          auto view = [&](int64_t len, uint32_t seed) {
            return ops::slice(to_gpu(random_cpu({B, H, len, E + 4}, dt, seed)), -1, 4, E + 4);
          };
          q = view(L, 102), k = view(Lk, 103), v = view(Lk, 104);
        }
        auto ref = ops::scaled_dot_product_attention(f64(to_cpu(q)), f64(to_cpu(k)), f64(to_cpu(v)));
        auto got = cuda::scaled_dot_product_attention(q, k, v, std::nullopt, std::nullopt);
        const std::string what = std::string(dtype_name(dt)) + " E=" + std::to_string(E) + (aligned ? " packed" : " misaligned");
        EXPECT_LE(err(got.out, ref.out), tolerance(dt)) << what;
        EXPECT_LE(err(got.lse, ref.lse), 1e-5) << what;
      }
}

// On an sm_80+ device (this build: sm_90 code) the dispatch must take the tensor-core forward: a
// dispatch that silently keeps the CUDA-core kernel would leave every TensorCore* test above comparing
// that kernel with itself, and pass.
TEST(CudaFlashAttention, TensorCoreForwardIsTakenOnAmpereAndLater) {
  CJ_REQUIRE_GPU();
  const int major = cuda::query_devices().devices.at(0).major;
  if (major < 8) GTEST_SKIP() << "compute capability " << major << ".x: no bf16 mma.sync";
  TensorCoreGuard on(true);
  for (DType dt : {DType::bf16, DType::f16})
    for (int64_t E : {32, 64}) {
      const Tensor q = to_gpu(random_cpu({2, 70, E}, dt, 120));
      EXPECT_TRUE(cuda::flash_attention::tensor_cores_take({q, q, q, {}, 0.125f})) << dtype_name(dt) << " E=" << E;
    }
}

// Tensor cores against the CUDA-core kernel on the same GPU inputs (both rounded once at the end).
TEST(CudaFlashAttention, TensorCoreForwardMatchesTheCudaCoreKernel) {
  CJ_REQUIRE_GPU();
  PathGuard flash(cuda::AttentionPath::flash);
  for (DType dt : {DType::bf16, DType::f16})
    for (auto [H, L, Lk, E] : {std::array<int64_t, 4>{6, 197, 197, 64}, {12, 201, 201, 64}, {4, 7, 196, 32}})
      for (MaskKind kind : {MaskKind::none, MaskKind::key_padding, MaskKind::additive}) {
        Tensor q = to_gpu(random_cpu({2, H, L, E}, dt, 110)), k = to_gpu(random_cpu({2, H, Lk, E}, dt, 111));
        Tensor v = to_gpu(random_cpu({2, H, Lk, E}, dt, 112));
        std::optional<Tensor> mask;
        if (kind != MaskKind::none) mask = to_gpu(attention_mask_any_length(kind, 2, H, L, Lk));
        auto run = [&](bool tensor_cores) {
          TensorCoreGuard guard(tensor_cores);
          return cuda::scaled_dot_product_attention(q, k, v, mask, std::nullopt);
        };
        auto mma = run(true), cores = run(false);
        const std::string what = std::string(dtype_name(dt)) + " H=" + std::to_string(H) + " L=" + std::to_string(L) +
                                 " E=" + std::to_string(E) + " " + mask_name(kind);
        EXPECT_LE(err(mma.out, cores.out), 2 * tolerance(dt)) << what;
        EXPECT_LE(err(mma.lse, cores.lse), 1e-5) << what;
      }
}

// Query 5 of the first (batch, head) entry has every key masked by the full bool and the additive
// masks (the_empty_query; the bool mask keeps keys of query 5 in the other entries): both paths must give the CPU
// op's result, out = 0 and lse = -inf for that row (checked by err) and exactly zero gradients
// from it; the GEMM path gave NaN here before its softmax zeroed empty rows.
TEST(CudaFlashAttention, BothPathsGiveTheCpuResultOnAFullyMaskedQuery) {
  CJ_REQUIRE_GPU();
  for (cuda::AttentionPath path : {cuda::AttentionPath::flash, cuda::AttentionPath::gemm})
    for (DType dt : {DType::f32, DType::bf16})
      for (MaskKind kind : {MaskKind::full_bool, MaskKind::additive})
        for (int64_t E : {8, 64}) {
          GpuResult r = check_against_cpu(dt, E, kind, 11, 197, path);
          const std::string what = std::string(dtype_name(dt)) + " E=" + std::to_string(E) + " " + mask_name(kind);
          for (double x : values(the_empty_query(r.out))) ASSERT_EQ(x, 0.0) << what << ": out of the empty query";
          for (double x : values(the_empty_query(r.gq))) ASSERT_EQ(x, 0.0) << what << ": gq of the empty query";
        }
}

TEST(CudaFlashAttention, MatchesTheGemmPath) {
  CJ_REQUIRE_GPU();
  for (DType dt : {DType::f32, DType::bf16})
    for (int64_t E : {8, 64})
      for (MaskKind kind : {MaskKind::key_padding, MaskKind::full_bool}) {
        // DINOv2-like: (B, H, 197, E); the full bool mask empties query 5 (zeros on both paths)
        Tensor q = to_gpu(random_cpu({2, 6, 197, E}, dt, 90)), k = to_gpu(random_cpu({2, 6, 197, E}, dt, 91));
        Tensor v = to_gpu(random_cpu({2, 6, 197, E}, dt, 92)), go = to_gpu(random_cpu({2, 6, 197, E}, dt, 93));
        std::optional<Tensor> mask = to_gpu(make_attention_mask(kind, 2, 6, 197, 197));
        auto run = [&](cuda::AttentionPath path) {
          PathGuard guard(path);
          auto f = cuda::scaled_dot_product_attention(q, k, v, mask, 0.3);
          auto g = cuda::scaled_dot_product_attention_backward(go, q, k, v, f.out, f.lse, mask, 0.3);
          return std::vector<Tensor>{f.out, f.lse, g.gq, g.gk, g.gv};
        };
        auto flash = run(cuda::AttentionPath::flash), gemm = run(cuda::AttentionPath::gemm);
        const char* names[] = {"out", "lse", "gq", "gk", "gv"};
        for (int n = 0; n < 5; ++n)
          EXPECT_LE(err(flash[n], gemm[n]), n == 1 ? 1e-5 : 2 * tolerance(dt))  // both sides rounded once
              << dtype_name(dt) << " E=" << E << " " << mask_name(kind) << " " << names[n];
      }
}

TEST(CudaFlashAttention, TakesStridedInputsAndTheAutomaticPathPicksIt) {
  CJ_REQUIRE_GPU();
  PathGuard automatic(cuda::AttentionPath::automatic);
  // (B, L, H, E) projections viewed as (B, H, L, E) (copied to rows), and (Bt, L, 2E) sliced to the
  // first E features (read in place: row stride 2E)
  Tensor q = ops::transpose(to_gpu(random_cpu({2, 40, 4, 32}, DType::f32, 95)), 1, 2);
  Tensor k = ops::transpose(to_gpu(random_cpu({2, 50, 4, 32}, DType::f32, 96)), 1, 2);
  Tensor v = ops::slice(to_gpu(random_cpu({2, 4, 50, 64}, DType::f32, 97)), -1, 0, 32);
  Tensor go = ops::slice(to_gpu(random_cpu({2, 4, 40, 64}, DType::f32, 98)), -1, 32, 64);
  auto ref = ops::scaled_dot_product_attention(f64(to_cpu(q)), f64(to_cpu(k)), f64(to_cpu(v)));
  auto gref = ops::scaled_dot_product_attention_backward(f64(to_cpu(go)), f64(to_cpu(q)), f64(to_cpu(k)),
                                                         f64(to_cpu(v)), ref.out, ref.lse, std::nullopt, std::nullopt);
  auto got = cuda::scaled_dot_product_attention(q, k, v, std::nullopt, std::nullopt);
  auto g = cuda::scaled_dot_product_attention_backward(go, q, k, v, got.out, got.lse, std::nullopt, std::nullopt);
  EXPECT_LE(err(got.out, ref.out), 1e-5);
  EXPECT_LE(err(g.gq, gref.gq), 1e-5);
  EXPECT_LE(err(g.gk, gref.gk), 1e-5);
  EXPECT_LE(err(g.gv, gref.gv), 1e-5);
  EXPECT_EQ(g.gv.shape(), v.shape());
}

TEST(CudaFlashAttention, ForcingFlashOnAnUnsupportedProblemThrows) {
  CJ_REQUIRE_GPU();
  PathGuard flash(cuda::AttentionPath::flash);
  Tensor q = zeros({2, 5, 16}, {DType::f32, Device::cuda()});  // head dim 16 has no kernel
  EXPECT_THROW(cuda::scaled_dot_product_attention(q, q, q, std::nullopt, std::nullopt), Error);
  Tensor d = zeros({2, 5, 8}, {DType::f64, Device::cuda()});  // f64 stays on the GEMM path
  EXPECT_THROW(cuda::scaled_dot_product_attention(d, d, d, std::nullopt, std::nullopt), Error);
}
