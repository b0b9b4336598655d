#pragma once
// Grad mode: a thread-local switch that ops consult before recording a node. Inside a
// NoGradGuard nothing is recorded (inference, optimizer updates, the backward pass itself).

namespace cj {

bool is_grad_enabled();
void set_grad_enabled(bool enabled);

// Restores the previous mode when it goes out of scope, so guards nest.
class GradModeGuard {
 public:
  explicit GradModeGuard(bool enabled) : previous_(is_grad_enabled()) { set_grad_enabled(enabled); }
  ~GradModeGuard() { set_grad_enabled(previous_); }
  GradModeGuard(const GradModeGuard&) = delete;
  GradModeGuard& operator=(const GradModeGuard&) = delete;

 private:
  bool previous_;
};

struct NoGradGuard : GradModeGuard {
  NoGradGuard() : GradModeGuard(false) {}
};
struct EnableGradGuard : GradModeGuard {
  EnableGradGuard() : GradModeGuard(true) {}
};

}  // namespace cj
