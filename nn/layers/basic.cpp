#include "nn/layers/basic.hpp"

#include "autograd/autocast.hpp"
#include "autograd/function.hpp"
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

// Kept with probability 1 - p, scaled so that E[out] = x.
Tensor dropout_keep_mask(const Shape& shape, TensorOptions options, double p, Generator& gen) {
  Tensor keep = ops::to(ops::ge(cj::rand(shape, options, &gen), p), options.dtype);
  ops::mul_(keep, 1.0 / (1.0 - p));
  return keep;
}

Tensor dropout_keep_mask_again(const Shape& shape, TensorOptions options, double p, uint64_t seed, uint64_t offset) {
  Generator replay(seed);
  replay.set_state(seed, offset);
  return dropout_keep_mask(shape, options, p, replay);
}

namespace {

Tensor matmul_transposed(const Tensor& x, const Tensor& y) { return ops::matmul(x, ops::transpose(y, -1, -2)); }

// dropout_matmul with a pointer generator, so that autocast_redispatch can pass it through.
Tensor dropout_matmul_impl(const Tensor& a, const Tensor& b, double p, bool training, Generator* gen) {
  if (auto y = autocast_redispatch("matmul", dropout_matmul_impl, a, b, p, training, gen)) return *y;
  if (!training || p == 0 || p == 1) return cj::matmul(dropout(a, p, training, *gen), b);
  const uint64_t seed = gen->seed(), first_block = gen->offset();
  const TensorOptions options{a.dtype(), a.device()};
  Tensor out = ops::matmul(ops::mul(a, dropout_keep_mask(a.shape(), options, p, *gen)), b);
  record("dropout_matmul", out, {a, b}, {a, keep_if_needed(b, a)},
         [options, p, seed, first_block](Node& n, const Tensor& gy) -> Grads {
           const Tensor a = n.saved(0);
           const Tensor keep = dropout_keep_mask_again(a.shape(), options, p, seed, first_block);
           Grads g(2);
           // out = (a ⊙ keep) b: ga = (gy bᵀ) ⊙ keep, gb = (a ⊙ keep)ᵀ gy (batch dims summed back)
           if (n.needs_grad(0)) g[0] = sum_to(ops::mul(matmul_transposed(gy, n.saved(1)), keep), n.inputs[0].shape);
           if (n.needs_grad(1))
             g[1] = sum_to(ops::matmul(ops::transpose(ops::mul(a, keep), -1, -2), gy), n.inputs[1].shape);
           return g;
         });
  return out;
}

}  // namespace

// x: (...) -> like x. The backward draws the mask again from the generator state the forward started
// from (Philox is counter-based) instead of saving it: a mask the size of x per dropout would
// otherwise stay alive until the backward (the FFN's alone is B·T·S·2048 values per layer).
Tensor dropout(const Tensor& x, double p, bool training, Generator& gen) {
  CJ_CHECK(p >= 0 && p <= 1, "dropout: probability must lie in [0, 1], got ", p);
  if (!training || p == 0) return x;
  if (p == 1) return cj::mul(x, 0.0);
  const uint64_t seed = gen.seed(), first_block = gen.offset();
  const TensorOptions options{x.dtype(), x.device()};
  Tensor out = ops::mul(x, dropout_keep_mask(x.shape(), options, p, gen));
  record("dropout", out, {x}, {}, [shape = x.shape(), options, p, seed, first_block](Node&, const Tensor& gy) -> Grads {
    return {ops::mul(gy, dropout_keep_mask_again(shape, options, p, seed, first_block))};
  });
  return out;
}

Tensor dropout_matmul(const Tensor& a, const Tensor& b, double p, bool training, Generator& gen) {
  CJ_CHECK(p >= 0 && p <= 1, "dropout: probability must lie in [0, 1], got ", p);
  return dropout_matmul_impl(a, b, p, training, &gen);
}

Dropout::Dropout(double p, Generator& gen) : p_(p), gen_(gen) {
  CJ_CHECK(p >= 0 && p <= 1, "Dropout: probability must lie in [0, 1], got ", p);
}

Tensor ReLU::forward(const Tensor& x) { return cj::relu(x); }

Tensor GELU::forward(const Tensor& x) { return cj::gelu(x, approximate_); }

}  // namespace cj::nn
