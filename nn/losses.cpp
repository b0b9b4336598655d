#include "nn/losses.hpp"

#include "autograd/autocast.hpp"
#include "autograd/ops.hpp"
#include "tensor/ops.hpp"

namespace cj::nn {

namespace {

Tensor reduce(const Tensor& loss, Reduction reduction) {
  switch (reduction) {
    case Reduction::none: return loss;
    case Reduction::sum: return cj::sum(loss);
    case Reduction::mean: return cj::mean(loss);
  }
  fail("loss: unknown reduction");
}

void check_same_shape(const Tensor& a, const Tensor& b, const char* op, const char* a_name, const char* b_name) {
  CJ_CHECK(a.shape() == b.shape(), op, ": ", a_name, " ", a.shape(), " and ", b_name, " ", b.shape(),
           " must have the same shape");
}

}  // namespace

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  if (auto y = autocast_redispatch("mse_loss", mse_loss, input, target, reduction)) return *y;
  check_same_shape(input, target, "mse_loss", "input", "target");
  Tensor diff = cj::sub(input, target);
  return reduce(cj::mul(diff, diff), reduction);
}

Tensor cross_entropy(const Tensor& input, const Tensor& target, Reduction reduction, int64_t ignore_index) {
  if (auto y = autocast_redispatch("cross_entropy", cross_entropy, input, target, reduction, ignore_index)) return *y;
  CJ_CHECK(input.dim() >= 1 && is_floating(input.dtype()), "cross_entropy: input must be floating logits with a class "
           "dim, got ", input.describe());
  const int64_t class_dim = input.dim() == 1 ? 0 : 1;
  Tensor log_probs = cj::log_softmax(input, class_dim);

  if (is_floating(target.dtype())) {  // class probabilities
    check_same_shape(input, target, "cross_entropy", "input", "probability target");
    Tensor loss = cj::neg(cj::sum(cj::mul(log_probs, target), {class_dim}));
    return reduce(loss, reduction);
  }
  CJ_CHECK(is_integral(target.dtype()), "cross_entropy: target must be class indices (integer) or probabilities "
           "(floating), got ", dtype_name(target.dtype()));
  Shape expected = input.shape();
  expected.erase(expected.begin() + class_dim);
  CJ_CHECK(target.shape() == expected, "cross_entropy: target ", target.shape(), " should be ", expected,
           " for input ", input.shape(), " (classes in dim ", class_dim, ")");
  const int64_t num_classes = input.size(class_dim);
  Tensor ignored = ops::eq(target, Scalar(ignore_index));
  // Ignored positions look up class 0 and are zeroed afterwards; others must be valid classes.
  Tensor safe_target = ops::masked_fill(target, ignored, Scalar(int64_t{0}));
  CJ_CHECK(ops::amin(safe_target).item<int64_t>() >= 0 && ops::amax(safe_target).item<int64_t>() < num_classes,
           "cross_entropy: target holds a class outside [0, ", num_classes, ") that is not ignore_index ",
           ignore_index);
  Tensor picked = cj::squeeze(cj::gather(log_probs, class_dim, cj::unsqueeze(safe_target, class_dim)), class_dim);
  Tensor loss = cj::masked_fill(cj::neg(picked), ignored, 0.0);
  if (reduction != Reduction::mean) return reduce(loss, reduction);
  // mean over the kept positions (NaN when every target is ignored, as torch).
  const double kept = double(target.numel()) - ops::sum(ignored).item<double>();
  return cj::div(cj::sum(loss), kept);
}

Tensor bce_with_logits(const Tensor& input, const Tensor& target, Reduction reduction) {
  if (auto y = autocast_redispatch("bce_with_logits", bce_with_logits, input, target, reduction)) return *y;
  check_same_shape(input, target, "bce_with_logits", "input", "target");
  // (1 - t) x + m + log(exp(-m) + exp(-x - m)) with m = max(-x, 0): never overflows, and the
  // gradient is right at x = 0 whatever m's subgradient is (m cancels analytically).
  Tensor m = cj::relu(cj::neg(input));
  Tensor log_term = cj::log(cj::add(cj::exp(cj::neg(m)), cj::exp(cj::sub(cj::neg(input), m))));
  Tensor loss = cj::add(cj::add(cj::mul(cj::rsub(target, 1.0), input), m), log_term);
  return reduce(loss, reduction);
}

Tensor gaussian_kl(const Tensor& mu, const Tensor& logvar, const Tensor& prior_mu, const Tensor& prior_logvar,
                   Reduction reduction) {
  if (auto y = autocast_redispatch("gaussian_kl", gaussian_kl, mu, logvar, prior_mu, prior_logvar, reduction))
    return *y;
  check_same_shape(mu, logvar, "gaussian_kl", "mu", "logvar");
  Tensor diff = cj::sub(mu, prior_mu);
  Tensor ratio = cj::div(cj::add(cj::exp(logvar), cj::mul(diff, diff)), cj::exp(prior_logvar));
  Tensor kl = cj::mul(cj::sub(cj::add(cj::sub(prior_logvar, logvar), ratio), 1.0), 0.5);
  return reduce(kl, reduction);
}

}  // namespace cj::nn
