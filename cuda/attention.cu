// scaled_dot_product_attention on the GPU, by two paths:
// - flash (flash_attention.cu): fused kernels that never materialise the scores, for head dims 8,
//   18, 32, 64 (Ev = E) in f32/bf16/f16. A fully masked query row gives out = 0, lse = -inf and zero
//   gradients, as the CPU op.
// - GEMM, for everything else: S = scale·q·kᵀ (+ mask), P = softmax(S) with its log-sum-exp,
//   out = P·v; the backward recomputes P and runs dv = Pᵀ·dout, dP = dout·vᵀ,
//   dS = softmax_backward(P, dP), dq = scale·dS·k, dk = scale·dSᵀ·q. 16-bit inputs run it in f32
//   and round the results once. A fully masked query row gives out = 0, lse = -inf and zero
//   gradients, as the CPU op: with a mask, the softmax zeroes rows without a live score (P = 0
//   makes every GEMM's share of that row 0, forward and backward).
// set_attention_path (or CJ_ATTENTION=flash|gemm|auto in the environment) forces either. On the flash
// path the bf16/f16 forward at head dims 32 and 64 runs on the tensor cores (flash_attention_mma.cu);
// flash_attention::set_tensor_cores(false) (or CJ_FLASH_MMA=0) keeps it on the CUDA-core kernel.
#include <cmath>

#include "cuda/flash_attention.hpp"
#include "cuda/launch.cuh"
#include "cuda/math.cuh"
#include "cuda/ops.hpp"
#include "tensor/dispatch.hpp"
#include "tensor/env_choice.hpp"
#include "tensor/flash_mask.hpp"
#include "tensor/ops/views.hpp"

namespace cj::cuda {

namespace {

// scores += mask (additive, same dtype) or scores = -inf where the bool mask is false; in place.
template <typename T, typename Mask>
__global__ void apply_mask_kernel(int64_t n, OffsetCalculator<2> oc, T* scores, const Mask* mask) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(blockDim.x) * gridDim.x) {
    int64_t off[2];
    oc.get(i, off);
    using M = math_t<T>;
    M s = load_math(scores + off[0]);
    if constexpr (std::is_same_v<Mask, bool>) s = mask[off[1]] ? s : dmath::neg_infinity<M>();
    else s += load_math(mask + off[1]);
    scores[off[0]] = cast_to<T>(s);
  }
}

// scores: contiguous, viewed with shape `full` (..., Lq, Lk); mask broadcasts to it.
void apply_mask(const char* op, const Tensor& scores, const Shape& full, const Tensor& mask_in) {
  check_cuda(op, mask_in);
  CJ_CHECK(mask_in.dim() <= int64_t(full.size()) && broadcast_shapes(mask_in.shape(), full, op) == full, op,
           ": attn_mask of shape ", mask_in.shape(), " does not broadcast to the scores' shape ", full);
  CJ_CHECK(mask_in.dtype() == DType::b8 || is_floating(mask_in.dtype()), op,
           ": attn_mask must be bool (true = attend) or floating (added to the scores), got ",
           dtype_name(mask_in.dtype()));
  const bool boolean = mask_in.dtype() == DType::b8;
  Tensor mask = boolean ? mask_in : as_dtype(mask_in, scores.dtype());
  Tensor s = ops::view(scores, full);
  auto oc = make_offset_calculator<2>(full, {s.strides(), broadcast_strides(mask, full)}, op);
  const int64_t n = s.numel();
  dispatch_floating(scores.dtype(), op, [&](auto tag) {
    using T = device_t<typename decltype(tag)::type>;
    T* ps = static_cast<T*>(s.data_ptr());
    if (boolean)
      apply_mask_kernel<T, bool><<<grid_for(n), kThreads, 0, current_stream()>>>(n, oc, ps,
                                                                              static_cast<const bool*>(mask.data_ptr()));
    else
      apply_mask_kernel<T, T><<<grid_for(n), kThreads, 0, current_stream()>>>(n, oc, ps,
                                                                           static_cast<const T*>(mask.data_ptr()));
  });
  CJ_CUDA_CHECK_LAUNCH(op);
}

struct Problem {
  Tensor q, k, v;  // (Bt, Lq, E), (Bt, Lk, E), (Bt, Lk, Ev)
  Shape batch;     // the leading dims of q
  int64_t Bt, Lq, Lk, E, Ev;  // Bt = batch's product (spelled out: a -1 cannot be inferred for 0 elements)
  double scale;
};

