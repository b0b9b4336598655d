// Dropout and the ops that fuse it (nn/layers/basic.hpp). A dropout's backward needs its keep mask:
// on a GPU it is drawn again from the Philox state the forward started from (counter-based, so the
// same numbers), since there drawing is cheap and memory is what runs out (a mask the size of the
// FFN's activations per layer would otherwise live until the backward); on the CPU the mask is kept,
// since drawing it again costs about as much as the rest of the layer's elementwise work.
#include "autograd/autocast.hpp"
#include "autograd/function.hpp"
#include "autograd/ops.hpp"
#include "nn/layers/basic.hpp"
#include "tensor/env_choice.hpp"
#include "tensor/ops.hpp"

namespace cj::nn {

namespace {

DropoutMasks& masks_policy() {
  static DropoutMasks policy = env_choice("CJ_DROPOUT_MASKS", DropoutMasks::automatic,
                                          {{"auto", DropoutMasks::automatic},
                                           {"keep", DropoutMasks::keep},
                                           {"redraw", DropoutMasks::redraw}});
  return policy;
}

// Where a dropout's backward finds its keep mask: kept, or drawn again from (seed, offset).
struct KeepMask {
  Tensor kept;
  Shape shape;
  TensorOptions options;
  double p;
  uint64_t seed, offset;
  Tensor get() const { return kept.defined() ? kept : dropout_keep_mask_again(shape, options, p, seed, offset); }
};

// The keep mask for `shape` drawn from gen, and where the backward will find it.
std::pair<Tensor, KeepMask> draw_keep_mask(const Shape& shape, TensorOptions options, double p, Generator& gen) {
  KeepMask source{Tensor(), shape, options, p, gen.seed(), gen.offset()};
  Tensor keep = dropout_keep_mask(shape, options, p, gen);
  if (!redraw_dropout_masks(options.device)) source.kept = keep;
  return {keep, source};
}

Tensor matmul_transposed(const Tensor& x, const Tensor& y) { return ops::matmul(x, ops::transpose(y, -1, -2)); }

// dropout_matmul with a pointer generator, so that autocast_redispatch can pass it through.
Tensor dropout_matmul_impl(const Tensor& a, const Tensor& b, double p, bool training, Generator* gen) {
  if (auto y = autocast_redispatch("matmul", dropout_matmul_impl, a, b, p, training, gen)) return *y;
  if (!training || p == 0 || p == 1) return cj::matmul(dropout(a, p, training, *gen), b);
  auto [keep, source] = draw_keep_mask(a.shape(), {a.dtype(), a.device()}, p, *gen);
  Tensor out = ops::matmul(ops::mul(a, keep), b);
  record("dropout_matmul", out, {a, b}, {a, keep_if_needed(b, a)}, [source = source](Node& n, const Tensor& gy) -> Grads {
    const Tensor a = n.saved(0), keep = source.get();
    Grads g(2);
    // out = (a ⊙ keep) b: ga = (gy bᵀ) ⊙ keep, gb = (a ⊙ keep)ᵀ gy (batch dims summed back)
    if (n.needs_grad(0)) g[0] = sum_to(ops::mul(matmul_transposed(gy, n.saved(1)), keep), n.inputs[0].shape);
    if (n.needs_grad(1)) g[1] = sum_to(ops::matmul(ops::transpose(ops::mul(a, keep), -1, -2), gy), n.inputs[1].shape);
    return g;
  });
  return out;
}

}  // namespace

void set_dropout_masks(DropoutMasks policy) { masks_policy() = policy; }

bool redraw_dropout_masks(Device device) {
  const DropoutMasks policy = masks_policy();
  return policy == DropoutMasks::redraw || (policy == DropoutMasks::automatic && !device.is_cpu());
}

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

// x: (...) -> like x
Tensor dropout(const Tensor& x, double p, bool training, Generator& gen) {
  CJ_CHECK(p >= 0 && p <= 1, "dropout: probability must lie in [0, 1], got ", p);
  if (!training || p == 0) return x;
  if (p == 1) return cj::mul(x, 0.0);
  auto [keep, source] = draw_keep_mask(x.shape(), {x.dtype(), x.device()}, p, gen);
  Tensor out = ops::mul(x, keep);
  record("dropout", out, {x}, {},
         [source = source](Node&, const Tensor& gy) -> Grads { return {ops::mul(gy, source.get())}; });
  return out;
}

Tensor dropout_matmul(const Tensor& a, const Tensor& b, double p, bool training, Generator& gen) {
  CJ_CHECK(p >= 0 && p <= 1, "dropout: probability must lie in [0, 1], got ", p);
  return dropout_matmul_impl(a, b, p, training, &gen);
}

}  // namespace cj::nn
