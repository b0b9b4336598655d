#pragma once
// torch.nn.MultiheadAttention with PyTorch's parameter layout (in_proj_weight (3E, E) holding the
// q, k, v projections stacked, in_proj_bias (3E), out_proj.weight/bias), so that PyTorch state
// dicts load as they are. kdim = vdim = embed_dim (the layout all our models use).
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>

#include "nn/layers/basic.hpp"
#include "nn/module.hpp"

namespace cj::nn {

class MultiheadAttention : public Module {
 public:
  MultiheadAttention(int64_t embed_dim, int64_t num_heads, double dropout = 0.0, bool bias = true,
                     bool batch_first = false, Generator& gen = default_generator());

  struct Output {
    Tensor output;   // like query: (B, Lq, E) with batch_first, else (Lq, B, E)
    Tensor weights;  // (B, Lq, Lk) averaged over heads, or (B, H, Lq, Lk); undefined unless need_weights
  };
  // query: (B, Lq, E), key/value: (B, Lk, E) (batch_first; else sequence first).
  // key_padding_mask: (B, Lk), bool with true = ignore that key, or float added to the logits.
  // attn_mask: (Lq, Lk) or (B * H, Lq, Lk), bool with true = not allowed, or float added.
  // need_weights computes the attention explicitly (also what dropout on the weights needs);
  // otherwise the fused scaled-dot-product attention runs.
  Output forward(const Tensor& query, const Tensor& key, const Tensor& value,
                 const std::optional<Tensor>& key_padding_mask = std::nullopt, bool need_weights = true,
                 const std::optional<Tensor>& attn_mask = std::nullopt, bool average_attn_weights = true);

  int64_t embed_dim() const { return embed_dim_; }
  int64_t num_heads() const { return num_heads_; }

  Tensor in_proj_weight, in_proj_bias;  // in_proj_bias undefined without bias
  std::shared_ptr<Linear> out_proj;

 private:
  int64_t embed_dim_, num_heads_;
  double dropout_;
  bool batch_first_;
  Generator& gen_;
};

}  // namespace cj::nn
