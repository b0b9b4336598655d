#pragma once
// Per-element maths of the fused optimizer kernels (tensor/ops/optim.cpp on the CPU,
// cuda/optim.cu on the GPU): CJ_HD, so both loops run the same code and the CPU tests check it.
//
// Values are held in the compute type C (double for f64 parameters, float otherwise) and every
// step rounds back to the storage type T with `round`, exactly where nn::Adam's unfused step
// stores an intermediate tensor -- so bf16/f16 results are bit-identical to it as well. Like the
// Philox transforms, this relies on no a*b+c being fused (-ffp-contract=off, -fmad=false).
#include <math.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "tensor/half.hpp"
#include "tensor/host_device.hpp"
#if defined(__CUDACC__)
#include <cuda_fp16.h>
#endif

namespace cj::optim_math {

// Rounds a compute value to what storing it in T and loading it back gives.
struct KeepPrecision {  // f32, f64: every operation already rounds to T
  template <typename C>
  CJ_HD C operator()(C x) const { return x; }
};
struct RoundToBf16 {  // round to nearest even on the upper 16 bits, as cj::bf16
  CJ_HD float operator()(float x) const {
    uint32_t u;
    std::memcpy(&u, &x, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) return x;  // NaN stays NaN
    u = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
    float r;
    std::memcpy(&r, &u, sizeof r);
    return r;
  }
};
struct RoundToF16 {
  CJ_HD float operator()(float x) const {
#if defined(__CUDA_ARCH__)
    return __half2float(__float2half_rn(x));
#else
    return float(f16(x));
#endif
  }
};

// IEEE square root in the compute type (correctly rounded on both sides).
CJ_HD float sqrt_c(float x) { return sqrtf(x); }
CJ_HD double sqrt_c(double x) { return ::sqrt(x); }

// Host side: f(round) with the rounding for storage type T (cj::bf16, cj::f16, float, double),
// and the compute type that goes with it.
template <typename T, typename F>
void with_round(F&& f) {
  if constexpr (std::is_same_v<T, bf16>) f(RoundToBf16{});
  else if constexpr (std::is_same_v<T, f16>) f(RoundToF16{});
  else f(KeepPrecision{});
}
template <typename T>
using compute_of = std::conditional_t<std::is_same_v<T, double>, double, float>;

// ---- Adam / AdamW ---------------------------------------------------------------------------------

// One parameter's constants for one step, converted to C as the unfused step converts its Scalars.
template <typename C>
struct AdamConstants {
  C decay_factor;           // 1 - lr * wd (AdamW)
  C weight_decay;           // wd (Adam's L2 term)
  C one_minus_beta1, beta2, one_minus_beta2;
  C bias_correction2_sqrt;  // sqrt(1 - beta2^step)
  C eps;
  C neg_step_size;          // -lr / (1 - beta1^step)
  bool has_weight_decay, decoupled, amsgrad;
};

// Host side: the constants of step `step` (1 on the first update) for a group's lr and wd.
template <typename C>
AdamConstants<C> adam_constants(double beta1, double beta2, double eps, bool decoupled, bool amsgrad, double lr,
                                double weight_decay, int64_t step) {
  const double bias_correction1 = 1 - std::pow(beta1, double(step));
  const double bias_correction2 = 1 - std::pow(beta2, double(step));
  AdamConstants<C> k;
  k.decay_factor = C(1 - lr * weight_decay);
  k.weight_decay = C(weight_decay);
  k.one_minus_beta1 = C(1 - beta1);
  k.beta2 = C(beta2);
  k.one_minus_beta2 = C(1 - beta2);
  k.bias_correction2_sqrt = C(std::sqrt(bias_correction2));
  k.eps = C(eps);
  k.neg_step_size = C(-(lr / bias_correction1));
  k.has_weight_decay = weight_decay != 0;
  k.decoupled = decoupled;
  k.amsgrad = amsgrad;
  return k;
}

// How a step applies weight decay: not at all (wd = 0), AdamW's decoupled p *= 1 - lr wd, or
// Adam's L2 term g += wd p. A template argument of the element update, so that the CPU loop has
// no branches and vectorises.
enum class Decay { none, decoupled, l2 };

template <typename C>
CJ_HD Decay decay_of(const AdamConstants<C>& k) {
  return !k.has_weight_decay ? Decay::none : k.decoupled ? Decay::decoupled : Decay::l2;
}

// torch's single-tensor Adam/AdamW update of one element, in nn::Adam's order (adam.cpp):
//   AdamW: p *= 1 - lr wd          Adam: g += wd p
//   m += (1 - b1) (g - m);  v = v b2 + (1 - b2) g^2;  amsgrad: vmax = max(vmax, v), used for v
//   p += -step_size * m / (sqrt(v) / sqrt(bc2) + eps)
// vmax is read and written only with amsgrad.
template <Decay kDecay, bool kAmsgrad, typename C, typename Round>
CJ_HD void adam_element(C& p, C g, C& m, C& v, C& vmax, const AdamConstants<C>& k, Round round) {
  if (kDecay == Decay::decoupled) p = round(p * k.decay_factor);
  if (kDecay == Decay::l2) g = round(g + k.weight_decay * p);
  m = round(m + k.one_minus_beta1 * round(g - m));
  v = round(v * k.beta2);
  v = round(v + k.one_minus_beta2 * round(g * g));
  C second = v;
  if (kAmsgrad) {
    // ops::maximum(vmax, v): NaN wins, from either side
    vmax = vmax != vmax ? vmax : (v != v || vmax < v) ? v : vmax;
    second = vmax;
  }
  C denom = round(round(sqrt_c(second)) / k.bias_correction2_sqrt);
  denom = round(denom + k.eps);
  p = round(p + k.neg_step_size * round(m / denom));
}

// f(decay, amsgrad) with both as compile-time constants (std::integral_constant) for k's variant.
template <typename C, typename F>
CJ_HD void with_adam_variant(const AdamConstants<C>& k, F&& f) {
  using std::integral_constant;
  const Decay decay = decay_of(k);
  if (decay == Decay::none) {
    if (k.amsgrad) f(integral_constant<Decay, Decay::none>{}, integral_constant<bool, true>{});
    else f(integral_constant<Decay, Decay::none>{}, integral_constant<bool, false>{});
  } else if (decay == Decay::decoupled) {
    if (k.amsgrad) f(integral_constant<Decay, Decay::decoupled>{}, integral_constant<bool, true>{});
    else f(integral_constant<Decay, Decay::decoupled>{}, integral_constant<bool, false>{});
  } else {
    if (k.amsgrad) f(integral_constant<Decay, Decay::l2>{}, integral_constant<bool, true>{});
    else f(integral_constant<Decay, Decay::l2>{}, integral_constant<bool, false>{});
  }
}

// ---- gradient norm and scaling ---------------------------------------------------------------------

// One more element into a partial norm: the sum of squares (2-norm) or max |x| (inf-norm), in f64;
// NaN propagates. Partials merge with norm_combine.
CJ_HD double norm_accumulate(double partial, double x, bool inf_norm) {
  if (!inf_norm) return partial + x * x;
  const double a = x < 0 ? -x : x;
  if (partial != partial || a != a) return partial != partial ? partial : a;
  return a > partial ? a : partial;
}
CJ_HD double norm_combine(double a, double b, bool inf_norm) {
  if (!inf_norm) return a + b;
  if (a != a || b != b) return a != a ? a : b;
  return a > b ? a : b;
}

// x * factor in the compute type, rounded to the storage type: what ops::mul_(t, factor) stores.
template <typename C, typename Round>
CJ_HD C scale_element(C x, C factor, Round round) {
  return round(x * factor);
}

}  // namespace cj::optim_math
