// nn::GradScaler against torch.amp.GradScaler: the scale trajectory, skipped steps and parameters
// over a scripted run with inf and NaN gradients (tests/fixtures/autocast/grad_scaler.safetensors,
// tools/fixtures/autocast.py), the defaults' 2000-step growth, overflow, state_dict resume, misuse.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "tests/temp_path.hpp"
#include "autograd/ops.hpp"
#include "nn/nn.hpp"
#include "tests/autograd/autocast_check.hpp"

namespace cj {
namespace {

using test::fixture_at;

// The fixture's script: 'f' a finite step, 'i' an inf in gradient element 1, 'n' a NaN in element 2.
const char* const kScript = "fffiffffnfffffffiiffff";

nn::GradScalerOptions fixture_options() {
  nn::GradScalerOptions o;
  o.init_scale = 1024.0;
  o.growth_interval = 3;
  return o;
}

// One training step as the fixture's: loss = sum(p * coeffs), scaled backward, a poisoned gradient
// where the script says so, then step and update. Returns whether the optimizer stepped.
bool scripted_step(nn::GradScaler& scaler, nn::Optimizer& opt, const Tensor& p, const Tensor& coeffs, char kind) {
  opt.zero_grad();
  backward(scaler.scale(cj::sum(cj::mul(p, coeffs))));
  if (kind == 'i') ops::fill_(ops::select(p.grad(), 0, 1), std::numeric_limits<double>::infinity());
  if (kind == 'n') ops::fill_(ops::select(p.grad(), 0, 2), std::numeric_limits<double>::quiet_NaN());
  const bool stepped = scaler.step(opt);
  scaler.update();
  return stepped;
}

TEST(GradScaler, DefaultsAreTorchs) {
  nn::GradScaler scaler;
  EXPECT_EQ(scaler.get_scale(), 65536.0);
  EXPECT_EQ(scaler.options().growth_factor, 2.0);
  EXPECT_EQ(scaler.options().backoff_factor, 0.5);
  EXPECT_EQ(scaler.options().growth_interval, 2000);
}

TEST(GradScaler, ScriptedRunMatchesTorch) {
  const auto f = test::load_autocast_fixture("grad_scaler");
  Tensor p = ops::clone(fixture_at(f, "param.initial"));
  p.requires_grad_(true);
  const Tensor& coeffs = fixture_at(f, "coeffs");
  nn::SGDOptions sgd;
  sgd.lr = 0.1;
  nn::SGD opt({p}, sgd);
  nn::GradScaler scaler(fixture_options());
  const Tensor scales = fixture_at(f, "scale"), trackers = fixture_at(f, "growth_tracker");
  const Tensor stepped = fixture_at(f, "stepped"), params = fixture_at(f, "param");
  ASSERT_EQ(scales.numel(), int64_t(std::string(kScript).size()));
  for (int64_t i = 0; kScript[i]; ++i) {
    const bool did_step = scripted_step(scaler, opt, p, coeffs, kScript[i]);
    EXPECT_EQ(did_step, ops::select(stepped, 0, i).item<int64_t>() != 0) << "step " << i;
    EXPECT_EQ(scaler.get_scale(), ops::select(scales, 0, i).item<double>()) << "step " << i;
    EXPECT_EQ(scaler.growth_tracker(), ops::select(trackers, 0, i).item<int64_t>()) << "step " << i;
    // The unscaled gradients are exact (power-of-two scales); SGD's f32 update may round an
    // element differently from torch's fused add (one f32 ulp), as in the optimizer tests.
    EXPECT_LE(ops::max_rel_error(p, ops::select(params, 0, i)), 1e-7) << "step " << i;
  }
}

TEST(GradScaler, DefaultIntervalGrowsAfter2000FiniteStepsAndBacksOffOnInf) {
  Tensor p = zeros({2});
  p.requires_grad_(true);
  nn::SGD opt({p}, nn::SGDOptions{});
  nn::GradScaler scaler;
  auto iteration = [&](double grad_value) {
    p.set_grad(full({2}, grad_value));
    scaler.step(opt);
    scaler.update();
  };
  for (int i = 0; i < 1999; ++i) iteration(1.0);
  EXPECT_EQ(scaler.get_scale(), 65536.0);
  EXPECT_EQ(scaler.growth_tracker(), 1999);
  iteration(1.0);
  EXPECT_EQ(scaler.get_scale(), 131072.0);
  EXPECT_EQ(scaler.growth_tracker(), 0);
  iteration(1.0);
  iteration(std::numeric_limits<double>::infinity());
  EXPECT_EQ(scaler.get_scale(), 65536.0);
  EXPECT_EQ(scaler.growth_tracker(), 0);
}

// unscale_ folds the per-gradient finite checks into one flag: an inf or NaN in any gradient (not
// only the first or last), or in several, skips the step; every gradient is unscaled either way.
TEST(GradScaler, AnInfOrNanInAnyOfSeveralGradientsSkipsTheStep) {
  for (int poisoned = -1; poisoned < 3; ++poisoned) {
    for (double bad : {std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN()}) {
      std::vector<Tensor> params;
      for (int i = 0; i < 3; ++i) {
        params.push_back(full({2}, 1.0));
        params.back().requires_grad_(true);
        params.back().set_grad(full({2}, 4.0));
      }
      Tensor no_grad = zeros({2});  // a parameter without a gradient is passed over
      no_grad.requires_grad_(true);
      params.push_back(no_grad);
      if (poisoned >= 0) ops::fill_(ops::select(params[std::size_t(poisoned)].grad(), 0, 1), bad);
      nn::SGD opt(params, nn::SGDOptions{});
      nn::GradScalerOptions o;
      o.init_scale = 4.0;
      nn::GradScaler scaler(o);
      EXPECT_EQ(scaler.step(opt), poisoned < 0) << "poisoned gradient " << poisoned << ", value " << bad;
      for (int i = 0; i < 3; ++i) EXPECT_EQ(params[std::size_t(i)].grad().at({0}), 1.0) << "gradient " << i;
      scaler.update();
      EXPECT_EQ(scaler.get_scale(), poisoned < 0 ? 4.0 : 2.0) << "poisoned gradient " << poisoned;
    }
  }
}

TEST(GradScaler, GrowthStopsWhereTheScaleWouldOverflowFloat32) {
  const auto f = test::load_autocast_fixture("grad_scaler");
  Tensor q = ones({1});
  q.requires_grad_(true);
  nn::SGDOptions sgd;
  sgd.lr = 0.0;
  nn::SGD opt({q}, sgd);
  nn::GradScalerOptions o;
  o.init_scale = std::ldexp(1.0, 127);
  o.growth_interval = 1;
  nn::GradScaler scaler(o);
  const Tensor& want = fixture_at(f, "overflow.scale");
  for (int64_t i = 0; i < want.numel(); ++i) {
    opt.zero_grad();
    backward(scaler.scale(cj::sum(cj::mul(q, 1e-30))));
    EXPECT_TRUE(scaler.step(opt));
    scaler.update();
    EXPECT_EQ(scaler.get_scale(), ops::select(want, 0, i).item<double>());
  }
}

// A checkpoint taken mid-run resumes the same trajectory: a fresh scaler loaded from state_dict()
// continues exactly as the original does.
TEST(GradScaler, StateDictResumesTheTrajectory) {
  const auto f = test::load_autocast_fixture("grad_scaler");
  const Tensor& coeffs = fixture_at(f, "coeffs");
  nn::SGDOptions sgd;
  sgd.lr = 0.1;
  Tensor p = ops::clone(fixture_at(f, "param.initial"));
  p.requires_grad_(true);
  nn::SGD opt({p}, sgd);
  nn::GradScaler scaler(fixture_options());
  const std::string script = kScript;
  const std::size_t split = 13;  // mid-way through a growth interval (tracker 1)
  for (std::size_t i = 0; i < split; ++i) scripted_step(scaler, opt, p, coeffs, script[i]);
  const nn::StateDict state = scaler.state_dict();
  EXPECT_EQ(state.at("scale").dtype(), DType::f32);
  EXPECT_EQ(state.at("_growth_tracker").item<int64_t>(), 1);

  nn::GradScaler resumed;  // different options: all of them come from the state dict
  resumed.load_state_dict(state);
  EXPECT_EQ(resumed.options().growth_interval, 3);
  Tensor p2 = ops::clone(p);
  p2.requires_grad_(true);
  nn::SGD opt2({p2}, sgd);
  for (std::size_t i = split; i < script.size(); ++i) {
    scripted_step(scaler, opt, p, coeffs, script[i]);
    scripted_step(resumed, opt2, p2, coeffs, script[i]);
    EXPECT_EQ(resumed.get_scale(), scaler.get_scale()) << i;
    EXPECT_EQ(resumed.growth_tracker(), scaler.growth_tracker()) << i;
  }
  EXPECT_EQ(resumed.get_scale(), ops::select(fixture_at(f, "scale"), 0, -1).item<double>());

  nn::StateDict missing = state;
  missing.erase("_growth_tracker");
  try {
    resumed.load_state_dict(missing);
    FAIL() << "expected cj::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("_growth_tracker"), std::string::npos) << e.what();
  }
}

TEST(GradScaler, CheckpointsCarryTheScalerState) {
  const std::string path = cj::test::unique_temp_path("cj_test_grad_scaler.safetensors").string();
  nn::Linear model(2, 2);
  Generator rng(3);
  nn::GradScaler scaler(fixture_options());
  scaler.update(4096.0);
  Tensor p = model.weight;
  nn::SGD opt(model.parameters(), nn::SGDOptions{});
  p.set_grad(ones({2, 2}));
  scaler.step(opt);
  scaler.update();  // tracker 1
  nn::save_checkpoint(path, model, &opt, 1, rng, "{}", &scaler);
  nn::GradScaler restored;
  nn::load_checkpoint(path, model, &opt, nullptr, &restored);
  EXPECT_EQ(restored.get_scale(), 4096.0);
  EXPECT_EQ(restored.growth_tracker(), 1);
  EXPECT_EQ(restored.options().growth_interval, 3);
  nn::load_checkpoint(path, model, &opt);  // a scaler in the file may be ignored
  nn::save_checkpoint(path, model, &opt, 1, rng);
  try {
    nn::load_checkpoint(path, model, &opt, nullptr, &restored);
    FAIL() << "expected cj::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("GradScaler"), std::string::npos) << e.what();
  }
  std::filesystem::remove(path);
}

TEST(GradScaler, ScalesA16BitLossInFloat32) {
  nn::GradScaler scaler;  // 65536 * 2 would overflow float16 (max 65504)
  Tensor loss = ops::to(full({}, 2.0), DType::f16);
  Tensor scaled = scaler.scale(loss);
  EXPECT_EQ(scaled.dtype(), DType::f32);
  EXPECT_EQ(scaled.item<double>(), 131072.0);
}

TEST(GradScaler, RefusesMisuse) {
  Tensor p = zeros({2});
  p.requires_grad_(true);
  nn::SGD opt({p}, nn::SGDOptions{});
  nn::GradScaler scaler;
  EXPECT_THROW(scaler.update(), Error);  // nothing recorded yet
  p.set_grad(ones({2}));
  scaler.unscale_(opt);
  EXPECT_THROW(scaler.unscale_(opt), Error);
  scaler.step(opt);
  EXPECT_THROW(scaler.step(opt), Error);
  scaler.update();
  p.set_grad(ops::to(ones({2}), DType::f16));
  EXPECT_THROW(scaler.unscale_(opt), Error);  // fp16 gradients: keep fp32 master weights
  EXPECT_THROW(nn::GradScaler(nn::GradScalerOptions{0.0}), Error);
}

TEST(GradScaler, DisabledIsATransparentWrapper) {
  nn::GradScalerOptions o;
  o.enabled = false;
  nn::GradScaler scaler(o);
  Tensor p = ones({2});
  p.requires_grad_(true);
  nn::SGDOptions sgd;
  sgd.lr = 0.5;
  nn::SGD opt({p}, sgd);
  Tensor loss = cj::sum(p);
  EXPECT_TRUE(scaler.scale(loss).is_same(loss));
  backward(loss);
  EXPECT_TRUE(scaler.step(opt));
  scaler.update();
  EXPECT_EQ(scaler.get_scale(), 1.0);
  EXPECT_EQ(ops::max_rel_error(p, full({2}, 0.5)), 0.0);
}

// fp16 end to end: autocast forward, scaled backward into fp32 master weights, AdamW through the
// scaler; the unscaled gradients equal the unscaled run's up to fp16 rounding of the activations.
TEST(GradScaler, Fp16AutocastTrainingStep) {
  nn::Linear layer(4, 3);
  Tensor x = test::seeded_uniform({5, 4}, 91), target = test::seeded_uniform({5, 3}, 92);
  nn::AdamW opt(layer.parameters());
  nn::GradScaler scaler;
  Tensor loss;
  {
    AutocastGuard amp(DType::f16);
    loss = nn::mse_loss(layer.forward(x), target);
  }
  EXPECT_EQ(loss.dtype(), DType::f32);
  backward(scaler.scale(loss));
  scaler.unscale_(opt);
  Tensor fp16_grad = ops::clone(layer.weight.grad());
  EXPECT_EQ(fp16_grad.dtype(), DType::f32);
  EXPECT_TRUE(scaler.step(opt));
  scaler.update();

  nn::Linear reference(4, 3);
  reference.load_state_dict(layer.state_dict());  // any weights: compare gradients at equal weights
  layer.zero_grad();
  {
    AutocastGuard amp(DType::f16);
    backward(scaler.scale(nn::mse_loss(layer.forward(x), target)));
  }
  scaler.unscale_(opt);
  backward(nn::mse_loss(reference.forward(x), target));
  // fp16 keeps 11 significant bits: the gradient agrees to a few fp16 ulps (2^-10 each).
  EXPECT_LE(test::max_rel_error(layer.weight.grad(), reference.weight.grad()), 4.0 / 1024);
  scaler.update();
}

}  // namespace
}  // namespace cj
