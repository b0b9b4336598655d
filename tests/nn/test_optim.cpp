// Optimizers, schedules and gradient clipping against PyTorch trajectories (tests/fixtures/nn/optim,
// schedules, clip_grad_norm; tools/fixtures/nn_layers.py).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "fixture.hpp"
#include "nn/optim/optimizer.hpp"
#include "nn/optim/schedule.hpp"
#include "tensor/ops.hpp"

using namespace cj;
using cj::test::load_fixture;
using cj::test::rel_error;
using nlohmann::json;

namespace {

std::shared_ptr<nn::Schedule> make_schedule(const json& s) {
  const std::string kind = s["kind"];
  if (kind == "constant") return std::make_shared<nn::ConstantSchedule>();
  if (kind == "linear_warmup") return std::make_shared<nn::LinearWarmupSchedule>(s["warmup_steps"].get<int64_t>());
  if (kind == "cosine")
    return std::make_shared<nn::CosineSchedule>(s["total_steps"].get<int64_t>(), s["warmup_steps"].get<int64_t>(),
                                                s["warmup_start_factor"].get<double>(), s["eta_min"].get<double>());
  if (kind == "exp_decay")
    return std::make_shared<nn::ExponentialDecaySchedule>(
        s["warmup_steps"].get<int64_t>(), s["decay_steps"].get<int64_t>(), s["decay_rate"].get<double>());
  if (kind == "cosine_restarts")
    return std::make_shared<nn::CosineWarmupRestartsSchedule>(
        s["first_cycle_steps"].get<int64_t>(), s["warmup_steps"].get<int64_t>(), s["min_lr_factor"].get<double>(),
        s["cycle_mult"].get<double>(), s["gamma"].get<double>());
  fail("unknown schedule kind ", kind);
}

std::unique_ptr<nn::Optimizer> make_optimizer(const json& o, const Tensor& w, const Tensor& b, double bias_lr_scale,
                                              bool fused = false) {
  const double lr = o["lr"];
  std::vector<nn::ParamGroup> groups{nn::ParamGroup({w}), nn::ParamGroup({b}, lr * bias_lr_scale, 0.0)};
  const std::string kind = o["kind"];
  if (kind == "sgd") {
    nn::SGDOptions opt;
    opt.lr = lr;
    opt.momentum = o["momentum"];
    opt.nesterov = o["nesterov"];
    opt.weight_decay = o["weight_decay"];
    opt.dampening = o["dampening"];
    return std::make_unique<nn::SGD>(groups, opt);
  }
  nn::AdamOptions opt;
  opt.lr = lr;
  opt.beta1 = o["betas"][0];
  opt.beta2 = o["betas"][1];
  opt.eps = o["eps"];
  opt.weight_decay = o["weight_decay"].get<double>();
  opt.amsgrad = o["amsgrad"];
  opt.fused = fused;
  if (kind == "adam") return std::make_unique<nn::Adam>(groups, opt);
  return std::make_unique<nn::AdamW>(groups, opt);
}

}  // namespace

TEST(Schedules, MatchTorchOverFortySteps) {
  auto f = load_fixture("schedules");
  const double base_lr = f.config["base_lr"];
  const int64_t steps = f.config["steps"];
  ASSERT_EQ(f.config["schedules"].size(), 5u);
  for (auto it = f.config["schedules"].begin(); it != f.config["schedules"].end(); ++it) {
    auto schedule = make_schedule(*it);
    auto expected = to_vector<double>(f.at(it.key()));
    ASSERT_EQ(int64_t(expected.size()), steps);
    for (int64_t s = 0; s < steps; ++s)
      EXPECT_NEAR(schedule->lr(s, base_lr), expected[s], 1e-12) << it.key() << " (" << schedule->describe()
                                                                 << ") at step " << s;
  }
}

