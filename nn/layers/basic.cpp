#include "nn/layers/basic.hpp"

#include "autograd/ops.hpp"
#include "tensor/ops.hpp"
#include "nn/init.hpp"

namespace cj::nn {

Linear::Linear(int64_t in_features, int64_t out_features, bool has_bias, Generator& gen)
    : in_features_(in_features), out_features_(out_features) {
  CJ_CHECK(in_features > 0 && out_features > 0, "Linear: features must be positive, got in ", in_features, ", out ",
           out_features);
  weight = register_parameter("weight", empty({out_features, in_features}));
  if (has_bias) bias = register_parameter("bias", empty({out_features}));
  init::linear_default_(weight, bias, gen);
}

Tensor Linear::forward(const Tensor& x) {
  CJ_CHECK(x.dim() >= 1 && x.size(-1) == in_features_, "Linear: input ", x.shape(), " does not end in ",
           in_features_, " features");
  return cj::linear(x, weight, if_defined(bias));
}

Embedding::Embedding(int64_t num_embeddings, int64_t embedding_dim, Generator& gen) {
  CJ_CHECK(num_embeddings > 0 && embedding_dim > 0, "Embedding: sizes must be positive, got ", num_embeddings, " x ",
           embedding_dim);
  weight = register_parameter("weight", empty({num_embeddings, embedding_dim}));
  init::normal_(weight, 0.0, 1.0, gen);
}

Tensor Embedding::forward(const Tensor& index) {
  CJ_CHECK(is_integral(index.dtype()), "Embedding: index must be an integer tensor, got ", dtype_name(index.dtype()));
  return cj::embedding(weight, index);
}

LayerNorm::LayerNorm(Shape normalized_shape, double eps, bool elementwise_affine, bool has_bias)
    : normalized_shape_(std::move(normalized_shape)), eps_(eps) {
  CJ_CHECK(!normalized_shape_.empty(), "LayerNorm: normalized_shape is empty");
  if (elementwise_affine) {
    weight = register_parameter("weight", ones(normalized_shape_));
    if (has_bias) bias = register_parameter("bias", zeros(normalized_shape_));
  }
}

Tensor LayerNorm::forward(const Tensor& x) {
  const auto n = int64_t(normalized_shape_.size());
  bool fits = x.dim() >= n;
  for (int64_t i = 0; fits && i < n; ++i) fits = x.size(x.dim() - n + i) == normalized_shape_[i];
  CJ_CHECK(fits, "LayerNorm: input ", x.shape(), " does not end in normalized_shape ", normalized_shape_);
  return cj::layer_norm(x, normalized_shape_, if_defined(weight), if_defined(bias), eps_);
}

Dropout::Dropout(double p, Generator& gen) : p_(p), gen_(gen) {
  CJ_CHECK(p >= 0 && p <= 1, "Dropout: probability must lie in [0, 1], got ", p);
}

Tensor ReLU::forward(const Tensor& x) { return cj::relu(x); }

Tensor GELU::forward(const Tensor& x) { return cj::gelu(x, approximate_); }

}  // namespace cj::nn
