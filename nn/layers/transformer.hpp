#pragma once
// torch.nn.TransformerEncoderLayer (post-norm or pre-norm, ReLU or GELU) with PyTorch's submodule
// names: self_attn, linear1, linear2, norm1, norm2 (dropout, dropout1, dropout2 hold no weights).
#include <cstdint>
#include <memory>
#include <optional>

#include "nn/layers/attention.hpp"
#include "nn/layers/basic.hpp"

namespace cj::nn {

enum class Activation { relu, gelu };

struct TransformerEncoderLayerOptions {
  int64_t d_model = 512;
  int64_t nhead = 8;
  int64_t dim_feedforward = 2048;
  double dropout = 0.1;
  Activation activation = Activation::relu;
  double layer_norm_eps = 1e-5;
  bool batch_first = false;
  bool norm_first = false;  // true: x + sa(norm1(x)), x + ff(norm2(x)); false: norm1(x + sa(x)), norm2(x + ff(x))
  bool bias = true;
};

class TransformerEncoderLayer : public Module {
 public:
  explicit TransformerEncoderLayer(const TransformerEncoderLayerOptions& options,
                                   Generator& gen = default_generator());
  // src: (B, L, d_model) with batch_first, else (L, B, d_model). Masks as MultiheadAttention's
  // attn_mask and key_padding_mask.
  Tensor forward(const Tensor& src, const std::optional<Tensor>& src_mask = std::nullopt,
                 const std::optional<Tensor>& src_key_padding_mask = std::nullopt);

  std::shared_ptr<MultiheadAttention> self_attn;
  std::shared_ptr<Linear> linear1, linear2;
  std::shared_ptr<LayerNorm> norm1, norm2;
  std::shared_ptr<Dropout> dropout, dropout1, dropout2;

 private:
  Tensor self_attention_block(const Tensor& x, const std::optional<Tensor>& mask,
                              const std::optional<Tensor>& key_padding_mask);
  Tensor feed_forward_block(const Tensor& x);
  TransformerEncoderLayerOptions options_;
};

}  // namespace cj::nn
