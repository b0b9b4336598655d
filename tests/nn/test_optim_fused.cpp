// Fused Adam/AdamW (AdamOptions::fused) against the unfused step, bit for bit: several groups,
// mixed shapes and dtypes, parameters that miss gradients, weight decay, amsgrad, lr changes, and
// state_dict round trips in both directions. Then the one-pass clip_grad_norm against a naive f64
// loop and the shared rounding helpers against the dtype conversions.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "tests/temp_path.hpp"
#include "nn/optim/optimizer.hpp"
#include "tensor/io/safetensors.hpp"
#include "tensor/ops.hpp"
#include "tensor/ops/optim.hpp"
#include "tensor/ops/optim_math.hpp"

using namespace cj;

namespace {

// Parameters of several shapes and dtypes, identical for every call with the same seed.
std::vector<Tensor> make_params(uint64_t seed, DType dtype) {
  Generator gen(seed);
  std::vector<Tensor> params;
  for (const Shape& s : std::vector<Shape>{{7, 5}, {5}, {3, 4, 2}, {1}, {300}, {2, 2}})
    params.push_back(ops::to(randn(s, DType::f32, &gen), dtype).requires_grad_(true));
  return params;
}

// Gradients for step `step`: some parameters skip some steps (no .grad, as torch skips them).
void set_grads(const std::vector<Tensor>& params, int step) {
  Generator gen(1000 + uint64_t(step));
  for (std::size_t i = 0; i < params.size(); ++i) {
    Tensor g = ops::to(ops::mul(randn(params[i].shape(), DType::f32, &gen), 0.1 * double(i + 1)), params[i].dtype());
    const bool skip = (i == 1 && step % 2 == 0) || (i == 3 && step < 2) || i == 5;  // 5 never gets one
    params[i].set_grad(skip ? Tensor() : g);
  }
}

std::vector<nn::ParamGroup> groups_of(const std::vector<Tensor>& p) {
  // three groups: defaults, own lr and no decay, own decay
  return {nn::ParamGroup({p[0], p[1]}), nn::ParamGroup({p[2], p[3]}, 3e-3, 0.0), nn::ParamGroup({p[4], p[5]}, {}, 0.05)};
}

std::unique_ptr<nn::Adam> make_adam(const std::vector<Tensor>& p, bool decoupled, bool amsgrad, bool fused) {
  nn::AdamOptions o;
  o.lr = 1e-2;
  o.amsgrad = amsgrad;
  o.fused = fused;
  o.weight_decay = 0.02;
  if (decoupled) return std::make_unique<nn::AdamW>(groups_of(p), o);
  return std::make_unique<nn::Adam>(groups_of(p), o);
}

// Runs steps [from, to) with an lr schedule that changes every step.
void run(nn::Optimizer& opt, const std::vector<Tensor>& params, int from, int to) {
  for (int s = from; s < to; ++s) {
    set_grads(params, s);
    opt.set_lr(0, 1e-2 / (1 + 0.3 * s));
    opt.set_lr(2, 2e-2 * (s % 3 + 1));
    opt.step();
  }
}

// Expects equal values, reporting the first element that differs.
void expect_same_values(const Tensor& a, const Tensor& b, const std::string& what) {
  const auto va = to_vector<double>(a), vb = to_vector<double>(b);
  ASSERT_EQ(va.size(), vb.size()) << what;
  for (std::size_t j = 0; j < va.size(); ++j)
    if (!(va[j] == vb[j] || (std::isnan(va[j]) && std::isnan(vb[j])))) {
      ADD_FAILURE() << what << ": element " << j << " is " << va[j] << " vs " << vb[j];
      return;
    }
}

void expect_same_params(const std::vector<Tensor>& a, const std::vector<Tensor>& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) expect_same_values(a[i], b[i], what + ": parameter " + std::to_string(i));
}

void expect_same_state(const nn::StateDict& a, const nn::StateDict& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (const auto& [key, t] : a) {
    ASSERT_TRUE(b.count(key)) << what << ": " << key;
    EXPECT_EQ(t.dtype(), b.at(key).dtype()) << what << ": " << key;
    EXPECT_EQ(t.shape(), b.at(key).shape()) << what << ": " << key;
    expect_same_values(t, b.at(key), what + ": " + key);
  }
}