Problem prepare(const char* op, const Tensor& q, const Tensor& k, const Tensor& v, std::optional<double> scale) {
  for (const Tensor* t : {&q, &k, &v}) check_cuda(op, *t);
  CJ_CHECK(q.dtype() == k.dtype() && q.dtype() == v.dtype() && is_floating(q.dtype()), op,
           ": q, k, v must share one floating dtype, got ", dtype_name(q.dtype()), ", ", dtype_name(k.dtype()), ", ",
           dtype_name(v.dtype()));
  CJ_CHECK(q.dim() >= 2 && k.dim() == q.dim() && v.dim() == q.dim(), op, ": q ", q.shape(), ", k ", k.shape(), ", v ",
           v.shape(), " must have the same number of dims (>= 2)");
  Problem p;
  p.batch = Shape(q.shape().begin(), q.shape().end() - 2);
  p.Lq = q.size(-2);
  p.E = q.size(-1);
  p.Lk = k.size(-2);
  p.Ev = v.size(-1);
  CJ_CHECK(Shape(k.shape().begin(), k.shape().end() - 2) == p.batch &&
               Shape(v.shape().begin(), v.shape().end() - 2) == p.batch && k.size(-1) == p.E && v.size(-2) == p.Lk,
           op, ": expected q (..., Lq, E), k (..., Lk, E), v (..., Lk, Ev) with equal leading dims, got ", q.shape(),
           ", ", k.shape(), ", ", v.shape());
  p.Bt = shape_numel(p.batch);
  p.q = ops::reshape(q, {p.Bt, p.Lq, p.E});
  p.k = ops::reshape(k, {p.Bt, p.Lk, p.E});
  p.v = ops::reshape(v, {p.Bt, p.Lk, p.Ev});
  p.scale = scale.value_or(1.0 / std::sqrt(double(p.E)));
  return p;
}

Shape with(Shape s, std::initializer_list<int64_t> tail) {
  s.insert(s.end(), tail);
  return s;
}

// P = softmax(scale·q·kᵀ + mask): (Bt, Lq, Lk); lse gets (..., Lq) in f32. As the CPU op, only a
// masked problem zeroes rows whose scores are all -inf (unmasked, such a row stays NaN).
Tensor probabilities(const char* op, const Problem& p, const std::optional<Tensor>& mask, const Tensor& lse) {
  Tensor scores = bmm_scaled(p.q, ops::transpose(p.k, 1, 2), p.scale);
  const bool masked = mask && mask->defined();
  if (masked) apply_mask(op, scores, with(p.batch, {p.Lq, p.Lk}), *mask);
  return softmax_last_dim_with_lse(scores, lse, masked);
}

AttentionPath& chosen_path() {
  static AttentionPath path = env_choice(
      "CJ_ATTENTION", AttentionPath::automatic,
      {{"flash", AttentionPath::flash}, {"gemm", AttentionPath::gemm}, {"auto", AttentionPath::automatic}});
  return path;
}

// Why the flash kernels cannot take this problem, or nullptr when they can.
const char* flash_refusal(const Problem& p) {
  if (!flash_attention::head_dim_supported(p.E) || p.Ev != p.E) return "head dims other than 8, 18, 32, 64 with Ev = E";
  const DType t = p.q.dtype();
  if (t != DType::f32 && t != DType::bf16 && t != DType::f16) return "dtypes other than f32, bf16, f16";
  if (p.batch.size() > size_t(flash::kMaxBatchDims)) return "more than 6 batch dims";
  if (p.Lq == 0 || p.Lk == 0 || p.q.size(0) == 0) return "empty inputs";
  return nullptr;
}

bool use_flash(const char* op, const Problem& p) {
  const char* refusal = flash_refusal(p);
  if (chosen_path() == AttentionPath::flash)
    CJ_CHECK(refusal == nullptr, op, ": the flash path was forced (set_attention_path / CJ_ATTENTION) but it does not ",
             "take ", refusal, "; got q ", p.q.shape(), ", v's last dim ", p.Ev, ", ", dtype_name(p.q.dtype()));
  return chosen_path() != AttentionPath::gemm && refusal == nullptr;
}

Tensor unit_last_stride(const Tensor& t) { return t.stride(-1) == 1 ? t : ops::contiguous(t); }

// The problem as the flash kernels take it: bool or f32 mask, unit last strides.
flash_attention::Operands flash_operands(const char* op, const Problem& p, const std::optional<Tensor>& mask_in,
                                         Tensor& mask_keepalive) {
  flash_attention::Operands x{unit_last_stride(p.q), unit_last_stride(p.k), unit_last_stride(p.v), {}, float(p.scale)};
  if (mask_in && mask_in->defined()) {
    check_cuda(op, *mask_in);
    CJ_CHECK(mask_in->dtype() == DType::b8 || is_floating(mask_in->dtype()), op,
             ": attn_mask must be bool (true = attend) or floating (added to the scores), got ",
             dtype_name(mask_in->dtype()));
    mask_keepalive = mask_in->dtype() == DType::b8 ? *mask_in : as_dtype(*mask_in, DType::f32);
    x.mask = flash::make_mask_desc(mask_keepalive, p.batch, p.Lq, p.Lk, op);
  }
  return x;
}

