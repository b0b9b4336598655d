#include "nn/optim/schedule.hpp"

#include <cmath>
#include <sstream>

#include "nn/optim/optimizer.hpp"
#include "tensor/error.hpp"

namespace cj::nn {

namespace {
constexpr double kPi = 3.14159265358979323846;

void check_step(int64_t step, const char* who) { CJ_CHECK(step >= 0, who, ": step must be >= 0, got ", step); }
}  // namespace

double ConstantSchedule::lr(int64_t step, double base_lr) const {
  check_step(step, "ConstantSchedule");
  return base_lr;
}

LinearWarmupSchedule::LinearWarmupSchedule(int64_t warmup_steps) : warmup_steps_(warmup_steps) {
  CJ_CHECK(warmup_steps >= 0, "LinearWarmupSchedule: warmup_steps must be >= 0, got ", warmup_steps);
}

double LinearWarmupSchedule::lr(int64_t step, double base_lr) const {
  check_step(step, "LinearWarmupSchedule");
  if (warmup_steps_ == 0 || step >= warmup_steps_) return base_lr;
  return base_lr * (double(step) / double(warmup_steps_));
}

std::string LinearWarmupSchedule::describe() const {
  return "linear_warmup(warmup=" + std::to_string(warmup_steps_) + ")";
}

CosineSchedule::CosineSchedule(int64_t total_steps, int64_t warmup_steps, double warmup_start_factor, double eta_min)
    : total_steps_(total_steps), warmup_steps_(warmup_steps), warmup_start_factor_(warmup_start_factor),
      eta_min_(eta_min) {
  CJ_CHECK(warmup_steps >= 0 && total_steps > warmup_steps, "CosineSchedule: need 0 <= warmup_steps < total_steps, got ",
           warmup_steps, " and ", total_steps);
  CJ_CHECK(warmup_start_factor >= 0 && warmup_start_factor <= 1,
           "CosineSchedule: warmup_start_factor must lie in [0, 1], got ", warmup_start_factor);
  CJ_CHECK(eta_min >= 0, "CosineSchedule: eta_min must be >= 0, got ", eta_min);
}

double CosineSchedule::lr(int64_t step, double base_lr) const {
  check_step(step, "CosineSchedule");
  if (step < warmup_steps_)
    return base_lr * (warmup_start_factor_ + (1 - warmup_start_factor_) * double(step) / double(warmup_steps_));
  const double t = double(step - warmup_steps_) / double(total_steps_ - warmup_steps_);
  return eta_min_ + (base_lr - eta_min_) * (1 + std::cos(kPi * t)) / 2;
}

std::string CosineSchedule::describe() const {
  std::ostringstream os;
  os << "cosine(total=" << total_steps_ << ", warmup=" << warmup_steps_ << ", warmup_start_factor="
     << warmup_start_factor_ << ", eta_min=" << eta_min_ << ")";
  return os.str();
}

ExponentialDecaySchedule::ExponentialDecaySchedule(int64_t warmup_steps, int64_t decay_steps, double decay_rate)
    : warmup_steps_(warmup_steps), decay_steps_(decay_steps), decay_rate_(decay_rate) {
  CJ_CHECK(warmup_steps >= 0 && decay_steps > warmup_steps,
           "ExponentialDecaySchedule: need 0 <= warmup_steps < decay_steps, got ", warmup_steps, " and ", decay_steps);
  CJ_CHECK(decay_rate > 0, "ExponentialDecaySchedule: decay_rate must be > 0, got ", decay_rate);
}

double ExponentialDecaySchedule::lr(int64_t step, double base_lr) const {
  check_step(step, "ExponentialDecaySchedule");
  if (step < warmup_steps_) return base_lr * (double(step) / double(warmup_steps_));
  return base_lr * std::pow(decay_rate_, double(step - warmup_steps_) / double(decay_steps_ - warmup_steps_));
}

std::string ExponentialDecaySchedule::describe() const {
  std::ostringstream os;
  os << "exp_decay(warmup=" << warmup_steps_ << ", decay_steps=" << decay_steps_ << ", rate=" << decay_rate_ << ")";
  return os.str();
}

CosineWarmupRestartsSchedule::CosineWarmupRestartsSchedule(int64_t first_cycle_steps, int64_t warmup_steps,
                                                           double min_lr_factor, double cycle_mult, double gamma)
    : first_cycle_steps_(first_cycle_steps), warmup_steps_(warmup_steps), min_lr_factor_(min_lr_factor),
      cycle_mult_(cycle_mult), gamma_(gamma) {
  CJ_CHECK(warmup_steps >= 0 && first_cycle_steps > warmup_steps,
           "CosineWarmupRestartsSchedule: need 0 <= warmup_steps < first_cycle_steps, got ", warmup_steps, " and ",
           first_cycle_steps);
  CJ_CHECK(min_lr_factor >= 0, "CosineWarmupRestartsSchedule: min_lr_factor must be >= 0, got ", min_lr_factor);
  CJ_CHECK(cycle_mult >= 1, "CosineWarmupRestartsSchedule: cycle_mult must be >= 1, got ", cycle_mult);
  CJ_CHECK(gamma > 0, "CosineWarmupRestartsSchedule: gamma must be > 0, got ", gamma);
}

double CosineWarmupRestartsSchedule::lr(int64_t step, double base_lr) const {
  check_step(step, "CosineWarmupRestartsSchedule");
  // Walk the cycles as nerv's step() does (cycles only grow, so this is O(number of restarts)).
  int64_t cycle = 0, cycle_len = first_cycle_steps_, t = step;
  while (t >= cycle_len) {
    t -= cycle_len;
    ++cycle;
    cycle_len = int64_t(double(cycle_len - warmup_steps_) * cycle_mult_) + warmup_steps_;
  }
  const double min_lr = base_lr * min_lr_factor_;
  const double peak = base_lr * std::pow(gamma_, double(cycle));
  if (t < warmup_steps_) return (peak - min_lr) * double(t) / double(warmup_steps_) + min_lr;
  const double progress = double(t - warmup_steps_) / double(cycle_len - warmup_steps_);
  return min_lr + (peak - min_lr) * (1 + std::cos(kPi * progress)) / 2;
}

std::string CosineWarmupRestartsSchedule::describe() const {
  std::ostringstream os;
  os << "cosine_warmup_restarts(first_cycle=" << first_cycle_steps_ << ", warmup=" << warmup_steps_
     << ", min_lr_factor=" << min_lr_factor_ << ", cycle_mult=" << cycle_mult_ << ", gamma=" << gamma_ << ")";
  return os.str();
}

LRScheduler::LRScheduler(Optimizer& optimizer, std::shared_ptr<const Schedule> schedule, int64_t start_step)
    : optimizer_(optimizer), schedule_(std::move(schedule)), step_(start_step) {
  CJ_CHECK(schedule_ != nullptr, "LRScheduler: schedule is null");
  CJ_CHECK(start_step >= 0, "LRScheduler: start_step must be >= 0, got ", start_step);
  for (std::size_t g = 0; g < optimizer_.num_groups(); ++g) base_lrs_.push_back(optimizer_.lr(g));
  apply();
}

void LRScheduler::step() {
  ++step_;
  apply();
}

void LRScheduler::set_step(int64_t step) {
  CJ_CHECK(step >= 0, "LRScheduler: step must be >= 0, got ", step);
  step_ = step;
  apply();
}

double LRScheduler::lr(std::size_t group) const { return optimizer_.lr(group); }

void LRScheduler::apply() {
  for (std::size_t g = 0; g < base_lrs_.size(); ++g) optimizer_.set_lr(g, schedule_->lr(step_, base_lrs_[g]));
}

}  // namespace cj::nn
