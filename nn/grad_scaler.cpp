#include "nn/grad_scaler.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "autograd/ops.hpp"
#include "tensor/ops.hpp"

namespace cj::nn {

GradScaler::GradScaler(GradScalerOptions options)
    : options_(options), enabled_(options.enabled), scale_(float(options.init_scale)) {
  CJ_CHECK(std::isfinite(scale_) && scale_ > 0, "GradScaler: init_scale must be positive and finite in float32, got ",
           options.init_scale);
  CJ_CHECK(options.growth_factor > 1.0, "GradScaler: growth_factor must be > 1, got ", options.growth_factor);
  CJ_CHECK(options.backoff_factor > 0.0 && options.backoff_factor < 1.0,
           "GradScaler: backoff_factor must lie in (0, 1), got ", options.backoff_factor);
  CJ_CHECK(options.growth_interval > 0, "GradScaler: growth_interval must be > 0, got ", options.growth_interval);
}

Tensor GradScaler::scale(const Tensor& loss) const {
  if (!enabled_) return loss;
  CJ_CHECK(loss.defined() && is_floating(loss.dtype()), "GradScaler::scale: the loss must be a floating tensor, got ",
           loss.defined() ? loss.describe() : std::string("an undefined tensor"));
  const bool half = loss.dtype() == DType::f16 || loss.dtype() == DType::bf16;
  return cj::mul(half ? cj::to(loss, DType::f32) : loss, double(scale_));
}

void GradScaler::unscale_(Optimizer& optimizer) {
  if (!enabled_) return;
  OptimizerStage& stage = stages_[&optimizer];
  CJ_CHECK(!stage.unscaled, "GradScaler::unscale_: already called on this optimizer since the last update()");
  CJ_CHECK(!stage.stepped, "GradScaler::unscale_: called after step() (call it before step(), once per update())");
  // torch computes the reciprocal in double and rounds it to float once.
  const float inv_scale = float(1.0 / double(scale_));
  // One "all finite" flag per device, combined where the gradients are: a single read-back per
  // device and step (torch's found_inf tensor), not a host sync per gradient.
  std::vector<Tensor> all_finite;  // bool scalars, one per device
  for (const Tensor& p : optimizer.all_params()) {
    Tensor g = p.grad();
    if (!g.defined()) continue;
    CJ_CHECK(g.dtype() != DType::f16, "GradScaler::unscale_: a parameter ", p.shape(), " has a float16 gradient; "
             "keep float32 master weights (autocast casts them to float16 inside the ops)");
    // false for inf and NaN
    const Tensor finite = ops::all(ops::lt(ops::abs(g), std::numeric_limits<double>::infinity()));
    auto same = std::find_if(all_finite.begin(), all_finite.end(),
                             [&](const Tensor& f) { return f.device() == finite.device(); });
    if (same == all_finite.end()) all_finite.push_back(finite);
    else *same = ops::logical_and(*same, finite);
    ops::mul_(g, double(inv_scale));
  }
  bool found_inf = false;
  for (const Tensor& flag : all_finite) found_inf = found_inf || !flag.item<bool>();
  stage.unscaled = true;
  stage.found_inf = found_inf;
}

bool GradScaler::step(Optimizer& optimizer) {
  if (!enabled_) {
    optimizer.step();
    return true;
  }
  CJ_CHECK(!stages_[&optimizer].stepped, "GradScaler::step: already called on this optimizer since the last update()");
  if (!stages_[&optimizer].unscaled) unscale_(optimizer);
  OptimizerStage& stage = stages_[&optimizer];
  stage.stepped = true;
  if (stage.found_inf) return false;
  optimizer.step();
  return true;
}

void GradScaler::update() {
  if (!enabled_) return;
  CJ_CHECK(!stages_.empty(), "GradScaler::update: no step() or unscale_() since the last update(), so there is no "
           "inf/NaN check to act on");
  bool found_inf = false;
  for (const auto& [_, stage] : stages_) found_inf = found_inf || stage.found_inf;
  if (found_inf) {
    scale_ = float(double(scale_) * options_.backoff_factor);
    growth_tracker_ = 0;
  } else if (++growth_tracker_ == options_.growth_interval) {
    const float grown = float(double(scale_) * options_.growth_factor);
    if (std::isfinite(grown)) scale_ = grown;
    growth_tracker_ = 0;
  }
  stages_.clear();
}

void GradScaler::update(double new_scale) {
  if (!enabled_) return;
  const float s = float(new_scale);
  CJ_CHECK(std::isfinite(s) && s > 0, "GradScaler::update: new scale must be positive and finite in float32, got ",
           new_scale);
  scale_ = s;
  stages_.clear();
}

StateDict GradScaler::state_dict() const {
  return {{"scale", scalar_tensor(double(scale_), DType::f32)},
          {"growth_factor", scalar_tensor(options_.growth_factor, DType::f64)},
          {"backoff_factor", scalar_tensor(options_.backoff_factor, DType::f64)},
          {"growth_interval", scalar_tensor(options_.growth_interval, DType::i64)},
          {"_growth_tracker", scalar_tensor(growth_tracker_, DType::i64)}};
}

void GradScaler::load_state_dict(const StateDict& state) {
  auto get = [&](const char* key) -> const Tensor& {
    auto it = state.find(key);
    CJ_CHECK(it != state.end(), "GradScaler::load_state_dict: missing key '", key, "'");
    CJ_CHECK(it->second.numel() == 1, "GradScaler::load_state_dict: '", key, "' must hold one value, got shape ",
             it->second.shape());
    return it->second;
  };
  GradScalerOptions loaded = options_;
  loaded.init_scale = get("scale").item<double>();
  loaded.growth_factor = get("growth_factor").item<double>();
  loaded.backoff_factor = get("backoff_factor").item<double>();
  loaded.growth_interval = get("growth_interval").item<int64_t>();
  const int64_t tracker = get("_growth_tracker").item<int64_t>();
  CJ_CHECK(tracker >= 0 && tracker < loaded.growth_interval, "GradScaler::load_state_dict: _growth_tracker ", tracker,
           " must lie in [0, growth_interval ", loaded.growth_interval, ")");
  GradScaler restored(loaded);  // validates the values as the constructor does
  restored.growth_tracker_ = tracker;
  *this = restored;
}

}  // namespace cj::nn
