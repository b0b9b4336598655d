#pragma once
// Numerical check of an op's analytic backward: central differences in f64.
#include <functional>
#include <string>
#include <vector>

#include "tensor/tensor.hpp"

namespace cj {

struct GradcheckResult {
  bool ok = true;
  std::string message;  // on failure: the worst element of the worst input, analytic vs numeric
  explicit operator bool() const { return ok; }
};

// Checks fn's gradient with respect to every input that requires grad. Floating inputs are
// converted to f64 leaves first (the others, e.g. index tensors, are passed as they are). With a
// fixed random projection v of the output (given as a non-contiguous view, so backward formulas
// also meet strided gradients), the analytic gradient of <v, fn(x)> from backward() is compared
// element by element with (f(x + eps e_j) - f(x - eps e_j)) / 2eps; an element fails when
// |analytic - numeric| > atol + rtol * |numeric|.
GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                          const std::vector<Tensor>& inputs, double eps = 1e-6, double atol = 1e-5, double rtol = 1e-3);

}  // namespace cj
