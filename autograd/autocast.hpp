#pragma once
// Automatic mixed precision, as torch.autocast: inside an AutocastGuard, each op of the
// differentiable API listed in the policy table below casts its floating inputs to the dtype its
// row names before running. The casts are ordinary differentiable cj::to() casts, so the gradient
// reaches fp32 master weights in fp32; nothing else changes (ops not listed run in the dtype
// they are given; backward formulas run in the dtype of their forward).
//
//   AutocastGuard amp(DType::bf16);       // thread-local; restores the previous state; nests
//   Tensor loss = nn::mse_loss(model(x), target);   // linear in bf16, layer_norm and loss in fp32
//   // (backward and optimizer steps are unaffected either way: backward formulas use raw kernels)
//   cj::backward(loss);                   // parameter .grad is fp32
//
// ---- The precision policy (PyTorch's CUDA autocast lists, aten/src/ATen/autocast_mode.cpp) -------
//
// | policy          | what it does to floating inputs (f64 is never touched) | ops here                         |
// |-----------------|--------------------------------------------------------|----------------------------------|
// | lower_precision | cast to autocast_dtype() (bf16 or f16)                 | mm, bmm, matmul, linear, conv2d  |
// |                 |                                                        | (Conv1d), conv_transpose2d,      |
// |                 |                                                        | scaled_dot_product_attention,    |
// |                 |                                                        | gru_cell                         |
// | fp32            | cast to f32                                            | exp, expm1, log, log1p,          |
// |                 |                                                        | reciprocal, rsqrt, pow,          |
// |                 |                                                        | layer_norm, logsumexp, sum, prod,|
// |                 |                                                        | cumsum, softmax, log_softmax,    |
// |                 |                                                        | mse_loss, cross_entropy,         |
// |                 |                                                        | bce_with_logits, gaussian_kl     |
// | promote         | cast to the widest floating dtype among the inputs     | scatter_add                      |
// | (not listed)    | run in the dtype given: gelu, relu, tanh, sigmoid, mean, dropout, views, ...      |
//
// Why CUDA's lists, on every device: the CPU lists differ (CPU keeps layer_norm, softmax, sum, exp,
// ... in bf16), and a CPU run should preview what the GPU run will do. Notes per row:
//   - PyTorch's "fp32_set_opt_dtype" ops (sum, prod, cumsum, softmax, log_softmax) produce an f32
//     result from a bf16 input; casting the input to f32 first gives the same values (the cast is
//     exact), so they are plain fp32 rows here.
//   - mean is on neither CUDA list: it runs in bf16 (our kernel accumulates in f32 regardless).
//   - cross_entropy: torch's CUDA list has its parts (log_softmax, nll_loss) as fp32; gaussian_kl is
//     our own loss (no torch row), fp32 like every loss.
//   - promote: torch's CUDA list; add, sub, mul, div, where, maximum/minimum, cat and stack need no
//     row, as their kernels already promote mixed inputs to the widest dtype (f32 + bf16 -> f32).
//   - gru_cell is torch's fused cell (lower precision); ours is built from linear and elementwise
//     ops, so its inputs x and h are cast to keep the whole cell in the low dtype as torch's does.
//
// GEMMs in the low dtype accumulate in f32 on both backends: the CPU converts bf16/f16 operands to
// f32, runs the f32 GEMM (Eigen), adds the bias in f32 and rounds the result once (tensor/ops/
// linalg.cpp); CUDA runs cuBLASLt with bf16/f16 operands, CUBLAS_COMPUTE_32F and an f32 bias
// epilogue (cuda/gemm.cpp). Attention likewise keeps its scores, softmax statistics and output
// accumulation in f32 and rounds its output once (as torch's CPU math backend; torch's flash kernels
// round differently by up to a bf16 ulp); its backward, like FlashAttention's, takes
// rowsum(dO * O) from the bf16 output O, which moves gradients upstream of attention by up to one
// bf16 ulp from torch's math backend (tests/nn/test_autocast_nn.cpp measures both).
//
// Not done (yet): torch's cast cache for weights (each op casts its fp32 weight afresh, a cost of
// O(weight) beside the O(batch * weight) GEMM).
#include <optional>
#include <vector>

#include "autograd/ops/views.hpp"
#include "tensor/tensor.hpp"

