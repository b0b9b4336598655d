#pragma once
// Learning-rate schedules as pure functions of the optimizer step, and LRScheduler, which applies
// one to every parameter group the way torch.optim.lr_scheduler does: the lr for step 0 is set at
// construction, and scheduler.step() after each optimizer.step() sets the lr of the next step.
// Being pure functions of the step, schedules need nothing in a checkpoint beyond the step count.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace cj::nn {

class Optimizer;

class Schedule {
 public:
  virtual ~Schedule() = default;
  // The lr at `step` (0-based) for a parameter group whose configured lr is base_lr.
  virtual double lr(int64_t step, double base_lr) const = 0;
  virtual std::string describe() const = 0;  // "cosine(total=100, warmup=5, ...)", for logs
};

// lr = base_lr at every step.
class ConstantSchedule : public Schedule {
 public:
  double lr(int64_t step, double base_lr) const override;
  std::string describe() const override { return "constant"; }
};

// VideoSAUR's linear_warmup: base_lr * min(1, step / warmup_steps) (so step 0 has lr 0).
class LinearWarmupSchedule : public Schedule {
 public:
  explicit LinearWarmupSchedule(int64_t warmup_steps);
  double lr(int64_t step, double base_lr) const override;
  std::string describe() const override;

 private:
  int64_t warmup_steps_;
};

// Linear warmup then cosine annealing, as torch's SequentialLR([LinearLR(start_factor,
// total_iters=warmup), CosineAnnealingLR(T_max=total-warmup, eta_min)], milestones=[warmup]):
//   step < warmup:  base_lr * (start_factor + (1 - start_factor) * step / warmup)
//   otherwise:      eta_min + (base_lr - eta_min) * (1 + cos(pi * (step - warmup) / (total - warmup))) / 2
// With warmup 0 this is CosineAnnealingLR(T_max=total, eta_min); past `total` the cosine keeps
// going (rises again), exactly as torch's does. eta_min is an absolute lr, as in torch.
class CosineSchedule : public Schedule {
 public:
  CosineSchedule(int64_t total_steps, int64_t warmup_steps = 0, double warmup_start_factor = 0.0,
                 double eta_min = 0.0);
  double lr(int64_t step, double base_lr) const override;
  std::string describe() const override;

 private:
  int64_t total_steps_, warmup_steps_;
  double warmup_start_factor_, eta_min_;
};

// VideoSAUR's exp_decay_with_warmup (reference.md §2.4):
//   step < warmup:  base_lr * step / warmup
//   otherwise:      base_lr * decay_rate ^ ((step - warmup) / (decay_steps - warmup))
// so the factor reaches decay_rate at step == decay_steps (VideoSAUR: 2000, 100000, 0.5).
class ExponentialDecaySchedule : public Schedule {
 public:
  ExponentialDecaySchedule(int64_t warmup_steps, int64_t decay_steps, double decay_rate = 0.5);
  double lr(int64_t step, double base_lr) const override;
  std::string describe() const override;

 private:
  int64_t warmup_steps_, decay_steps_;
  double decay_rate_;
};

// SlotFormer's nerv CosineAnnealingWarmupRestarts with max_lr = base_lr and
// min_lr = base_lr * min_lr_factor (SlotFormer: first_cycle_steps = total, warmup = 2.5 % of it,
// factor 0.01). Within a cycle of length L starting at step s0, with t = step - s0:
//   t < warmup:  min_lr + (peak - min_lr) * t / warmup
//   otherwise:   min_lr + (peak - min_lr) * (1 + cos(pi * (t - warmup) / (L - warmup))) / 2
// peak = base_lr * gamma^cycle; the next cycle has length int((L - warmup) * cycle_mult) + warmup.
class CosineWarmupRestartsSchedule : public Schedule {
 public:
  CosineWarmupRestartsSchedule(int64_t first_cycle_steps, int64_t warmup_steps, double min_lr_factor = 0.01,
                               double cycle_mult = 1.0, double gamma = 1.0);
  double lr(int64_t step, double base_lr) const override;
  std::string describe() const override;

 private:
  int64_t first_cycle_steps_, warmup_steps_;
  double min_lr_factor_, cycle_mult_, gamma_;
};

// Drives an optimizer's parameter groups: each group's lr becomes schedule.lr(step, its base lr),
// where the base lr is the group's lr when the scheduler was made.
class LRScheduler {
 public:
  LRScheduler(Optimizer& optimizer, std::shared_ptr<const Schedule> schedule, int64_t start_step = 0);
  void step();                            // after optimizer.step(): moves to the next step's lr
  int64_t current_step() const { return step_; }
  void set_step(int64_t step);            // resume: sets the lrs of `step` (checkpoints store it)
  double lr(std::size_t group = 0) const;  // the lr the next optimizer.step() uses

 private:
  void apply();
  Optimizer& optimizer_;
  std::shared_ptr<const Schedule> schedule_;
  std::vector<double> base_lrs_;
  int64_t step_;
};

}  // namespace cj::nn