TEST(Schedules, ReferenceValues) {
  // VideoSAUR: warmup 2000, decay to half by step 100000.
  nn::ExponentialDecaySchedule exp_decay(2000, 100000, 0.5);
  EXPECT_DOUBLE_EQ(exp_decay.lr(0, 1e-4), 0.0);
  EXPECT_DOUBLE_EQ(exp_decay.lr(1000, 1e-4), 0.5e-4);
  EXPECT_DOUBLE_EQ(exp_decay.lr(2000, 1e-4), 1e-4);
  EXPECT_NEAR(exp_decay.lr(100000, 1e-4), 0.5e-4, 1e-18);
  // SlotFormer: starts at lr/100, peaks at lr after the warmup, back to lr/100 at the cycle's end.
  nn::CosineWarmupRestartsSchedule restarts(1000, 25, 0.01);
  EXPECT_DOUBLE_EQ(restarts.lr(0, 1e-3), 1e-5);
  EXPECT_DOUBLE_EQ(restarts.lr(25, 1e-3), 1e-3);
  const double pi = std::acos(-1.0);
  EXPECT_NEAR(restarts.lr(999, 1e-3), 1e-5 + (1e-3 - 1e-5) * (1 + std::cos(pi * 974 / 975)) / 2, 1e-18);
  EXPECT_DOUBLE_EQ(restarts.lr(1000, 1e-3), 1e-5);  // restart
}

TEST(Schedules, RejectBadArguments) {
  EXPECT_THROW(nn::CosineSchedule(5, 5), Error);
  EXPECT_THROW(nn::ExponentialDecaySchedule(10, 10), Error);
  EXPECT_THROW(nn::CosineWarmupRestartsSchedule(3, 1, 0.01, 0.5), Error);
  EXPECT_THROW(nn::LinearWarmupSchedule(-1), Error);
  EXPECT_THROW(nn::ConstantSchedule().lr(-1, 1.0), Error);
}

TEST(Optimizers, FiveStepTrajectoriesMatchTorchUnderEverySchedule) {
  auto f = load_fixture("optim");
  const int64_t steps = f.config["steps"];
  const double bias_lr_scale = f.config["bias_lr_scale"];
  ASSERT_EQ(f.config["cases"].size(), 35u);
  double worst = 0;
  for (bool fused : {false, true}) {  // AdamOptions::fused (SGD ignores it)
    for (const auto& c : f.config["cases"]) {
      const std::string name = c["name"];
      SCOPED_TRACE(name + (fused ? " fused" : ""));
      Tensor w = ops::clone(f.at(name + ".param.0.w")).requires_grad_(true);
      Tensor b = ops::clone(f.at(name + ".param.0.b")).requires_grad_(true);
      auto optimizer = make_optimizer(c["optimizer"], w, b, bias_lr_scale, fused);
      nn::LRScheduler scheduler(*optimizer, make_schedule(c["schedule"]));
      auto lrs = to_vector<double>(f.at(name + ".lr"));
      for (int64_t s = 0; s < steps; ++s) {
        const std::string t = std::to_string(s);
        w.set_grad(ops::clone(f.at(name + ".grad." + t + ".w")));
        b.set_grad(ops::clone(f.at(name + ".grad." + t + ".b")));
        EXPECT_NEAR(optimizer->lr(0), lrs[2 * s], 1e-12 * lrs[2 * s]) << "step " << s;
        EXPECT_NEAR(optimizer->lr(1), lrs[2 * s + 1], 1e-12 * lrs[2 * s + 1]) << "step " << s;
        optimizer->step();
        scheduler.step();
        const std::string next = std::to_string(s + 1);
        double ew = rel_error(w, f.at(name + ".param." + next + ".w"));
        double eb = rel_error(b, f.at(name + ".param." + next + ".b"));
        EXPECT_LE(ew, 1e-6) << "w after step " << s + 1;
        EXPECT_LE(eb, 1e-6) << "b after step " << s + 1;
        worst = std::max({worst, ew, eb});
      }
    }
  }
  RecordProperty("worst_rel_error", std::to_string(worst));
  std::printf("optimizer trajectories: worst relative error %.3g\n", worst);
}

TEST(Optimizers, SkipParametersWithoutGradient) {
  Tensor a = ones({3}).requires_grad_(true), b = ones({2}).requires_grad_(true);
  nn::Adam adam({a, b}, {});
  a.set_grad(full({3}, 0.5));
  adam.step();
  EXPECT_LT(a.at({0}), 1.0);
  EXPECT_EQ(b.at({0}), 1.0);
  auto state = adam.state_dict();
  EXPECT_TRUE(state.count("state.0.exp_avg"));
  EXPECT_FALSE(state.count("state.1.exp_avg"));
  EXPECT_EQ(state.at("state.0.step").item<int64_t>(), 1);
}