TEST(FusedAdam, BitIdenticalToUnfusedOverEveryVariant) {
  for (DType dtype : {DType::f32, DType::f64, DType::bf16, DType::f16})
    for (bool decoupled : {true, false})
      for (bool amsgrad : {false, true}) {
        const std::string what = std::string(dtype_name(dtype)) + (decoupled ? " AdamW" : " Adam") +
                                 (amsgrad ? " amsgrad" : "");
        auto pu = make_params(7, dtype), pf = make_params(7, dtype);
        auto unfused = make_adam(pu, decoupled, amsgrad, false), fused = make_adam(pf, decoupled, amsgrad, true);
        run(*unfused, pu, 0, 6);
        run(*fused, pf, 0, 6);
        expect_same_params(pu, pf, what);
        expect_same_state(unfused->state_dict(), fused->state_dict(), what);
        // the parameter that never had a gradient has no state and did not move
        EXPECT_FALSE(fused->state_dict().count("state.5.step")) << what;
        EXPECT_EQ(to_vector<double>(pf[5]), to_vector<double>(make_params(7, dtype)[5])) << what;
      }
}

TEST(FusedAdam, MixedDtypesInOneOptimizer) {
  auto make = [] {
    auto a = make_params(3, DType::f32), b = make_params(4, DType::bf16);
    return std::vector<Tensor>{a[0], b[1], a[2], b[3], a[4], b[0]};
  };
  auto pu = make(), pf = make();
  auto unfused = make_adam(pu, true, false, false), fused = make_adam(pf, true, false, true);
  run(*unfused, pu, 0, 4);
  run(*fused, pf, 0, 4);
  expect_same_params(pu, pf, "f32 + bf16");
  expect_same_state(unfused->state_dict(), fused->state_dict(), "f32 + bf16");
}

TEST(FusedAdam, StateDictsMoveBetweenFusedAndUnfused) {
  for (bool amsgrad : {false, true}) {
    auto reference = make_params(11, DType::f32);
    auto straight = make_adam(reference, true, amsgrad, false);
    run(*straight, reference, 0, 7);

    // unfused for 3 steps -> fused for 4, and fused for 3 -> unfused for 4
    for (bool fused_first : {false, true}) {
      const std::string what = std::string(fused_first ? "fused -> unfused" : "unfused -> fused") +
                               (amsgrad ? " amsgrad" : "");
      auto p = make_params(11, DType::f32);
      auto first = make_adam(p, true, amsgrad, fused_first);
      run(*first, p, 0, 3);
      const nn::StateDict saved = first->state_dict();
      auto second = make_adam(p, true, amsgrad, !fused_first);
      second->load_state_dict(saved);
      run(*second, p, 3, 7);
      expect_same_params(reference, p, what);
      expect_same_state(straight->state_dict(), second->state_dict(), what);
    }
  }
}

TEST(FusedAdam, CheckpointFileRoundTrip) {
  // the fused state tensors are views into flat buffers: a checkpoint must write their own elements
  auto p = make_params(5, DType::f32);
  auto fused = make_adam(p, true, false, true);
  run(*fused, p, 0, 3);
  const std::string path = cj::test::unique_temp_path("fused_adam_state.safetensors").string();
  io::write_safetensors(path, fused->state_dict());
  auto q = make_params(5, DType::f32);
  for (std::size_t i = 0; i < q.size(); ++i) ops::copy_(q[i], p[i]);
  auto unfused = make_adam(q, true, false, false);
  unfused->load_state_dict(io::read_safetensors(path).tensors);
  run(*fused, p, 3, 5);
  run(*unfused, q, 3, 5);
  expect_same_params(p, q, "through a file");
}

TEST(FusedAdam, LoadedStateOfAnotherDtypeIsCastIntoTheBuffer) {
  // f32 moments saved as f64 (exact) and loaded back are cast into the f32 buffers by copy_
  auto p = make_params(9, DType::f32);
  auto fused = make_adam(p, true, false, true);
  run(*fused, p, 0, 2);
  nn::StateDict state = fused->state_dict();
  for (auto& [key, t] : state)
    if (key.find("exp_avg") != std::string::npos) t = ops::to(t, DType::f64);
  fused->load_state_dict(state);
  auto q = make_params(9, DType::f32);
  auto unfused = make_adam(q, true, false, false);
  run(*unfused, q, 0, 2);
  run(*fused, p, 2, 4);
  run(*unfused, q, 2, 4);
  expect_same_params(p, q, "after loading f64 state");
}

TEST(FusedAdam, BadInputNamesTheProblem) {
  Tensor p = zeros({3}).requires_grad_(true);
  nn::AdamOptions o;
  o.fused = true;
  nn::AdamW adam({p}, o);
  p.set_grad(zeros({3}, DType::f64));
  try {
    adam.step();
    FAIL() << "a gradient of another dtype was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("fused_adam_: slice 0 grad"), std::string::npos) << e.what();
  }
  // amsgrad state loaded from a run without amsgrad lacks max_exp_avg_sq: one clear error
  Tensor q = zeros({2}).requires_grad_(true);
  nn::AdamW plain({q});
  q.set_grad(ones({2}));
  plain.step();
  o.amsgrad = true;
  nn::AdamW ams({q}, o);
  ams.load_state_dict(plain.state_dict());
  try {
    ams.step();
    FAIL() << "missing max_exp_avg_sq accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("max_exp_avg_sq"), std::string::npos) << e.what();
  }
}

