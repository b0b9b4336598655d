#include "nn/layers/gru.hpp"

#include <cmath>

#include "autograd/autocast.hpp"
#include "autograd/ops.hpp"
#include "nn/init.hpp"

namespace cj::nn {

GRUCell::GRUCell(int64_t input_size, int64_t hidden_size, bool bias, Generator& gen)
    : input_size_(input_size), hidden_size_(hidden_size) {
  CJ_CHECK(input_size > 0 && hidden_size > 0, "GRUCell: sizes must be positive, got input ", input_size, ", hidden ",
           hidden_size);
  weight_ih = register_parameter("weight_ih", empty({3 * hidden_size, input_size}));
  weight_hh = register_parameter("weight_hh", empty({3 * hidden_size, hidden_size}));
  if (bias) {
    bias_ih = register_parameter("bias_ih", empty({3 * hidden_size}));
    bias_hh = register_parameter("bias_hh", empty({3 * hidden_size}));
  }
  const double bound = 1.0 / std::sqrt(double(hidden_size));
  for (const auto& [_, p] : named_parameters()) init::uniform_(p, -bound, bound, gen);
}

Tensor GRUCell::forward(const Tensor& x, const std::optional<Tensor>& h_in) {
  auto cell = [this](const Tensor& x_cast, const std::optional<Tensor>& h_cast) { return forward(x_cast, h_cast); };
  if (auto y = autocast_redispatch("gru_cell", cell, x, h_in)) return *y;
  CJ_CHECK(x.dim() == 2 && x.size(1) == input_size_, "GRUCell: input ", x.shape(), " should be (batch, ", input_size_,
           ")");
  const int64_t B = x.size(0);
  Tensor h = h_in ? *h_in : zeros({B, hidden_size_}, {x.dtype(), x.device()});
  CJ_CHECK(h.dim() == 2 && h.size(0) == B && h.size(1) == hidden_size_, "GRUCell: hidden ", h.shape(),
           " should be (", B, ", ", hidden_size_, ")");
  auto gi = cj::chunk(cj::linear(x, weight_ih, if_defined(bias_ih)), 3, 1);  // each (B, H): r, z, n
  auto gh = cj::chunk(cj::linear(h, weight_hh, if_defined(bias_hh)), 3, 1);
  Tensor r = cj::sigmoid(cj::add(gi[0], gh[0]));
  Tensor z = cj::sigmoid(cj::add(gi[1], gh[1]));
  Tensor n = cj::tanh(cj::add(gi[2], cj::mul(r, gh[2])));
  return cj::add(n, cj::mul(z, cj::sub(h, n)));  // (1 - z) n + z h, as PyTorch's fused cell computes it
}

}  // namespace cj::nn
