#include "nn/init.hpp"

#include <cmath>

#include "tensor/ops/elementwise.hpp"

namespace cj::nn::init {

Fans compute_fans(const Shape& shape) {
  CJ_CHECK(shape.size() >= 2, "init: fan in and fan out need a tensor with at least 2 dims, got shape ", shape);
  int64_t receptive = 1;
  for (std::size_t d = 2; d < shape.size(); ++d) receptive *= shape[d];
  return {shape[1] * receptive, shape[0] * receptive};
}

double calculate_gain(Nonlinearity nonlinearity, double param) {
  switch (nonlinearity) {
    case Nonlinearity::linear:
    case Nonlinearity::sigmoid: return 1.0;
    case Nonlinearity::tanh: return 5.0 / 3.0;
    case Nonlinearity::relu: return std::sqrt(2.0);
    case Nonlinearity::leaky_relu: return std::sqrt(2.0 / (1 + param * param));
  }
  fail("calculate_gain: unknown nonlinearity");
}

void zeros_(const Tensor& t) { ops::zero_(t); }
void ones_(const Tensor& t) { ops::fill_(t, 1.0); }
void constant_(const Tensor& t, double value) { ops::fill_(t, value); }

void uniform_(const Tensor& t, double low, double high, Generator& gen) {
  CJ_CHECK(low <= high, "init::uniform_: low ", low, " > high ", high);
  cj::uniform_(t, low, high, &gen);
}

void normal_(const Tensor& t, double mean, double std, Generator& gen) {
  CJ_CHECK(std >= 0, "init::normal_: std must be >= 0, got ", std);
  cj::normal_(t, mean, std, &gen);
}

void trunc_normal_(const Tensor& t, double mean, double std, double a, double b, Generator& gen) {
  CJ_CHECK(std > 0 && a < b, "init::trunc_normal_: need std > 0 and a < b, got std ", std, ", [", a, ", ", b, "]");
  cj::trunc_normal_(t, mean, std, a, b, &gen);
}

void kaiming_uniform_(const Tensor& t, double a, FanMode mode, Nonlinearity nonlinearity, Generator& gen) {
  const Fans fans = compute_fans(t.shape());
  const int64_t fan = mode == FanMode::fan_in ? fans.fan_in : fans.fan_out;
  CJ_CHECK(fan > 0, "init::kaiming_uniform_: zero fan for shape ", t.shape());
  const double bound = calculate_gain(nonlinearity, a) * std::sqrt(3.0 / double(fan));
  cj::uniform_(t, -bound, bound, &gen);
}

void xavier_uniform_(const Tensor& t, double gain, Generator& gen) {
  const Fans fans = compute_fans(t.shape());
  CJ_CHECK(fans.fan_in + fans.fan_out > 0, "init::xavier_uniform_: zero fans for shape ", t.shape());
  const double bound = gain * std::sqrt(6.0 / double(fans.fan_in + fans.fan_out));
  cj::uniform_(t, -bound, bound, &gen);
}

void linear_default_(const Tensor& weight, const Tensor& bias, Generator& gen) {
  kaiming_uniform_(weight, std::sqrt(5.0), FanMode::fan_in, Nonlinearity::leaky_relu, gen);
  if (!bias.defined()) return;
  const int64_t fan_in = compute_fans(weight.shape()).fan_in;
  const double bound = fan_in > 0 ? 1.0 / std::sqrt(double(fan_in)) : 0.0;
  cj::uniform_(bias, -bound, bound, &gen);
}

}  // namespace cj::nn::init
