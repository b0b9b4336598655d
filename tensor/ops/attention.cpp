// Scaled dot-product attention, forward and backward, blocked over query rows: each task holds one
// (rows × Lk) tile of scores at a time, never the full (..., Lq, Lk) matrix. The forward saves only
// the log-sum-exp per query row; the backward recomputes the probabilities from it (FlashAttention's
// recipe, with whole key rows per tile since the model's sequences are short).
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "tensor/backend.hpp"
#include "tensor/cpu/float_compute.hpp"
#include "tensor/cpu/gemm.hpp"
#include "tensor/cpu/parallel.hpp"
#include "tensor/cpu/softmax_row.hpp"
#include "tensor/ops/creation.hpp"
#include "tensor/ops/nn_kernels.hpp"
#include "tensor/ops/views.hpp"

namespace cj::ops {

namespace {

// Query rows per tile: as many as keep the (rows x Lk) score tile within ~256 KiB of f32 (L2), in
// equal-sized tiles, so that the model's sequences (112, 197 tokens) run as one tile per batch entry:
// two larger GEMMs instead of several small ones and a ragged last tile.
int64_t query_block(int64_t Lq, int64_t Lk) {
  const int64_t most = std::max<int64_t>(64, (int64_t(1) << 16) / std::max<int64_t>(Lk, 1));
  const int64_t tiles = std::max<int64_t>(1, (Lq + most - 1) / most);
  return std::max<int64_t>(1, (Lq + tiles - 1) / tiles);
}

// Tasks per thread chunk so that each chunk does at least ~64k multiply-adds (threads are not free).
int64_t task_grain(int64_t work_per_task) { return std::max<int64_t>(1, (int64_t(1) << 16) / std::max<int64_t>(work_per_task, 1)); }

// The attention problem after shape checks: B flattened batch entries of (Lq, E) · (Lk, E)ᵀ.
struct AttentionShape {
  Shape batch;  // the leading dims shared by q, k, v
  int64_t B = 0, Lq = 0, Lk = 0, E = 0, Ev = 0;
  double scale = 1.0;
};

AttentionShape check_attention(const Tensor& q, const Tensor& k, const Tensor& v, std::optional<double> scale,
                               const char* op) {
  cpu::check_float_cpu(q, op, "query");
  cpu::check_float_cpu(k, op, "key");
  cpu::check_float_cpu(v, op, "value");
  CJ_CHECK(q.dtype() == k.dtype() && q.dtype() == v.dtype(), op, ": query, key and value must share a dtype, got ",
           dtype_name(q.dtype()), ", ", dtype_name(k.dtype()), ", ", dtype_name(v.dtype()));
  CJ_CHECK(q.dim() >= 2 && k.dim() == q.dim() && v.dim() == q.dim(), op,
           ": expected query (..., Lq, E), key (..., Lk, E), value (..., Lk, Ev) of equal rank, got ", q.shape(),
           ", ", k.shape(), ", ", v.shape());
  AttentionShape s;
  s.batch = Shape(q.shape().begin(), q.shape().end() - 2);
  CJ_CHECK(Shape(k.shape().begin(), k.shape().end() - 2) == s.batch &&
               Shape(v.shape().begin(), v.shape().end() - 2) == s.batch && k.size(-1) == q.size(-1) &&
               v.size(-2) == k.size(-2),
           op, ": shapes do not fit (..., Lq, E), (..., Lk, E), (..., Lk, Ev): query ", q.shape(), ", key ",
           k.shape(), ", value ", v.shape());
  s.B = shape_numel(s.batch);
  s.Lq = q.size(-2);
  s.Lk = k.size(-2);
  s.E = q.size(-1);
  s.Ev = v.size(-1);
  s.scale = scale ? *scale : 1.0 / std::sqrt(double(s.E));
  return s;
}

// attn_mask broadcast to (..., Lq, Lk) without copying: element (b, i, j) is at
// batch_offset[b] + i * stride_i + j * stride_j of `values` (bool, or the compute dtype).
struct MaskView {
  Tensor values;
  std::vector<int64_t> batch_offset;
  int64_t stride_i = 0, stride_j = 0;
  bool is_bool = false;
};

std::optional<MaskView> view_mask(const std::optional<Tensor>& mask, const AttentionShape& s, DType dtype,
                                  const char* op) {
  if (!mask) return std::nullopt;
  CJ_CHECK(mask->defined() && mask->is_cpu(), op, ": attn_mask must be a defined CPU tensor");
  CJ_CHECK(mask->dtype() == DType::b8 || is_floating(mask->dtype()), op,
           ": attn_mask must be bool (true = attend) or floating (added to the scores), got ",
           dtype_name(mask->dtype()));
  Shape target = s.batch;
  target.insert(target.end(), {s.Lq, s.Lk});
  CJ_CHECK(mask->dim() <= int64_t(target.size()) && broadcast_shapes(mask->shape(), target, op) == target, op,
           ": attn_mask ", mask->shape(), " does not broadcast to the scores ", target);
  MaskView m;
  m.is_bool = mask->dtype() == DType::b8;
  m.values = m.is_bool ? *mask : to(*mask, cpu::compute_dtype(dtype));
  Tensor e = expand(m.values, target);
  m.stride_i = e.stride(-2);
  m.stride_j = e.stride(-1);
  m.batch_offset.resize(s.B);
  std::vector<int64_t> idx(s.batch.size(), 0);
  for (int64_t b = 0; b < s.B; ++b) {  // odometer over the batch dims
    int64_t off = 0;
    for (size_t d = 0; d < idx.size(); ++d) off += idx[d] * e.stride(int64_t(d));
    m.batch_offset[b] = off;
    for (int64_t d = int64_t(idx.size()) - 1; d >= 0; --d) {
      if (++idx[d] < s.batch[d]) break;
      idx[d] = 0;
    }
  }
  m.values = e;  // keeps the base pointer of the expanded view
  return m;
}

// scores (rows, Lk) for batch b, query rows [i0, i0 + rows): scale · Q Kᵀ, then the mask
// (false -> -inf, or + additive value).
template <typename T>
void masked_scores(const T* q, const T* k, const AttentionShape& s, const std::optional<MaskView>& mask, int64_t b,
                   int64_t i0, int64_t rows, T* scores) {
  cpu::gemm(false, true, rows, s.Lk, s.E, T(s.scale), q + (b * s.Lq + i0) * s.E, s.E, k + b * s.Lk * s.E, s.E, T(0),
            scores, s.Lk);
  if (!mask) return;
  const int64_t base = mask->batch_offset[b];
  for (int64_t r = 0; r < rows; ++r) {
    T* row = scores + r * s.Lk;
    const int64_t at = base + (i0 + r) * mask->stride_i;
    if (mask->is_bool) {
      const bool* m = mask->values.data<bool>() + at;
      for (int64_t j = 0; j < s.Lk; ++j)
        if (!m[j * mask->stride_j]) row[j] = -std::numeric_limits<T>::infinity();
    } else {
      const T* m = mask->values.data<T>() + at;
      for (int64_t j = 0; j < s.Lk; ++j) row[j] += m[j * mask->stride_j];
    }
  }
}

Shape with_last_two(const Shape& batch, int64_t a, int64_t b) {
  Shape s = batch;
  s.insert(s.end(), {a, b});
  return s;
}

}  // namespace

// q: (..., Lq, E), k: (..., Lk, E), v: (..., Lk, Ev) -> out (..., Lq, Ev), lse (..., Lq)
AttentionOut scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                          const std::optional<Tensor>& attn_mask, std::optional<double> scale) {
  CJ_FORWARD_TO_DEVICE(AttentionOut(const Tensor&, const Tensor&, const Tensor&, const std::optional<Tensor>&, std::optional<double>), "scaled_dot_product_attention", q, q, k, v, attn_mask, scale);
  const char* op = "scaled_dot_product_attention";
  const AttentionShape s = check_attention(q, k, v, scale, op);
  const std::optional<MaskView> mask = view_mask(attn_mask, s, q.dtype(), op);
  const DType cdt = cpu::compute_dtype(q.dtype());
  Tensor qc = cpu::contiguous_compute(q, q.dtype()), kc = cpu::contiguous_compute(k, q.dtype()),
         vc = cpu::contiguous_compute(v, q.dtype());
  Tensor out = Tensor::empty(with_last_two(s.batch, s.Lq, s.Ev), cdt);
  Shape lse_shape = s.batch;
  lse_shape.push_back(s.Lq);
  Tensor lse = Tensor::empty(lse_shape, cdt);
  const int64_t block = query_block(s.Lq, s.Lk), blocks = (s.Lq + block - 1) / block;
  cpu::dispatch_compute(q.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T *qp = qc.data<T>(), *kp = kc.data<T>(), *vp = vc.data<T>();
    T *op_ = out.data<T>(), *lp = lse.data<T>();
    const int64_t work = std::min(block, s.Lq) * s.Lk * (s.E + s.Ev);
    cpu::parallel_for(s.B * blocks, task_grain(work), [&](int64_t t0, int64_t t1) {
      std::vector<T> scores(std::min(block, s.Lq) * s.Lk);
      for (int64_t task = t0; task < t1; ++task) {
        const int64_t b = task / blocks, i0 = (task % blocks) * block, rows = std::min(block, s.Lq - i0);
        masked_scores(qp, kp, s, mask, b, i0, rows, scores.data());
        for (int64_t r = 0; r < rows; ++r) {  // softmax per row, in place
          T* row = scores.data() + r * s.Lk;
          T& row_lse = lp[b * s.Lq + i0 + r];
          if (mask && cpu::row_max(row, s.Lk) == -std::numeric_limits<T>::infinity()) {
            std::fill(row, row + s.Lk, T(0));  // every key masked: zeros, as torch
            row_lse = -std::numeric_limits<T>::infinity();
            continue;
          }
          row_lse = cpu::softmax_row_inplace(row, s.Lk);
        }
        cpu::gemm(false, false, rows, s.Ev, s.Lk, T(1), scores.data(), s.Lk, vp + b * s.Lk * s.Ev, s.Ev, T(0),
                  op_ + (b * s.Lq + i0) * s.Ev, s.Ev);
      }
    });
  });
  return {to(out, q.dtype()), lse};
}