// ---- clip_grad_norm in one pass ----------------------------------------------------------------------

// Naive f64 reference of torch's clip_grad_norm_: the norm, and each gradient after clipping.
double naive_norm(const std::vector<Tensor>& grads, bool inf_norm) {
  double acc = 0;
  for (const auto& g : grads)
    for (double x : to_vector<double>(g)) acc = inf_norm ? std::fmax(acc, std::fabs(x)) : acc + x * x;
  return inf_norm ? acc : std::sqrt(acc);
}

TEST(ClipGradNorm, OnePassMatchesNaiveF64AndTheOpByOpScaling) {
  for (DType dtype : {DType::f32, DType::f64, DType::bf16, DType::f16})
    for (bool inf_norm : {false, true}) {
      const std::string what = std::string(dtype_name(dtype)) + (inf_norm ? " inf" : " 2");
      auto params = make_params(21, dtype);
      set_grads(params, 1);
      std::vector<Tensor> grads, before;
      for (const auto& p : params)
        if (p.grad().defined()) grads.push_back(p.grad()), before.push_back(ops::clone(p.grad()));
      // a strided gradient takes the same path
      params[0].set_grad(ops::transpose(ops::contiguous(ops::transpose(params[0].grad(), 0, 1)), 0, 1));
      grads[0] = params[0].grad();
      const double want = naive_norm(before, inf_norm);
      const double total = nn::clip_grad_norm(params, 0.05, inf_norm ? INFINITY : 2.0);
      EXPECT_NEAR(total, want, 1e-12 * want) << what;
      const double coef = 0.05 / (total + 1e-6);
      ASSERT_LT(coef, 1) << what;
      for (std::size_t i = 0; i < grads.size(); ++i)
        EXPECT_EQ(to_vector<double>(grads[i]), to_vector<double>(ops::mul(before[i], coef))) << what << " grad " << i;
    }
}

TEST(ClipGradNorm, NoScalingBelowTheLimitAndNanPropagates) {
  auto params = make_params(22, DType::f32);
  set_grads(params, 3);
  const auto before = to_vector<double>(params[0].grad());
  const double total = nn::clip_grad_norm(params, 1e6);
  EXPECT_GT(total, 0);
  EXPECT_EQ(to_vector<double>(params[0].grad()), before);
  params[2].grad().data<float>()[3] = NAN;
  EXPECT_TRUE(std::isnan(nn::clip_grad_norm(params, 1.0)));
  EXPECT_TRUE(std::isnan(nn::clip_grad_norm(params, 1.0, INFINITY)));
  EXPECT_EQ(to_vector<double>(params[0].grad()), before);  // a NaN norm scales nothing
  EXPECT_EQ(ops::foreach_norm_partial({}, false), 0.0);
  EXPECT_THROW(ops::foreach_mul_({zeros({2}, DType::i64)}, 0.5), Error);
}

// ---- the shared per-element helpers --------------------------------------------------------------------

TEST(OptimMath, RoundingHelpersMatchTheDtypeConversions) {
  std::mt19937 rng(5);
  std::uniform_int_distribution<uint32_t> bits;
  for (int i = 0; i < 200000; ++i) {
    uint32_t u = bits(rng);
    float x;
    std::memcpy(&x, &u, 4);
    if (std::isnan(x)) continue;
    EXPECT_EQ(optim_math::RoundToBf16{}(x), float(bf16(x))) << x;
    EXPECT_EQ(optim_math::RoundToF16{}(x), float(f16(x))) << x;
  }
  EXPECT_TRUE(std::isnan(optim_math::RoundToBf16{}(NAN)));
}

TEST(OptimMath, AdamElementFollowsTheFormula) {
  // one f64 element against the update written out (no rounding differences in double)
  const auto k = optim_math::adam_constants<double>(0.9, 0.999, 1e-8, true, false, 0.1, 0.01, 3);
  double p = 0.7, m = 0.2, v = 0.05, vmax = 0;
  optim_math::adam_element<optim_math::Decay::decoupled, false>(p, -0.4, m, v, vmax, k, optim_math::KeepPrecision{});
  const double p0 = 0.7 * (1 - 0.1 * 0.01), m1 = 0.2 + 0.1 * (-0.4 - 0.2), v1 = 0.05 * 0.999 + 0.001 * 0.16;
  const double want = p0 - 0.1 / (1 - std::pow(0.9, 3)) * m1 / (std::sqrt(v1) / std::sqrt(1 - std::pow(0.999, 3)) + 1e-8);
  EXPECT_NEAR(m, m1, 1e-16);
  EXPECT_NEAR(v, v1, 1e-17);
  EXPECT_NEAR(p, want, 1e-15);
}

}  // namespace
