#include "nn/layers/attention.hpp"

#include <cmath>
#include <limits>

#include "autograd/autocast.hpp"
#include "autograd/function.hpp"
#include "autograd/ops.hpp"
#include "tensor/ops.hpp"
#include "nn/init.hpp"

namespace cj::nn {

namespace {

// One mask for attention logits of shape (B, H, Lq, Lk): bool with true = attend (what
// scaled_dot_product_attention takes), or additive float when either given mask is float.
std::optional<Tensor> merge_masks(const std::optional<Tensor>& key_padding_mask, const std::optional<Tensor>& attn_mask,
                                  int64_t batch, int64_t heads, int64_t lq, int64_t lk) {
  std::optional<Tensor> kpm, am;  // in "true = attend" (bool) or additive (float) form
  if (key_padding_mask) {
    const Tensor& m = *key_padding_mask;
    CJ_CHECK(m.dim() == 2 && m.size(0) == batch && m.size(1) == lk, "MultiheadAttention: key_padding_mask ",
             m.shape(), " should be (batch ", batch, ", keys ", lk, ")");
    Tensor v = ops::view(m, {batch, 1, 1, lk});
    kpm = m.dtype() == DType::b8 ? ops::logical_not(v) : v;
  }
  if (attn_mask) {
    const Tensor& m = *attn_mask;
    Tensor v;
    if (m.dim() == 2 && m.size(0) == lq && m.size(1) == lk) v = ops::view(m, {1, 1, lq, lk});
    else if (m.dim() == 3 && m.size(0) == batch * heads && m.size(1) == lq && m.size(2) == lk)
      v = ops::view(m, {batch, heads, lq, lk});
    else
      fail("MultiheadAttention: attn_mask ", m.shape(), " should be (", lq, ", ", lk, ") or (", batch * heads, ", ",
           lq, ", ", lk, ")");
    am = m.dtype() == DType::b8 ? ops::logical_not(v) : v;
  }
  if (!kpm || !am) return kpm ? kpm : am;
  if (kpm->dtype() == DType::b8 && am->dtype() == DType::b8) return ops::logical_and(*kpm, *am);
  auto additive = [](const Tensor& m, DType dtype) {
    if (m.dtype() != DType::b8) return m;
    return ops::masked_fill(zeros(m.shape(), {dtype, m.device()}), ops::logical_not(m),
                            -std::numeric_limits<double>::infinity());
  };
  const DType dtype = kpm->dtype() != DType::b8 ? kpm->dtype() : am->dtype();
  return ops::add(additive(*kpm, dtype), additive(*am, dtype));
}

// The logits of the explicit path: (q · scale) kᵀ with the mask applied (bool: true = attend).
// q: (B, H, Lq, D), k: (B, H, Lk, D) -> (B, H, Lq, Lk)
Tensor masked_logits(const Tensor& q, const Tensor& k, const std::optional<Tensor>& mask, double scale) {
  Tensor logits = ops::matmul(ops::mul(q, scale), ops::transpose(k, -2, -1));
  if (!mask) return logits;
  if (mask->dtype() == DType::b8)
    return ops::masked_fill(logits, ops::logical_not(*mask), -std::numeric_limits<double>::infinity());
  return ops::add(logits, *mask);
}

// dropout(softmax(logits), p) v, the explicit path's numbers and draws, keeping only q, k and v for
// the backward, which computes the weights again and draws the dropout mask again: the (B, H, Lq, Lk)
// weights of every layer would otherwise stay alive until the backward (PyTorch's fused SDPA keeps
// none either). Taken where dropout masks are drawn again (a GPU, see redraw_dropout_masks); the
// attention mask, if any, takes no gradient.
// q: (B, H, Lq, D), k, v: (B, H, Lk, D) -> (B, H, Lq, D)
Tensor attention_with_dropout(const Tensor& q, const Tensor& k, const Tensor& v, const std::optional<Tensor>& mask,
                              double scale, double p, Generator& gen) {
  const uint64_t seed = gen.seed(), offset = gen.offset();
  Tensor out;
  Shape weights_shape;
  TensorOptions options;
  {
    const Tensor weights = ops::softmax(masked_logits(q, k, mask, scale), -1);
    weights_shape = weights.shape(), options = {weights.dtype(), weights.device()};
    out = ops::matmul(ops::mul(weights, nn::dropout_keep_mask(weights_shape, options, p, gen)), v);
  }
  const Tensor mask_kept = mask ? *mask : Tensor();
  record("attention_with_dropout", out, {q, k, v}, {q, k, v, mask_kept},
         [scale, p, seed, offset, weights_shape, options](Node& n, const Tensor& gy) -> Grads {
           const Tensor q = n.saved(0), k = n.saved(1), v = n.saved(2), m = n.saved(3);
           const Tensor weights =
               ops::softmax(masked_logits(q, k, m.defined() ? std::optional<Tensor>(m) : std::nullopt, scale), -1);
           const Tensor keep = nn::dropout_keep_mask_again(weights_shape, options, p, seed, offset);
           Grads g(3);
           if (n.needs_grad(2)) g[2] = ops::matmul(ops::transpose(ops::mul(weights, keep), -2, -1), gy);
           if (!n.needs_grad(0) && !n.needs_grad(1)) return g;
           const Tensor glogits =
               ops::softmax_backward(weights, ops::mul(ops::matmul(gy, ops::transpose(v, -2, -1)), keep), -1);
           if (n.needs_grad(0)) g[0] = ops::mul(ops::matmul(glogits, k), scale);
           if (n.needs_grad(1)) g[1] = ops::matmul(ops::transpose(glogits, -2, -1), ops::mul(q, scale));
           return g;
         });
  return out;
}

}  // namespace

MultiheadAttention::MultiheadAttention(int64_t embed_dim, int64_t num_heads, double dropout, bool bias,
                                       bool batch_first, Generator& gen)
    : embed_dim_(embed_dim), num_heads_(num_heads), dropout_(dropout), batch_first_(batch_first), gen_(gen) {
  CJ_CHECK(embed_dim > 0 && num_heads > 0 && embed_dim % num_heads == 0, "MultiheadAttention: embed_dim ", embed_dim,
           " must be a positive multiple of num_heads ", num_heads);
  CJ_CHECK(dropout >= 0 && dropout <= 1, "MultiheadAttention: dropout must lie in [0, 1], got ", dropout);
  in_proj_weight = register_parameter("in_proj_weight", empty({3 * embed_dim, embed_dim}));
  if (bias) in_proj_bias = register_parameter("in_proj_bias", zeros({3 * embed_dim}));
  out_proj = register_module("out_proj", std::make_shared<Linear>(embed_dim, embed_dim, bias, gen));
  // PyTorch's _reset_parameters: xavier on the stacked projection, zero biases.
  init::xavier_uniform_(in_proj_weight, 1.0, gen);
  if (bias) init::zeros_(out_proj->bias);
}

MultiheadAttention::Output MultiheadAttention::forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                                       const std::optional<Tensor>& key_padding_mask,
                                                       bool need_weights, const std::optional<Tensor>& attn_mask,
                                                       bool average_attn_weights) {
  const int64_t E = embed_dim_, H = num_heads_, D = E / H;
  for (const Tensor* t : {&query, &key, &value})
    CJ_CHECK(t->dim() == 3 && t->size(2) == E, "MultiheadAttention: inputs must be 3-d with embed_dim ", E,
             " last, got query ", query.shape(), ", key ", key.shape(), ", value ", value.shape());
  // Work batch first: (B, L, E).
  Tensor q_in = batch_first_ ? query : cj::transpose(query, 0, 1);
  Tensor k_in = batch_first_ ? key : cj::transpose(key, 0, 1);
  Tensor v_in = batch_first_ ? value : cj::transpose(value, 0, 1);
  const int64_t B = q_in.size(0), Lq = q_in.size(1), Lk = k_in.size(1);
  CJ_CHECK(k_in.size(0) == B && v_in.size(0) == B && v_in.size(1) == Lk, "MultiheadAttention: query ", query.shape(),
           ", key ", key.shape(), " and value ", value.shape(), " disagree on batch or key length");

  // Projections: rows [0, E) of in_proj_weight project q, [E, 2E) k, [2E, 3E) v.
  auto bias_part = [&](int64_t i) {
    return in_proj_bias.defined() ? std::optional<Tensor>(cj::narrow(in_proj_bias, 0, i * E, E)) : std::nullopt;
  };
  Tensor q, k, v;
  if (query.is_same(key) && key.is_same(value)) {  // self-attention: one GEMM for all three
    auto qkv = cj::chunk(cj::linear(q_in, in_proj_weight,
                                    if_defined(in_proj_bias)),
                         3, -1);
    q = qkv[0], k = qkv[1], v = qkv[2];
  } else {
    q = cj::linear(q_in, cj::narrow(in_proj_weight, 0, 0, E), bias_part(0));
    k = cj::linear(k_in, cj::narrow(in_proj_weight, 0, E, E), bias_part(1));
    v = cj::linear(v_in, cj::narrow(in_proj_weight, 0, 2 * E, E), bias_part(2));
  }
  // (B, L, E) -> (B, H, L, D)
  auto heads = [&](const Tensor& t, int64_t L) { return cj::permute(cj::reshape(t, {B, L, H, D}), {0, 2, 1, 3}); };
  q = heads(q, Lq), k = heads(k, Lk), v = heads(v, Lk);
  std::optional<Tensor> mask = merge_masks(key_padding_mask, attn_mask, B, H, Lq, Lk);

  Tensor attended, weights;  // attended: (B, H, Lq, D)
  const double p = is_training() ? dropout_ : 0.0;
  const bool mask_takes_grad = mask && mask->requires_grad();
  if (!need_weights && p > 0 && p < 1 && !autocast_enabled() && !mask_takes_grad && redraw_dropout_masks(q.device())) {
    attended = attention_with_dropout(q, k, v, mask, 1.0 / std::sqrt(double(D)), p, gen_);
  } else if (need_weights || p > 0) {
    Tensor logits = cj::matmul(cj::mul(q, 1.0 / std::sqrt(double(D))), cj::transpose(k, -2, -1));  // (B, H, Lq, Lk)
    if (mask) {
      if (mask->dtype() == DType::b8)
        logits = cj::masked_fill(logits, ops::logical_not(*mask), -std::numeric_limits<double>::infinity());
      else
        logits = cj::add(logits, *mask);
    }
    weights = cj::softmax(logits, -1);
    attended = dropout_matmul(weights, v, p, true, gen_);  // keeps no dropped copy of the weights
  } else {
    attended = cj::scaled_dot_product_attention(q, k, v, mask);
  }
  Tensor out = out_proj->forward(cj::reshape(cj::permute(attended, {0, 2, 1, 3}), {B, Lq, E}));
  if (!batch_first_) out = cj::transpose(out, 0, 1);
  if (!need_weights) return {out, Tensor()};
  return {out, average_attn_weights ? cj::mean(weights, {1}) : weights};
}

}  // namespace cj::nn
