#pragma once
// The elementary layers, with PyTorch's parameter names, shapes and default initialisation:
// Linear, Embedding, LayerNorm, Dropout, ReLU, GELU.
#include <cstdint>

#include "nn/module.hpp"
#include "tensor/ops/elementwise.hpp"
#include "tensor/random.hpp"

namespace cj::nn {

// torch.nn.Linear: weight (out, in) and bias (out), both U(-1/sqrt(in), 1/sqrt(in)).
class Linear : public UnaryModule {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias = true, Generator& gen = default_generator());
  Tensor forward(const Tensor& x) override;  // x: (..., in) -> (..., out)
  int64_t in_features() const { return in_features_; }
  int64_t out_features() const { return out_features_; }

  Tensor weight, bias;  // bias undefined without bias

 private:
  int64_t in_features_, out_features_;
};

// torch.nn.Embedding: weight (num_embeddings, dim) ~ N(0, 1).
class Embedding : public Module {
 public:
  Embedding(int64_t num_embeddings, int64_t embedding_dim, Generator& gen = default_generator());
  Tensor forward(const Tensor& index);  // index: (...) integer -> (..., dim)
  Tensor operator()(const Tensor& index) { return forward(index); }

  Tensor weight;
};

// torch.nn.LayerNorm over the last normalized_shape.size() dims: weight ones, bias zeros.
class LayerNorm : public UnaryModule {
 public:
  LayerNorm(Shape normalized_shape, double eps = 1e-5, bool elementwise_affine = true, bool bias = true);
  explicit LayerNorm(int64_t dim, double eps = 1e-5, bool elementwise_affine = true, bool bias = true)
      : LayerNorm(Shape{dim}, eps, elementwise_affine, bias) {}
  Tensor forward(const Tensor& x) override;  // x: (..., *normalized_shape) -> like x

  Tensor weight, bias;  // undefined without elementwise_affine (bias also without bias)

 private:
  Shape normalized_shape_;
  double eps_;
};

// Whether dropout's backward keeps its mask or draws it again from the Philox state (the same
// numbers; nothing the size of the input stays alive): automatic draws again on a GPU and keeps on
// the CPU (nn/layers/dropout.cpp says why). Default from CJ_DROPOUT_MASKS=auto|keep|redraw.
enum class DropoutMasks { automatic, keep, redraw };
void set_dropout_masks(DropoutMasks policy);
bool redraw_dropout_masks(Device device);  // under the current policy, for tensors on `device`

// Inverted dropout: in training, each element is zeroed with probability p and the rest scaled by
// 1 / (1 - p); identity in eval mode or when p is 0.
Tensor dropout(const Tensor& x, double p, bool training, Generator& gen = default_generator());
// dropout's scaled keep mask, (u >= p) / (1 - p) with u ~ U[0, 1) of `shape` drawn from `gen` (which
// advances as rand(shape) advances it): what dropout multiplies by, for ops that fuse it.
Tensor dropout_keep_mask(const Shape& shape, TensorOptions options, double p, Generator& gen);
// The same mask drawn again from the state (seed, offset) gen had before drawing it.
Tensor dropout_keep_mask_again(const Shape& shape, TensorOptions options, double p, uint64_t seed, uint64_t offset);
// matmul(dropout(a, p, training, gen), b), the same numbers and the same draws, without keeping the
// dropped a for the backward: it keeps a itself (attention weights, which softmax keeps anyway) and
// draws the mask again. a: (..., M, K), b: (..., K, N) -> (..., M, N)
Tensor dropout_matmul(const Tensor& a, const Tensor& b, double p, bool training, Generator& gen = default_generator());

class Dropout : public UnaryModule {
 public:
  explicit Dropout(double p = 0.5, Generator& gen = default_generator());
  Tensor forward(const Tensor& x) override { return dropout(x, p_, is_training(), gen_); }
  double p() const { return p_; }

 private:
  double p_;
  Generator& gen_;
};

class ReLU : public UnaryModule {
 public:
  Tensor forward(const Tensor& x) override;
};

class GELU : public UnaryModule {
 public:
  explicit GELU(ops::GeluApprox approximate = ops::GeluApprox::none) : approximate_(approximate) {}
  Tensor forward(const Tensor& x) override;

 private:
  ops::GeluApprox approximate_;
};

}  // namespace cj::nn
