#pragma once
// Parameter initialisation with torch.nn.init's formulas, drawing from the counter-based Philox
// generator (tensor/random.hpp): the same seed gives the same weights on every backend, though not
// the same numbers as PyTorch's CPU generator (weights meant to match PyTorch are loaded, not drawn).
// Every function writes in place without recording anything for autograd.
#include <cstdint>

#include "tensor/random.hpp"
#include "tensor/tensor.hpp"

namespace cj::nn::init {

enum class FanMode { fan_in, fan_out };
enum class Nonlinearity { linear, sigmoid, tanh, relu, leaky_relu };

struct Fans {
  int64_t fan_in, fan_out;
};
// torch's _calculate_fan_in_and_fan_out: weight (out, in, *kernel) -> in * receptive, out * receptive.
// Needs at least 2 dims.
Fans compute_fans(const Shape& shape);
// torch.nn.init.calculate_gain (param: leaky_relu's negative slope).
double calculate_gain(Nonlinearity nonlinearity, double param = 0.01);

void zeros_(const Tensor& t);
void ones_(const Tensor& t);
void constant_(const Tensor& t, double value);
void uniform_(const Tensor& t, double low, double high, Generator& gen = default_generator());
void normal_(const Tensor& t, double mean, double std, Generator& gen = default_generator());
// Normal(mean, std) truncated to [a, b] (torch defaults: a = -2, b = 2, absolute bounds).
void trunc_normal_(const Tensor& t, double mean = 0, double std = 1, double a = -2, double b = 2,
                   Generator& gen = default_generator());
// U(-bound, bound), bound = gain * sqrt(3 / fan), gain = calculate_gain(nonlinearity, a).
// nn.Linear/Conv's default is kaiming_uniform_(w, a = sqrt(5)), i.e. bound = 1 / sqrt(fan_in).
void kaiming_uniform_(const Tensor& t, double a = 0, FanMode mode = FanMode::fan_in,
                      Nonlinearity nonlinearity = Nonlinearity::leaky_relu, Generator& gen = default_generator());
// U(-bound, bound), bound = gain * sqrt(6 / (fan_in + fan_out)).
void xavier_uniform_(const Tensor& t, double gain = 1.0, Generator& gen = default_generator());

// What nn.Linear, nn.Conv* and nn.GRUCell use: the weight by kaiming_uniform_(a = sqrt(5)) and the
// bias by U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with the weight's fan_in.
void linear_default_(const Tensor& weight, const Tensor& bias, Generator& gen = default_generator());

}  // namespace cj::nn::init