namespace cj {

enum class CastPolicy { lower_precision, fp32, promote };

struct AutocastRule {
  const char* op;  // the name the op's hook passes
  CastPolicy policy;
};

// The table above as code: the single source of truth that every hook looks its op up in.
inline constexpr AutocastRule kAutocastPolicy[] = {
    {"mm", CastPolicy::lower_precision},
    {"bmm", CastPolicy::lower_precision},
    {"matmul", CastPolicy::lower_precision},
    {"linear", CastPolicy::lower_precision},
    {"conv2d", CastPolicy::lower_precision},
    {"conv_transpose2d", CastPolicy::lower_precision},
    {"scaled_dot_product_attention", CastPolicy::lower_precision},
    {"gru_cell", CastPolicy::lower_precision},
    {"exp", CastPolicy::fp32},
    {"expm1", CastPolicy::fp32},
    {"log", CastPolicy::fp32},
    {"log1p", CastPolicy::fp32},
    {"reciprocal", CastPolicy::fp32},
    {"rsqrt", CastPolicy::fp32},
    {"pow", CastPolicy::fp32},
    {"layer_norm", CastPolicy::fp32},
    {"logsumexp", CastPolicy::fp32},
    {"sum", CastPolicy::fp32},
    {"prod", CastPolicy::fp32},
    {"cumsum", CastPolicy::fp32},
    {"softmax", CastPolicy::fp32},
    {"log_softmax", CastPolicy::fp32},
    {"mse_loss", CastPolicy::fp32},
    {"cross_entropy", CastPolicy::fp32},
    {"bce_with_logits", CastPolicy::fp32},
    {"gaussian_kl", CastPolicy::fp32},
    {"scatter_add", CastPolicy::promote},
};

// The policy of `op`; throws cj::Error when the table has no row for it.
CastPolicy autocast_policy(const char* op);
const char* cast_policy_name(CastPolicy policy);  // "lower_precision", "fp32", "promote"

// The calling thread's state: off by default; autocast_dtype() is bf16 unless a guard set f16.
bool autocast_enabled();
DType autocast_dtype();

// Sets the thread's autocast state for its lifetime and restores the previous one after, so guards
// nest (an inner AutocastGuard(dtype, false) switches autocast off for a region, e.g. a loss).
class AutocastGuard {
 public:
  explicit AutocastGuard(DType dtype = DType::bf16, bool enabled = true);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool previous_enabled_;
  DType previous_dtype_;
};

// ---- the hook every listed op calls first -----------------------------------------------------
//
//   Tensor linear(const Tensor& x, const Tensor& weight, const std::optional<Tensor>& bias) {
//     if (auto y = autocast_redispatch("linear", linear, x, weight, bias)) return *y;
//     ...  // the op itself
//
// When autocast is on and some eligible input (defined, floating, not f64) is not in the dtype the
// op's policy asks for, it calls fn again with every such input cast (Tensor, optional<Tensor> and
// vector<Tensor> arguments; others pass through) and returns that result. The second call finds
// nothing to cast and runs the op; with autocast off the hook costs one thread-local read.
namespace autocast_detail {

inline bool eligible(const Tensor& t) { return t.defined() && is_floating(t.dtype()) && t.dtype() != DType::f64; }

inline void note(std::vector<DType>& dtypes, const Tensor& t) {
  if (eligible(t)) dtypes.push_back(t.dtype());
}
inline void note(std::vector<DType>& dtypes, const std::optional<Tensor>& t) {
  if (t) note(dtypes, *t);
}
inline void note(std::vector<DType>& dtypes, const std::vector<Tensor>& ts) {
  for (const Tensor& t : ts) note(dtypes, t);
}
template <typename T>
void note(std::vector<DType>&, const T&) {}

inline Tensor cast(DType to, const Tensor& t) { return eligible(t) && t.dtype() != to ? cj::to(t, to) : t; }
inline std::optional<Tensor> cast(DType to, const std::optional<Tensor>& t) {
  return t ? std::optional<Tensor>(cast(to, *t)) : std::nullopt;
}
inline std::vector<Tensor> cast(DType to, const std::vector<Tensor>& ts) {
  std::vector<Tensor> out;
  out.reserve(ts.size());
  for (const Tensor& t : ts) out.push_back(cast(to, t));
  return out;
}
template <typename T>
const T& cast(DType, const T& arg) {
  return arg;
}

// The dtype op must run in, or nothing when every eligible input dtype (`dtypes`) already is it.
std::optional<DType> target_dtype(const char* op, const std::vector<DType>& dtypes);

}  // namespace autocast_detail

template <typename Fn, typename... Args>
auto autocast_redispatch(const char* op, Fn&& fn, const Args&... args)
    -> std::optional<decltype(fn(autocast_detail::cast(DType::f32, args)...))> {
  if (!autocast_enabled()) return std::nullopt;
  std::vector<DType> dtypes;
  (autocast_detail::note(dtypes, args), ...);
  const std::optional<DType> to = autocast_detail::target_dtype(op, dtypes);
  if (!to) return std::nullopt;
  return fn(autocast_detail::cast(*to, args)...);
}

}  // namespace cj
