#pragma once
// The one narrow backend interface: a registry of device kernels keyed by op name. Every public
// op in cj::ops runs its CPU kernel for CPU tensors and otherwise forwards to the kernel another
// backend (cuda/) registered under the same name with the same signature. tensor/ never depends
// on a backend; a missing kernel is a clear error, not a crash.
#include <string>

#include "tensor/device.hpp"
#include "tensor/error.hpp"

namespace cj::backend {

using AnyFn = void (*)();

void register_op_erased(DeviceType device, const std::string& op, AnyFn fn);
AnyFn find_op_erased(DeviceType device, const std::string& op);  // null when none

// Registers fn for op on device; Sig is the op's function type, e.g. decltype(ops::mm).
template <typename Sig>
void register_op(DeviceType device, const std::string& op, Sig* fn) {
  register_op_erased(device, op, reinterpret_cast<AnyFn>(fn));
}

template <typename Sig>
Sig* lookup(DeviceType device, const char* op) {
  AnyFn fn = find_op_erased(device, op);
  if (!fn)
    fail(op, ": no kernel for ", device == DeviceType::cuda ? "cuda" : "cpu",
         " tensors (this build has no CUDA backend, or the op is not implemented there yet)");
  return reinterpret_cast<Sig*>(fn);
}

}  // namespace cj::backend

// At the top of a public op: forwards the whole call to the device's kernel when `first` is not
// a CPU tensor. Sig names the op's function type; the arguments are passed through unchanged.
#define CJ_FORWARD_TO_DEVICE(Sig, op, first, ...)                                     \
  do {                                                                                \
    if ((first).defined() && !(first).is_cpu()) { /* undefined: the op names it */     \
      using cj_device_sig_ = Sig; /* a function type may be spelled out: Tensor(const Tensor&) */ \
      static cj_device_sig_* cj_device_fn_ =                                          \
          ::cj::backend::lookup<cj_device_sig_>((first).device().type, op);           \
      return cj_device_fn_(__VA_ARGS__);                                              \
    }                                                                                 \
  } while (0)
