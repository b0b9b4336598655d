#pragma once
// Optimizers with PyTorch's update rules and defaults (torch.optim.SGD, Adam, AdamW, single-tensor
// CPU code path), over parameter groups that each carry their own lr and weight decay.
//
// Devices: state follows its parameter (see follow_parameter below); state_dict() returns the
// state where it lives, so checkpoint writers copy it to the CPU.
//
// Updates run raw cj::ops kernels on the parameters' data and .grad: nothing is recorded for
// autograd. A parameter whose .grad is undefined is skipped (its state does not advance), as torch.
//
// Gradient accumulation over k micro-batches: leaf .grad accumulates across backward calls, so
//   for each micro-batch: cj::backward(loss_i);     // .grad += d loss_i
//   scale_gradients(params, 1.0 / k);             // or divide each loss_i by k before backward
//   clip_grad_norm(params, max_norm);             // optional, on the accumulated gradient
//   optimizer.step(); optimizer.zero_grad();
// gives the update of one step on the mean loss over the k micro-batches.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nn/module.hpp"
#include "tensor/tensor.hpp"

namespace cj::nn {

// Parameters that share hyper-parameters. Unset lr / weight_decay take the optimizer's defaults.
struct ParamGroup {
  std::vector<Tensor> params;
  std::optional<double> lr;
  std::optional<double> weight_decay;
  ParamGroup(std::vector<Tensor> p, std::optional<double> lr_ = std::nullopt,
             std::optional<double> weight_decay_ = std::nullopt)
      : params(std::move(p)), lr(lr_), weight_decay(weight_decay_) {}
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;

  // One update of every parameter that has a gradient, with each group's current lr.
  virtual void step() = 0;
  // Drops every parameter's .grad (torch's zero_grad(set_to_none=True), the default).
  void zero_grad();

  std::size_t num_groups() const { return groups_.size(); }
  double lr(std::size_t group) const;
  void set_lr(std::size_t group, double lr);  // what an LR scheduler calls
  double weight_decay(std::size_t group) const;
  const std::vector<Tensor>& group_params(std::size_t group) const;
  std::vector<Tensor> all_params() const;  // in group order: the index torch's state_dict uses

  // Per-parameter state ("<param index>.<name>", e.g. "3.exp_avg", "3.step") and the groups' lrs
  // ("group.<g>.lr", f64 scalars): everything a checkpoint needs to resume bit-identically.
  StateDict state_dict() const;
  // Restores what state_dict() wrote into an optimizer built over the same parameters; throws
  // cj::Error naming the key when anything is missing or has the wrong shape.
  void load_state_dict(const StateDict& state);

 protected:
  Optimizer(std::vector<ParamGroup> groups, double default_lr, double default_weight_decay, const char* name);

  struct Group {
    std::vector<Tensor> params;
    double lr, weight_decay;
  };
  // Per-parameter state: named tensors created on the parameter's first update.
  using ParamState = std::map<std::string, Tensor>;
  ParamState& state_of(std::size_t param_index) { return state_[param_index]; }
  // Calls fn(param, grad, group, state) for every parameter with a gradient.
  template <typename Fn>
  void for_each_param_with_grad(Fn&& fn) {
    std::size_t index = 0;
    for (auto& group : groups_)
      for (auto& p : group.params) {
        Tensor g = p.grad();
        if (g.defined()) {
          follow_parameter(p, state_[index]);
          fn(p, g, group, state_[index]);
        }
        ++index;
      }
  }
  const char* name_;

 private:
  // The device rule: a state tensor shaped like its parameter (moments, momentum) is moved/cast
  // to the parameter's device and dtype before each update, so nn::Module::to may run before or
  // after the optimizer is built, and state loaded from a CPU checkpoint lands where the model is.
  // Scalar counters ("step") stay on the CPU, where the update reads them.
  static void follow_parameter(const Tensor& p, ParamState& state);

  std::vector<Group> groups_;
  std::map<std::size_t, ParamState> state_;
};

// torch.optim.SGD: with weight decay g += wd * p; with momentum buf = g on the first step, else
// buf = momentum * buf + (1 - dampening) * g; nesterov uses g + momentum * buf; p -= lr * update.
struct SGDOptions {
  double lr = 1e-3;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;
};
class SGD : public Optimizer {
 public:
  SGD(std::vector<ParamGroup> groups, SGDOptions options);
  SGD(std::vector<Tensor> params, SGDOptions options) : SGD({ParamGroup(std::move(params))}, options) {}
  void step() override;

 private:
  SGDOptions options_;
};

// torch.optim.Adam (weight_decay adds wd * p to the gradient, L2) and AdamW (decoupled: p *= 1 - lr * wd
// before the update). Defaults are PyTorch's: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay
// 0 for Adam and 0.01 for AdamW.
struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  std::optional<double> weight_decay;  // unset: 0 (Adam) or 0.01 (AdamW)
  bool amsgrad = false;
  // One pass over flat state buffers instead of a dozen ops per parameter (torch's fused=True):
  // the state of all parameters of one dtype and device lives in one buffer per moment, and a
  // step is one ops::fused_adam_ call (one loop on the CPU, one kernel launch on a GPU) over the
  // parameters that have a gradient. Results, step counting and state_dict keys are the unfused
  // step's exactly, so checkpoints move between the two. See nn/optim/adam_fused.cpp.
  bool fused = false;
};
class Adam : public Optimizer {
 public:
  Adam(std::vector<ParamGroup> groups, AdamOptions options = {}) : Adam(std::move(groups), options, false) {}
  Adam(std::vector<Tensor> params, AdamOptions options = {}) : Adam({ParamGroup(std::move(params))}, options) {}
  void step() override;

 protected:
  Adam(std::vector<ParamGroup> groups, AdamOptions options, bool decoupled_weight_decay);

 private:
  void fused_step();
  AdamOptions options_;
  bool decoupled_;
  struct FlatState;                   // the flat buffers of the fused step (adam_fused.cpp)
  std::shared_ptr<FlatState> flat_;  // created on the first fused step
};
class AdamW : public Adam {
 public:
  AdamW(std::vector<ParamGroup> groups, AdamOptions options = {}) : Adam(std::move(groups), options, true) {}
  AdamW(std::vector<Tensor> params, AdamOptions options = {}) : AdamW({ParamGroup(std::move(params))}, options) {}
};

// torch.nn.utils.clip_grad_norm_: the norm (2 or infinity) of all gradients together; when it
// exceeds max_norm every gradient is scaled by max_norm / (total + 1e-6). Returns the total norm.
// Parameters without a gradient are ignored. One f64 reduction over all gradients of a device,
// then one scaling pass (as torch's foreach path); a NaN gradient gives a NaN norm and no scaling.
double clip_grad_norm(const std::vector<Tensor>& params, double max_norm, double norm_type = 2.0);

// Multiplies every defined .grad by factor (gradient accumulation: 1 / micro-batches).
void scale_gradients(const std::vector<Tensor>& params, double factor);

}  // namespace cj::nn
