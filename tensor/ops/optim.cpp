// CPU loops of the multi-tensor optimizer kernels (tensor/ops/optim.hpp) around the shared
// per-element maths of tensor/ops/optim_math.hpp.
#include "tensor/ops/optim.hpp"

#include "tensor/backend.hpp"
#include "tensor/cpu/parallel.hpp"
#include "tensor/dispatch.hpp"
#include "tensor/ops/elementwise.hpp"
#include "tensor/ops/optim_math.hpp"
#include "tensor/ops/views.hpp"

namespace cj::ops {

namespace {

constexpr int64_t kGrain = int64_t(1) << 15;

using optim_math::compute_of;
using optim_math::with_round;

void check_state_buffer(const char* what, const Tensor& t, const Tensor& like, int64_t numel) {
  CJ_CHECK(t.defined() && t.dim() == 1 && t.is_contiguous() && t.dtype() == like.dtype() &&
               t.device() == like.device() && t.numel() == numel,
           "fused_adam_: ", what, " must be a contiguous 1-d ", dtype_name(like.dtype()), " buffer of ", numel,
           " elements on ", like.device().str(), ", got ", t.defined() ? t.describe() : std::string("undefined"));
}

}  // namespace

std::vector<Tensor> check_fused_adam(const std::vector<AdamSlice>& slices, const Tensor& exp_avg,
                                     const Tensor& exp_avg_sq, const Tensor& max_exp_avg_sq,
                                     const AdamConfig& config) {
  CJ_CHECK(exp_avg.defined() && exp_avg.dim() == 1 && exp_avg.is_contiguous() && is_floating(exp_avg.dtype()),
           "fused_adam_: exp_avg must be a contiguous 1-d floating buffer, got ",
           exp_avg.defined() ? exp_avg.describe() : std::string("undefined"));
  const int64_t numel = exp_avg.numel();
  check_state_buffer("exp_avg_sq", exp_avg_sq, exp_avg, numel);
  if (config.amsgrad) check_state_buffer("max_exp_avg_sq (amsgrad)", max_exp_avg_sq, exp_avg, numel);
  std::vector<Tensor> grads;
  grads.reserve(slices.size());
  for (std::size_t i = 0; i < slices.size(); ++i) {
    const AdamSlice& s = slices[i];
    CJ_CHECK(s.param.defined() && s.grad.defined(), "fused_adam_: slice ", i, " has an undefined ",
             s.param.defined() ? "grad" : "param");
    CJ_CHECK(s.param.dtype() == exp_avg.dtype() && s.param.device() == exp_avg.device() && s.param.is_contiguous(),
             "fused_adam_: slice ", i, " param ", s.param.describe(), " must be contiguous, ",
             dtype_name(exp_avg.dtype()), ", on ", exp_avg.device().str(), " like the state buffers");
    CJ_CHECK(s.grad.dtype() == s.param.dtype() && s.grad.device() == s.param.device() &&
                 s.grad.shape() == s.param.shape(),
             "fused_adam_: slice ", i, " grad ", s.grad.describe(), " does not match its param ", s.param.describe(),
             " (same shape, dtype and device needed)");
    CJ_CHECK(s.state_offset >= 0 && s.state_offset + s.param.numel() <= numel, "fused_adam_: slice ", i,
             " state range [", s.state_offset, ", ", s.state_offset + s.param.numel(),
             ") lies outside the state buffers of ", numel, " elements");
    CJ_CHECK(s.step >= 1, "fused_adam_: slice ", i, " has step ", s.step, ", expected >= 1");
    grads.push_back(contiguous(s.grad));
  }
  return grads;
}

void fused_adam_(const std::vector<AdamSlice>& slices, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                 const Tensor& max_exp_avg_sq, const AdamConfig& config) {
  CJ_FORWARD_TO_DEVICE(decltype(fused_adam_), "fused_adam_", exp_avg, slices, exp_avg, exp_avg_sq, max_exp_avg_sq,
                       config);
  const std::vector<Tensor> grads = check_fused_adam(slices, exp_avg, exp_avg_sq, max_exp_avg_sq, config);
  dispatch_floating(exp_avg.dtype(), "fused_adam_", [&](auto tag) {
    using T = typename decltype(tag)::type;
    using C = compute_of<T>;
    T* m = exp_avg.data<T>();
    T* v = exp_avg_sq.data<T>();
    T* vmax = config.amsgrad ? max_exp_avg_sq.data<T>() : nullptr;
    with_round<T>([&](auto round) {
      for (std::size_t i = 0; i < slices.size(); ++i) {
        const AdamSlice& s = slices[i];
        const auto k = optim_math::adam_constants<C>(config.beta1, config.beta2, config.eps,
                                                     config.decoupled_weight_decay, config.amsgrad, s.lr,
                                                     s.weight_decay, s.step);
        T* p = s.param.data<T>();
        const T* g = grads[i].data<T>();
        const int64_t off = s.state_offset;
        optim_math::with_adam_variant(k, [&](auto decay, auto amsgrad) {
          cpu::parallel_for(s.param.numel(), kGrain, [&](int64_t begin, int64_t end) {
            T* mo = m + off;
            T* vo = v + off;
            constexpr bool kAmsgrad = decltype(amsgrad)::value;
            T* vmaxo = kAmsgrad ? vmax + off : nullptr;
            for (int64_t j = begin; j < end; ++j) {
              C pj = C(p[j]), mj = C(mo[j]), vj = C(vo[j]), vmaxj = kAmsgrad ? C(vmaxo[j]) : C(0);
              optim_math::adam_element<decltype(decay)::value, kAmsgrad>(pj, C(g[j]), mj, vj, vmaxj, k, round);
              p[j] = cast_value<T>(pj), mo[j] = cast_value<T>(mj), vo[j] = cast_value<T>(vj);
              if (kAmsgrad) vmaxo[j] = cast_value<T>(vmaxj);
            }
          });
        });
        s.param.bump_version();
      }
    });
  });
  exp_avg.bump_version();
  exp_avg_sq.bump_version();
  if (config.amsgrad) max_exp_avg_sq.bump_version();
}

void check_foreach(const char* op, const std::vector<Tensor>& tensors, Device device) {
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    CJ_CHECK(t.defined(), op, ": tensor ", i, " is undefined");
    CJ_CHECK(is_floating(t.dtype()) && t.device() == device, op, ": tensor ", i, " is ", t.describe(),
             "; expected floating tensors all on ", device.str());
  }
}

