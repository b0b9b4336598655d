#include "autograd/ops/index.hpp"

#include "autograd/autocast.hpp"
#include "autograd/function.hpp"
#include "autograd/ops/views.hpp"
#include "tensor/ops/creation.hpp"
#include "tensor/ops/elementwise.hpp"
#include "tensor/ops/nn_kernels.hpp"
#include "tensor/ops/reduction.hpp"
#include "tensor/ops/views.hpp"

namespace cj {

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  // Rows picked more than once receive the sum of their gradients.
  Tensor y = ops::index_select(x, dim, index);
  record("index_select", y, {x}, {index}, [dim](Node& n, const Tensor& gy) -> Grads {
    return {ops::index_add(zeros(n.inputs[0].shape, options_of(gy)), dim, n.saved(0), gy)};
  });
  return y;
}

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
  Tensor y = ops::gather(x, dim, index);
  record("gather", y, {x}, {index}, [dim](Node& n, const Tensor& gy) -> Grads {
    return {ops::scatter_add(zeros(n.inputs[0].shape, options_of(gy)), dim, n.saved(0), gy)};
  });
  return y;
}

Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  // Overwritten positions of x get no gradient; src's elements get the gradient where they landed.
  Tensor y = ops::scatter(x, dim, index, src);
  record("scatter", y, {x, src}, {index}, [dim](Node& n, const Tensor& gy) -> Grads {
    Tensor index = n.saved(0);
    return {n.needs_grad(0) ? ops::scatter(gy, dim, index, zeros(index.shape(), options_of(gy))) : Tensor(),
            n.needs_grad(1) ? ops::gather(gy, dim, index) : Tensor()};
  });
  return y;
}

Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  if (auto y = autocast_redispatch("scatter_add", scatter_add, x, dim, index, src)) return *y;
  Tensor y = ops::scatter_add(x, dim, index, src);
  record("scatter_add", y, {x, src}, {index}, [dim](Node& n, const Tensor& gy) -> Grads {
    return {n.needs_grad(0) ? gy : Tensor(), n.needs_grad(1) ? ops::gather(gy, dim, n.saved(0)) : Tensor()};
  });
  return y;
}

Tensor index_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  Tensor y = ops::index_add(x, dim, index, src);
  record("index_add", y, {x, src}, {index}, [dim](Node& n, const Tensor& gy) -> Grads {
    return {n.needs_grad(0) ? gy : Tensor(), n.needs_grad(1) ? ops::index_select(gy, dim, n.saved(0)) : Tensor()};
  });
  return y;
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, Scalar value) {
  Tensor y = ops::masked_fill(x, mask, value);
  record("masked_fill", y, {x}, {mask}, [](Node& n, const Tensor& gy) -> Grads {
    return {sum_to(ops::masked_fill(gy, n.saved(0), 0), n.inputs[0].shape)};
  });
  return y;
}

Tensor masked_select(const Tensor& x, const Tensor& mask) {
  // The selected elements' flat positions in the broadcast (x, mask) shape, found by selecting
  // from a counter, tell where each gradient element goes back.
  Tensor y = ops::masked_select(x, mask);
  record("masked_select", y, {x}, {mask}, [](Node& n, const Tensor& gy) -> Grads {
    Tensor mask = n.saved(0);
    Shape full = broadcast_shapes(n.inputs[0].shape, mask.shape(), "masked_select");
    Tensor positions =
        ops::masked_select(ops::reshape(arange(shape_numel(full), {DType::i64, gy.device()}), full), mask);
    Tensor flat = ops::index_add(zeros({shape_numel(full)}, options_of(gy)), 0, positions, gy);
    return {sum_to(ops::reshape(flat, full), n.inputs[0].shape)};
  });
  return y;
}

namespace {
// cat/stack: input i's gradient is its slice of gy (stack: after the new dim is selected away).
Tensor record_join(const char* op, const std::vector<Tensor>& xs, Tensor y, int64_t dim, bool stacked) {
  record(op, y, xs, {}, [dim, stacked](Node& n, const Tensor& gy) -> Grads {
    Grads g(n.inputs.size());
    int64_t start = 0;
    for (std::size_t i = 0; i < g.size(); ++i) {
      if (stacked) {
        if (n.needs_grad(i)) g[i] = ops::select(gy, dim, int64_t(i));
        continue;
      }
      const Shape& s = n.inputs[i].shape;
      int64_t len = s.empty() ? 0 : s[dim];
      if (n.needs_grad(i)) g[i] = ops::narrow(gy, dim, start, len);
      start += len;
    }
    return g;
  });
  return y;
}
}  // namespace

