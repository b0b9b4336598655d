#include "autograd/autocast.hpp"

#include <cstring>

#include "tensor/ops/elementwise.hpp"

namespace cj {

namespace {
thread_local bool t_autocast_enabled = false;
thread_local DType t_autocast_dtype = DType::bf16;
}  // namespace

bool autocast_enabled() { return t_autocast_enabled; }
DType autocast_dtype() { return t_autocast_dtype; }

AutocastGuard::AutocastGuard(DType dtype, bool enabled)
    : previous_enabled_(t_autocast_enabled), previous_dtype_(t_autocast_dtype) {
  CJ_CHECK(dtype == DType::bf16 || dtype == DType::f16, "AutocastGuard: the low-precision dtype must be bfloat16 or "
           "float16, got ", dtype_name(dtype));
  t_autocast_enabled = enabled;
  t_autocast_dtype = dtype;
}

AutocastGuard::~AutocastGuard() {
  t_autocast_enabled = previous_enabled_;
  t_autocast_dtype = previous_dtype_;
}

CastPolicy autocast_policy(const char* op) {
  for (const AutocastRule& rule : kAutocastPolicy)
    if (std::strcmp(rule.op, op) == 0) return rule.policy;
  fail("autocast: op '", op, "' has no row in the precision policy table (autograd/autocast.hpp)");
}

const char* cast_policy_name(CastPolicy policy) {
  switch (policy) {
    case CastPolicy::lower_precision: return "lower_precision";
    case CastPolicy::fp32: return "fp32";
    case CastPolicy::promote: return "promote";
  }
  fail("autocast: unknown cast policy");
}

namespace autocast_detail {

std::optional<DType> target_dtype(const char* op, const std::vector<DType>& dtypes) {
  if (dtypes.empty()) return std::nullopt;
  DType target = DType::f32;
  switch (autocast_policy(op)) {
    case CastPolicy::lower_precision: target = autocast_dtype(); break;
    case CastPolicy::fp32: target = DType::f32; break;
    case CastPolicy::promote:
      target = dtypes.front();
      for (DType d : dtypes) target = ops::result_type(target, d);  // bf16 with f16 gives f32, as torch
      break;
  }
  for (DType d : dtypes)
    if (d != target) return target;
  return std::nullopt;
}

}  // namespace autocast_detail

}  // namespace cj
