#pragma once
// Dynamic loss scaling for fp16 training, as torch.amp.GradScaler. fp16 gradients underflow below
// 2^-24, so the loss is multiplied by a large scale before backward and the fp32 master gradients
// are divided by it again before the optimizer step. A step whose gradients hold an inf or NaN is
// skipped and the scale halved; after growth_interval finite steps in a row the scale doubles.
// (bf16 has fp32's exponent range and needs no scaler.)
//
//   nn::GradScaler scaler;                                 // scale 2^16, growth 2, backoff 0.5, interval 2000
//   { AutocastGuard amp(DType::f16); loss = ...; }
//   cj::backward(scaler.scale(loss));
//   scaler.unscale_(optimizer);                            // optional: to clip the true gradients
//   clip_grad_norm(params, 1.0);
//   scaler.step(optimizer);                                // skipped when a gradient is not finite
//   scaler.update();
//   optimizer.zero_grad();
#include <cstdint>
#include <map>

#include "nn/module.hpp"
#include "nn/optim/optimizer.hpp"
#include "tensor/tensor.hpp"

namespace cj::nn {

struct GradScalerOptions {
  double init_scale = 65536.0;  // 2^16
  double growth_factor = 2.0;
  double backoff_factor = 0.5;
  int64_t growth_interval = 2000;
  bool enabled = true;  // disabled: scale() returns the loss, step() just steps, update() does nothing
};

class GradScaler {
 public:
  explicit GradScaler(GradScalerOptions options = {});

  // loss * scale, differentiable; a 16-bit loss is cast to f32 first (as torch's f32 scale
  // tensor promotes it), so that 65536 * loss cannot overflow fp16.
  Tensor scale(const Tensor& loss) const;
  // Divides every gradient of the optimizer's parameters by the scale (in place) and records
  // whether any is inf or NaN. At most once per optimizer between update()s; fp16 gradients are
  // refused (keep fp32 master weights).
  void unscale_(Optimizer& optimizer);
  // unscale_() if not done yet, then optimizer.step() unless a gradient was not finite. Returns
  // whether the optimizer stepped. At most once per optimizer between update()s.
  bool step(Optimizer& optimizer);
  // After the step(s) of an iteration: backoff on any non-finite gradient (and reset the count of
  // finite steps), else count the step and grow the scale every growth_interval steps (only while
  // the grown scale stays finite in f32).
  void update();
  void update(double new_scale);  // sets the scale directly (the finite-step count is kept)

  double get_scale() const { return enabled_ ? double(scale_) : 1.0; }
  int64_t growth_tracker() const { return growth_tracker_; }
  bool is_enabled() const { return enabled_; }
  const GradScalerOptions& options() const { return options_; }

  // torch's keys: "scale" (f32), "growth_factor", "backoff_factor" (f64), "growth_interval",
  // "_growth_tracker" (i64), for a checkpoint to resume the scale trajectory exactly.
  StateDict state_dict() const;
  void load_state_dict(const StateDict& state);  // throws cj::Error naming a missing or wrong key

 private:
  struct OptimizerStage {
    bool unscaled = false, stepped = false, found_inf = false;
  };
  GradScalerOptions options_;
  bool enabled_;
  float scale_;  // f32, as torch keeps it, so the trajectory rounds identically
  int64_t growth_tracker_ = 0;
  std::map<const Optimizer*, OptimizerStage> stages_;  // the optimizers seen since the last update()
};

}  // namespace cj::nn
