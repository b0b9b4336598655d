#pragma once
// Multi-tensor optimizer kernels: one loop (CPU) or one kernel launch (a backend's, registered
// under the same name) over many tensors of one device. nn::Adam with `fused` and
// nn::clip_grad_norm are built on them; the per-element maths is in tensor/ops/optim_math.hpp.
#include <cstdint>
#include <vector>

#include "tensor/tensor.hpp"

namespace cj::ops {

struct AdamConfig {
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  bool decoupled_weight_decay = true;  // AdamW; false: Adam's L2 term
  bool amsgrad = false;
};

// One parameter's part of a fused Adam step.
struct AdamSlice {
  Tensor param;                    // updated in place; contiguous
  Tensor grad;                     // same shape, dtype and device as param
  int64_t state_offset = 0;        // where its elements start in the flat state buffers
  double lr = 0, weight_decay = 0;  // its group's
  int64_t step = 1;                // the step being taken (1 on the first update)
};

// Adam/AdamW on every slice, each element exactly as nn::Adam's unfused step rounds it.
// exp_avg, exp_avg_sq and (with amsgrad; else undefined) max_exp_avg_sq are contiguous 1-d
// buffers of the parameters' dtype on their device, holding slice s's state at
// [s.state_offset, s.state_offset + s.param.numel()).
void fused_adam_(const std::vector<AdamSlice>& slices, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                 const Tensor& max_exp_avg_sq, const AdamConfig& config);
// The argument checks of fused_adam_ (shared with the backends' kernels): one cj::Error naming
// the slice and what is wrong. Returns the slices' grads, contiguous.
std::vector<Tensor> check_fused_adam(const std::vector<AdamSlice>& slices, const Tensor& exp_avg,
                                     const Tensor& exp_avg_sq, const Tensor& max_exp_avg_sq,
                                     const AdamConfig& config);

// Over all elements of all tensors together (floating, any dtypes, one device): the sum of
// squares (inf_norm false) or max |x| (inf_norm true), accumulated in f64; NaN propagates.
double foreach_norm_partial(const std::vector<Tensor>& tensors, bool inf_norm);
// t *= factor for every tensor, in its dtype's compute type (what ops::mul_(t, factor) stores).
void foreach_mul_(const std::vector<Tensor>& tensors, double factor);
// Checks shared with the backends: tensors defined, floating, on `device`.
void check_foreach(const char* op, const std::vector<Tensor>& tensors, Device device);

}  // namespace cj::ops
