#pragma once
// torch.nn.GRUCell: weight_ih (3H, I), weight_hh (3H, H), bias_ih (3H), bias_hh (3H), gates in
// PyTorch's order r (reset), z (update), n (new); all initialised U(-1/sqrt(H), 1/sqrt(H)).
//   r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
//   z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
//   n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
//   h' = (1 - z) * n + z * h
#include <cstdint>
#include <optional>

#include "nn/module.hpp"
#include "tensor/random.hpp"

namespace cj::nn {

class GRUCell : public Module {
 public:
  GRUCell(int64_t input_size, int64_t hidden_size, bool bias = true, Generator& gen = default_generator());
  // x: (B, I), h: (B, H) (zeros when absent) -> (B, H)
  Tensor forward(const Tensor& x, const std::optional<Tensor>& h = std::nullopt);

  Tensor weight_ih, weight_hh, bias_ih, bias_hh;  // biases undefined without bias

 private:
  int64_t input_size_, hidden_size_;
};

}  // namespace cj::nn