double foreach_norm_partial(const std::vector<Tensor>& tensors, bool inf_norm) {
  if (tensors.empty()) return 0.0;
  CJ_FORWARD_TO_DEVICE(decltype(foreach_norm_partial), "foreach_norm_partial", tensors[0], tensors, inf_norm);
  check_foreach("foreach_norm_partial", tensors, Device::cpu());
  double total = 0;
  for (const Tensor& t : tensors) {
    const Tensor c = contiguous(t);
    dispatch_floating(c.dtype(), "foreach_norm_partial", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* x = c.data<T>();
      // Fixed chunks (cpu::chunk_count) merged in order: the same total for the same thread count.
      std::vector<double> partial(std::size_t(cpu::chunk_count(c.numel(), kGrain)), 0.0);
      cpu::parallel_chunks(c.numel(), kGrain, [&](int64_t chunk, int64_t begin, int64_t end) {
        // kLanes independent chains (merged in order): the compiler keeps them in SIMD registers
        // and the add latency overlaps
        constexpr int kLanes = 32;
        double lane[kLanes] = {};
        int64_t j = begin;
        for (; j + kLanes <= end; j += kLanes)
          for (int l = 0; l < kLanes; ++l) lane[l] = optim_math::norm_accumulate(lane[l], double(x[j + l]), inf_norm);
        double acc = 0;
        for (; j < end; ++j) acc = optim_math::norm_accumulate(acc, double(x[j]), inf_norm);
        for (double v : lane) acc = optim_math::norm_combine(acc, v, inf_norm);
        partial[std::size_t(chunk)] = acc;
      });
      for (double p : partial) total = optim_math::norm_combine(total, p, inf_norm);
    });
  }
  return total;
}

void foreach_mul_(const std::vector<Tensor>& tensors, double factor) {
  if (tensors.empty()) return;
  CJ_FORWARD_TO_DEVICE(decltype(foreach_mul_), "foreach_mul_", tensors[0], tensors, factor);
  check_foreach("foreach_mul_", tensors, Device::cpu());
  for (const Tensor& t : tensors) {
    if (!t.is_contiguous()) {  // rare for gradients: the plain op gives the same values
      mul_(t, factor);
      continue;
    }
    dispatch_floating(t.dtype(), "foreach_mul_", [&](auto tag) {
      using T = typename decltype(tag)::type;
      using C = compute_of<T>;
      T* x = t.data<T>();
      const C f = C(factor);
      with_round<T>([&](auto round) {
        cpu::parallel_for(t.numel(), kGrain, [&](int64_t begin, int64_t end) {
          for (int64_t j = begin; j < end; ++j) x[j] = cast_value<T>(optim_math::scale_element<C>(C(x[j]), f, round));
        });
      });
    });
    t.bump_version();
  }
}

}  // namespace cj::ops
