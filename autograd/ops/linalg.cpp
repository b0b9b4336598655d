#include "autograd/ops/linalg.hpp"

#include "autograd/autocast.hpp"
#include "autograd/function.hpp"
#include "autograd/ops/views.hpp"
#include "tensor/ops/linalg.hpp"
#include "tensor/ops/reduction.hpp"
#include "tensor/ops/views.hpp"

namespace cj {

namespace {

Tensor mT(const Tensor& t) { return ops::transpose(t, -1, -2); }  // matrix transpose of the last two dims

// mm, bmm and matmul share one rule, ga = gy bᵀ and gb = aᵀ gy, with the op's own product; matmul's
// batch dims broadcast, so each gradient is summed back to its input's shape (a no-op otherwise).
Tensor record_product(const char* op, const Tensor& a, const Tensor& b,
                      Tensor (*product)(const Tensor&, const Tensor&)) {
  Tensor y = product(a, b);
  record(op, y, {a, b}, {keep_if_needed(a, b), keep_if_needed(b, a)}, [product](Node& n, const Tensor& gy) -> Grads {
    return {n.needs_grad(0) ? sum_to(product(gy, mT(n.saved(1))), n.inputs[0].shape) : Tensor(),
            n.needs_grad(1) ? sum_to(product(mT(n.saved(0)), gy), n.inputs[1].shape) : Tensor()};
  });
  return y;
}

}  // namespace

Tensor mm(const Tensor& a, const Tensor& b) {
  if (auto y = autocast_redispatch("mm", mm, a, b)) return *y;
  return record_product("mm", a, b, ops::mm);
}

Tensor bmm(const Tensor& a, const Tensor& b) {
  if (auto y = autocast_redispatch("bmm", bmm, a, b)) return *y;
  return record_product("bmm", a, b, ops::bmm);
}

Tensor matmul(const Tensor& a, const Tensor& b) {
  if (auto y = autocast_redispatch("matmul", matmul, a, b)) return *y;
  CJ_CHECK(a.dim() >= 1 && b.dim() >= 1, "matmul: both arguments need at least 1 dim, got ", a.shape(), " and ",
           b.shape());
  // A vector is a one-row (a) or one-column (b) matrix whose extra dim is dropped from the result;
  // doing that with differentiable views keeps the backward purely matrix-shaped.
  if (a.dim() == 1 && b.dim() == 1) return reshape(matmul(unsqueeze(a, 0), unsqueeze(b, 1)), {});  // dot
  if (a.dim() == 1) return squeeze(matmul(unsqueeze(a, 0), b), -2);
  if (b.dim() == 1) return squeeze(matmul(a, unsqueeze(b, 1)), -1);
  return record_product("matmul", a, b, ops::matmul);
}

Tensor linear(const Tensor& x, const Tensor& weight, const std::optional<Tensor>& bias) {
  if (auto y = autocast_redispatch("linear", linear, x, weight, bias)) return *y;
  Tensor y = ops::linear(x, weight, bias);
  record("linear", y, {x, weight, or_undefined(bias)}, {keep_if_needed(x, weight), keep_if_needed(weight, x)},
         [](Node& n, const Tensor& gy) -> Grads {
           // Every leading dim is a batch dim: flatten them to one for the weight and bias sums.
           Tensor gy2 = ops::reshape(gy, {-1, gy.size(-1)});
           Grads g(3);
           if (n.needs_grad(0)) g[0] = ops::reshape(ops::matmul(gy, n.saved(1)), n.inputs[0].shape);
           if (n.needs_grad(1)) {
             Tensor x = n.saved(0);
             g[1] = ops::mm(mT(gy2), ops::reshape(x, {-1, x.size(-1)}));
           }
           if (n.needs_grad(2)) g[2] = ops::sum(gy2, {0});
           return g;
         });
  return y;
}

}  // namespace cj