// With P = exp(scores - lse) recomputed per tile:
//   gV = Pᵀ gO,  gP = gO Vᵀ,  gS = P ∘ (gP - rowsum(gO ∘ O)),  gQ = scale gS K,  gK = scale gSᵀ Q
AttentionGrads scaled_dot_product_attention_backward(const Tensor& gout, const Tensor& q, const Tensor& k,
                                                     const Tensor& v, const Tensor& out, const Tensor& lse,
                                                     const std::optional<Tensor>& attn_mask,
                                                     std::optional<double> scale) {
  CJ_FORWARD_TO_DEVICE(AttentionGrads(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, const std::optional<Tensor>&, std::optional<double>), "scaled_dot_product_attention_backward", gout, gout, q, k, v, out, lse, attn_mask, scale);
  const char* op = "scaled_dot_product_attention_backward";
  const AttentionShape s = check_attention(q, k, v, scale, op);
  const Shape out_shape = with_last_two(s.batch, s.Lq, s.Ev);
  CJ_CHECK(gout.defined() && gout.shape() == out_shape && out.defined() && out.shape() == out_shape, op,
           ": grad_output and out must both be ", out_shape);
  CJ_CHECK(lse.defined() && lse.numel() == s.B * s.Lq, op, ": lse ", lse.shape(), " must hold one value per query row");
  const std::optional<MaskView> mask = view_mask(attn_mask, s, q.dtype(), op);
  const DType cdt = cpu::compute_dtype(q.dtype());
  Tensor qc = cpu::contiguous_compute(q, q.dtype()), kc = cpu::contiguous_compute(k, q.dtype()),
         vc = cpu::contiguous_compute(v, q.dtype()), gc = cpu::contiguous_compute(gout, q.dtype()),
         oc = cpu::contiguous_compute(out, q.dtype()), lc = cpu::contiguous_compute(lse, q.dtype());
  Tensor gq = Tensor::empty(q.shape(), cdt), gk = zeros(k.shape(), cdt), gv = zeros(v.shape(), cdt);
  cpu::dispatch_compute(q.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T *qp = qc.data<T>(), *kp = kc.data<T>(), *vp = vc.data<T>(), *gop = gc.data<T>(), *oup = oc.data<T>(),
            *lp = lc.data<T>();
    T *gqp = gq.data<T>(), *gkp = gk.data<T>(), *gvp = gv.data<T>();
    const T sc = T(s.scale);
    // One batch entry per task: gK and gV accumulate over its query tiles without races.
    cpu::parallel_for(s.B, task_grain(2 * s.Lq * s.Lk * (s.E + s.Ev)), [&](int64_t b0, int64_t b1) {
      const int64_t block = query_block(s.Lq, s.Lk), tile = std::min(block, s.Lq);
      std::vector<T> p(tile * s.Lk), dp(tile * s.Lk);
      for (int64_t b = b0; b < b1; ++b) {
        for (int64_t i0 = 0; i0 < s.Lq; i0 += block) {
          const int64_t rows = std::min(block, s.Lq - i0);
          const T* go = gop + (b * s.Lq + i0) * s.Ev;
          masked_scores(qp, kp, s, mask, b, i0, rows, p.data());
          for (int64_t r = 0; r < rows; ++r) {
            const T l = lp[b * s.Lq + i0 + r];
            T* row = p.data() + r * s.Lk;
            if (l == -std::numeric_limits<T>::infinity()) std::fill(row, row + s.Lk, T(0));  // fully masked row
            else
              cpu::exp_shifted(row, s.Lk, l);
          }
          cpu::gemm(true, false, s.Lk, s.Ev, rows, T(1), p.data(), s.Lk, go, s.Ev, T(1), gvp + b * s.Lk * s.Ev, s.Ev);
          cpu::gemm(false, true, rows, s.Lk, s.Ev, T(1), go, s.Ev, vp + b * s.Lk * s.Ev, s.Ev, T(0), dp.data(), s.Lk);
          for (int64_t r = 0; r < rows; ++r) {
            const T* o = oup + (b * s.Lq + i0 + r) * s.Ev;
            T d = 0;
            for (int64_t e = 0; e < s.Ev; ++e) d += go[r * s.Ev + e] * o[e];
            T* prow = p.data() + r * s.Lk;
            T* drow = dp.data() + r * s.Lk;
            for (int64_t j = 0; j < s.Lk; ++j) drow[j] = prow[j] * (drow[j] - d);
          }
          cpu::gemm(false, false, rows, s.E, s.Lk, sc, dp.data(), s.Lk, kp + b * s.Lk * s.E, s.E, T(0),
                    gqp + (b * s.Lq + i0) * s.E, s.E);
          cpu::gemm(true, false, s.Lk, s.E, rows, sc, dp.data(), s.Lk, qp + (b * s.Lq + i0) * s.E, s.E, T(1),
                    gkp + b * s.Lk * s.E, s.E);
        }
      }
    });
  });
  return {to(gq, q.dtype()), to(gk, q.dtype()), to(gv, q.dtype())};
}

// key_padding_mask: (B, Lk) bool, true = padded -> (B, 1, 1, Lk) bool, true = attend; on m's device
Tensor key_padding_to_attn_mask(const Tensor& key_padding_mask) {
  const Tensor& m = key_padding_mask;
  CJ_CHECK(m.defined() && m.dtype() == DType::b8 && m.dim() == 2,
           "key_padding_to_attn_mask: expected a (B, Lk) bool tensor (true = padded), got ",
           m.defined() ? m.describe() : std::string("undefined"));
  return reshape(logical_not(m), {m.size(0), 1, 1, m.size(1)});
}

}  // namespace cj::ops
