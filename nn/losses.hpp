#pragma once
// Losses with torch.nn.functional's semantics, built from differentiable ops.
#include <cstdint>

#include "tensor/tensor.hpp"

namespace cj::nn {

enum class Reduction { none, mean, sum };

// (input - target)^2, reduced. Shapes must match.
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean);

// F.cross_entropy. input: (C), (N, C) or (N, C, d1, ...) logits, classes in dim 1 (dim 0 for 1-d).
// target either
//   - integer class indices of shape (), (N) or (N, d1, ...); entries equal to ignore_index add
//     nothing and mean divides by the number of the others; or
//   - floating class probabilities of input's shape (soft targets): -sum_c p_c log softmax_c,
//     mean divides by the number of positions (N * d1 * ...).
// reduction none returns the per-position losses (input's shape without the class dim).
Tensor cross_entropy(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean,
                     int64_t ignore_index = -100);

// F.binary_cross_entropy_with_logits: -(t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))), computed
// as torch does, stably for large |x|.
Tensor bce_with_logits(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean);

// KL(N(mu, exp(logvar)) || N(prior_mu, exp(prior_logvar))) elementwise (diagonal Gaussians), reduced:
//   0.5 * (prior_logvar - logvar + (exp(logvar) + (mu - prior_mu)^2) / exp(prior_logvar) - 1)
// (SAVi's KL term passes the detached mu as prior_mu and log(0.01) as prior_logvar.)
Tensor gaussian_kl(const Tensor& mu, const Tensor& logvar, const Tensor& prior_mu, const Tensor& prior_logvar,
                   Reduction reduction = Reduction::mean);

}  // namespace cj::nn