TEST(Optimizers, StateDictRoundTripContinuesIdentically) {
  auto run = [](nn::Optimizer& opt, const Tensor& p, int steps) {
    for (int s = 0; s < steps; ++s) {
      p.set_grad(ops::mul(ops::sin(p), 0.3));
      opt.step();
    }
  };
  nn::AdamOptions o;
  o.amsgrad = true;
  Tensor p1 = tensor({0.5f, -1.0f, 2.0f, 0.25f}).requires_grad_(true);
  nn::AdamW a1({p1}, o);
  run(a1, p1, 6);

  Tensor p2 = tensor({0.5f, -1.0f, 2.0f, 0.25f}).requires_grad_(true);
  nn::AdamW a2({p2}, o);
  run(a2, p2, 3);
  auto saved = a2.state_dict();
  Tensor p3 = ops::clone(p2).requires_grad_(true);
  nn::AdamW a3({p3}, o);
  a3.load_state_dict(saved);
  run(a3, p3, 3);
  EXPECT_EQ(to_vector<float>(p3), to_vector<float>(p1));
}

TEST(Optimizers, BadInputThrowsClearErrors) {
  Tensor p = zeros({2}).requires_grad_(true);
  nn::SGDOptions nesterov;
  nesterov.nesterov = true;
  EXPECT_THROW(nn::SGD({p}, nesterov), Error);
  try {
    nn::Adam adam({p, p});
    FAIL() << "duplicate parameter accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("more than once"), std::string::npos) << e.what();
  }
  nn::AdamOptions bad;
  bad.beta1 = 1.0;
  EXPECT_THROW(nn::Adam({p}, bad), Error);
  EXPECT_THROW(nn::Adam(std::vector<nn::ParamGroup>{}), Error);
  EXPECT_THROW(nn::Adam({zeros({2}, DType::i64)}), Error);
  nn::Adam adam({p});
  try {
    adam.load_state_dict({{"group.0.lr", scalar_tensor(0.1, DType::f64)}, {"state.7.exp_avg", zeros({2})}});
    FAIL() << "state for a missing parameter accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("state.7.exp_avg"), std::string::npos) << e.what();
  }
  EXPECT_THROW(adam.load_state_dict({{"group.0.lr", scalar_tensor(0.1, DType::f64)}, {"state.0.exp_avg", zeros({3})}}),
               Error);
  EXPECT_THROW(adam.load_state_dict({}), Error);
}

TEST(ClipGradNorm, MatchesTorch) {
  auto f = load_fixture("clip_grad_norm");
  for (const auto& c : f.config["cases"]) {
    const std::string tag = c["tag"];
    SCOPED_TRACE(tag);
    std::vector<Tensor> params;
    for (int i = 0; i < 3; ++i) {
      Tensor g = f.at("grad." + std::to_string(i));
      Tensor p = zeros_like(g).requires_grad_(true);
      p.set_grad(ops::clone(g));
      params.push_back(p);
    }
    const double norm_type = c["norm_type"].is_string() ? std::numeric_limits<double>::infinity()
                                                        : c["norm_type"].get<double>();
    double total = nn::clip_grad_norm(params, c["max_norm"].get<double>(), norm_type);
    EXPECT_NEAR(total, f.at(tag + ".total_norm").item<double>(), 1e-6 * total);
    for (int i = 0; i < 3; ++i)
      EXPECT_LE(rel_error(params[i].grad(), f.at(tag + ".clipped." + std::to_string(i))), 1e-6) << "grad " << i;
  }
}

TEST(ClipGradNorm, IgnoresMissingGradientsAndRejectsBadNorms) {
  Tensor p = zeros({2}).requires_grad_(true);
  EXPECT_EQ(nn::clip_grad_norm({p}, 1.0), 0.0);
  p.set_grad(tensor({3.0f, 4.0f}));
  EXPECT_THROW(nn::clip_grad_norm({p}, 1.0, 1.0), Error);
  EXPECT_THROW(nn::clip_grad_norm({p}, -1.0), Error);
  EXPECT_NEAR(nn::clip_grad_norm({p}, 10.0), 5.0, 1e-6);
  EXPECT_EQ(p.grad().at({1}), 4.0);  // under the limit: untouched
  nn::scale_gradients({p}, 0.5);
  EXPECT_EQ(p.grad().at({1}), 2.0);
}
