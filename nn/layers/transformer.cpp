#include "nn/layers/transformer.hpp"

#include "autograd/ops.hpp"

namespace cj::nn {

TransformerEncoderLayer::TransformerEncoderLayer(const TransformerEncoderLayerOptions& o, Generator& gen)
    : options_(o) {
  CJ_CHECK(o.dim_feedforward > 0, "TransformerEncoderLayer: dim_feedforward must be positive, got ",
           o.dim_feedforward);
  self_attn = register_module("self_attn",
                              std::make_shared<MultiheadAttention>(o.d_model, o.nhead, o.dropout, o.bias,
                                                                   o.batch_first, gen));
  linear1 = register_module("linear1", std::make_shared<Linear>(o.d_model, o.dim_feedforward, o.bias, gen));
  dropout = register_module("dropout", std::make_shared<Dropout>(o.dropout, gen));
  linear2 = register_module("linear2", std::make_shared<Linear>(o.dim_feedforward, o.d_model, o.bias, gen));
  norm1 = register_module("norm1", std::make_shared<LayerNorm>(o.d_model, o.layer_norm_eps, true, o.bias));
  norm2 = register_module("norm2", std::make_shared<LayerNorm>(o.d_model, o.layer_norm_eps, true, o.bias));
  dropout1 = register_module("dropout1", std::make_shared<Dropout>(o.dropout, gen));
  dropout2 = register_module("dropout2", std::make_shared<Dropout>(o.dropout, gen));
}

Tensor TransformerEncoderLayer::self_attention_block(const Tensor& x, const std::optional<Tensor>& mask,
                                                     const std::optional<Tensor>& key_padding_mask) {
  Tensor attended = self_attn->forward(x, x, x, key_padding_mask, /*need_weights=*/false, mask).output;
  return dropout1->forward(attended);
}

Tensor TransformerEncoderLayer::feed_forward_block(const Tensor& x) {
  Tensor h = linear1->forward(x);
  h = options_.activation == Activation::relu ? cj::relu(h) : cj::gelu(h);
  return dropout2->forward(linear2->forward(dropout->forward(h)));
}

Tensor TransformerEncoderLayer::forward(const Tensor& src, const std::optional<Tensor>& src_mask,
                                        const std::optional<Tensor>& src_key_padding_mask) {
  Tensor x = src;
  if (options_.norm_first) {
    x = cj::add(x, self_attention_block(norm1->forward(x), src_mask, src_key_padding_mask));
    return cj::add(x, feed_forward_block(norm2->forward(x)));
  }
  x = norm1->forward(cj::add(x, self_attention_block(x, src_mask, src_key_padding_mask)));
  return norm2->forward(cj::add(x, feed_forward_block(x)));
}

}  // namespace cj::nn