// The GEMM path runs 16-bit problems in f32: rounding P and dS to 16 bits before their GEMMs put
// bf16 gradients 1% off (the values are widened exactly; results are rounded once at the end).
Problem widened(const Problem& p) {
  if (p.q.dtype() != DType::bf16 && p.q.dtype() != DType::f16) return p;
  Problem w = p;
  w.q = as_dtype(p.q, DType::f32);
  w.k = as_dtype(p.k, DType::f32);
  w.v = as_dtype(p.v, DType::f32);
  return w;
}

}  // namespace

void set_attention_path(AttentionPath path) { chosen_path() = path; }
AttentionPath attention_path() { return chosen_path(); }

ops::AttentionOut scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                               const std::optional<Tensor>& attn_mask, std::optional<double> scale) {
  const char* op = "scaled_dot_product_attention";
  Problem p = prepare(op, q, k, v, scale);
  ops::AttentionOut res;
  res.lse = Tensor::empty(with(p.batch, {p.Lq}), {DType::f32, q.device()});
  if (use_flash(op, p)) {
    Tensor mask;
    const flash_attention::Operands x = flash_operands(op, p, attn_mask, mask);
    res.out = Tensor::empty(with(p.batch, {p.Lq, p.Ev}), {q.dtype(), q.device()});
    flash_attention::forward(x, res.out, res.lse);
    return res;
  }
  const Problem w = widened(p);
  Tensor probs = probabilities(op, w, attn_mask, res.lse);
  if (p.Lk == 0) fill_(res.lse, -INFINITY);  // no keys: the softmax has no rows to write; lse = log 0, as the CPU op
  res.out = as_dtype(ops::view(bmm(probs, w.v), with(p.batch, {p.Lq, p.Ev})), q.dtype());
  return res;
}

ops::AttentionGrads scaled_dot_product_attention_backward(const Tensor& gout, const Tensor& q, const Tensor& k,
                                                          const Tensor& v, const Tensor& out, const Tensor& lse,
                                                          const std::optional<Tensor>& attn_mask,
                                                          std::optional<double> scale) {
  const char* op = "scaled_dot_product_attention_backward";
  Problem p = prepare(op, q, k, v, scale);
  check_cuda(op, gout);
  CJ_CHECK(gout.shape() == with(p.batch, {p.Lq, p.Ev}) && out.shape() == gout.shape(), op, ": gout ", gout.shape(),
           " and out ", out.shape(), " must have the output's shape ", with(p.batch, {p.Lq, p.Ev}));
  CJ_CHECK(lse.shape() == with(p.batch, {p.Lq}), op, ": lse has shape ", lse.shape(), ", expected ",
           with(p.batch, {p.Lq}));
  ops::AttentionGrads grads;
  if (use_flash(op, p)) {
    Tensor mask;
    const flash_attention::Operands x = flash_operands(op, p, attn_mask, mask);
    auto rows = [&](const Tensor& t) { return ops::contiguous(ops::reshape(as_dtype(t, q.dtype()), {p.Bt, p.Lq, p.Ev})); };
    grads.gq = Tensor::empty(q.shape(), {q.dtype(), q.device()});
    grads.gk = Tensor::empty(k.shape(), {q.dtype(), q.device()});
    grads.gv = Tensor::empty(v.shape(), {q.dtype(), q.device()});
    flash_attention::backward(x, rows(gout), rows(out), ops::contiguous(as_dtype(lse, DType::f32)), grads.gq,
                              grads.gk, grads.gv);
    return grads;
  }
  // P is recomputed (scores are not kept between forward and backward); its lse equals the saved one.
  const Problem w = widened(p);
  Tensor lse_again = Tensor::empty(lse.shape(), {DType::f32, q.device()});
  Tensor probs = probabilities(op, w, attn_mask, lse_again);
  Tensor g = ops::reshape(as_dtype(gout, w.q.dtype()), {p.Bt, p.Lq, p.Ev});
  Tensor gv = bmm(ops::transpose(probs, 1, 2), g);
  Tensor gscores = softmax_backward(probs, bmm(g, ops::transpose(w.v, 1, 2)), -1);
  Tensor gq = bmm_scaled(gscores, w.k, p.scale);
  Tensor gk = bmm_scaled(ops::transpose(gscores, 1, 2), w.q, p.scale);
  grads.gq = as_dtype(ops::view(gq, q.shape()), q.dtype());
  grads.gk = as_dtype(ops::view(gk, k.shape()), q.dtype());
  grads.gv = as_dtype(ops::view(gv, v.shape()), q.dtype());
  return grads;
}

}  // namespace cj::cuda