Tensor cat(const std::vector<Tensor>& xs, int64_t dim) {
  Tensor y = ops::cat(xs, dim);
  return record_join("cat", xs, y, wrap_dim(dim, y.dim(), "cat"), false);
}

Tensor stack(const std::vector<Tensor>& xs, int64_t dim) {
  Tensor y = ops::stack(xs, dim);
  return record_join("stack", xs, y, wrap_dim(dim, y.dim(), "stack"), true);
}

std::vector<Tensor> split_with_sizes(const Tensor& x, const Shape& sizes, int64_t dim) {
  std::vector<Tensor> pieces = ops::split_with_sizes(x, sizes, dim);  // validates the sizes
  int64_t d = wrap_dim(dim, x.dim(), "split_with_sizes"), start = 0;
  for (auto& p : pieces) {
    int64_t len = p.size(d);
    p = narrow(x, d, start, len);
    start += len;
  }
  return pieces;
}

std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim) {
  Shape sizes;
  for (const Tensor& p : ops::split(x, split_size, dim)) sizes.push_back(p.size(dim));
  return split_with_sizes(x, sizes, dim);
}

std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim) {
  Shape sizes;
  for (const Tensor& p : ops::chunk(x, chunks, dim)) sizes.push_back(p.size(dim));
  return split_with_sizes(x, sizes, dim);
}

Tensor repeat(const Tensor& x, const Shape& repeats) {
  // y viewed as (r0, s0, r1, s1, ...) holds a copy of x for every (r0, r1, ...): sum those away.
  Tensor y = ops::repeat(x, repeats);
  record("repeat", y, {x}, {}, [repeats](Node& n, const Tensor& gy) -> Grads {
    const Shape& xs = n.inputs[0].shape;
    const std::size_t lead = repeats.size() - xs.size();  // repeat may add leading dims
    Shape interleaved;
    std::vector<int64_t> copy_dims;
    for (std::size_t i = 0; i < repeats.size(); ++i) {
      int64_t size = i < lead ? 1 : xs[i - lead];
      copy_dims.push_back(int64_t(interleaved.size()));
      interleaved.push_back(repeats[i]);
      interleaved.push_back(size);
    }
    Tensor g = ops::sum(ops::reshape(gy, interleaved), copy_dims);
    return {ops::reshape(g, xs)};
  });
  return y;
}

Tensor pad(const Tensor& x, const Shape& pads, Scalar value) {
  // Padding by -p crops what padding by p added (and zero-pads what a negative pad cropped).
  Tensor y = ops::pad(x, pads, value);
  record("pad", y, {x}, {}, [pads](Node&, const Tensor& gy) -> Grads {
    Shape negated;
    for (int64_t p : pads) negated.push_back(-p);
    return {ops::pad(gy, negated, 0)};
  });
  return y;
}

Tensor embedding(const Tensor& weight, const Tensor& index) {
  Tensor y = ops::embedding(weight, index);
  record("embedding", y, {weight}, {index}, [](Node& n, const Tensor& gy) -> Grads {
    return {ops::embedding_backward(gy, n.saved(0), n.inputs[0].shape[0])};
  });
  return y;
}

namespace {
// topk/sort values: each value's gradient goes back to the position its index names.
std::pair<Tensor, Tensor> record_picked(const char* op, const Tensor& x, std::pair<Tensor, Tensor> result,
                                        int64_t dim) {
  int64_t d = wrap_dim(dim, x.dim() == 0 ? 1 : x.dim(), op);
  record(op, result.first, {x}, {result.second}, [d](Node& n, const Tensor& gy) -> Grads {
    if (gy.dim() == 0) return {gy};
    return {ops::scatter(zeros(n.inputs[0].shape, options_of(gy)), d, n.saved(0), gy)};
  });
  return result;
}
}  // namespace

std::pair<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t dim, bool largest, bool sorted) {
  return record_picked("topk", x, ops::topk(x, k, dim, largest, sorted), dim);
}

std::pair<Tensor, Tensor> sort(const Tensor& x, int64_t dim, bool descending) {
  return record_picked("sort", x, ops::sort(x, dim, descending), dim);
}

}  // namespace cj
