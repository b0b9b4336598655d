// Joining and splitting: cat, stack, split, split_with_sizes, chunk, repeat.
// Joins copy through copy_ (which casts and broadcasts); splits are views. So all of them run on
// any device that has copy_ (the tensors of one call share a device).
#include <algorithm>
#include <string>

#include "tensor/ops/index.hpp"
#include "tensor/ops/views.hpp"

namespace cj::ops {

namespace {

// PyTorch's promote_types for two tensors of the same priority (what torch.cat uses): the higher
// category wins (bool < integer < floating); within a category the wider type, except that f16 with
// bf16 gives f32. Kept local until ops::result_type (elementwise) lands; then use that.
DType promote(DType a, DType b) {
  if (a == b) return a;
  auto category = [](DType t) { return is_floating(t) ? 2 : is_integral(t) ? 1 : 0; };
  if (category(a) != category(b)) return category(a) > category(b) ? a : b;
  if (dtype_size(a) == dtype_size(b)) return DType::f32;  // only {f16, bf16} get here
  return dtype_size(a) > dtype_size(b) ? a : b;
}

// Tensor i of a join is defined and on tensor 0's device (copy_ would otherwise move it silently).
void check_joinable(const std::vector<Tensor>& xs, size_t i, const char* op) {
  CJ_CHECK(xs[i].defined(), op, ": tensor ", i, " is an undefined tensor");
  CJ_CHECK(xs[i].device() == xs[0].device(), op, ": tensor ", i, " is on ", xs[i].device().str(),
           " but tensor 0 is on ", xs[0].device().str(), " (all must share a device)");
}

// PyTorch still skips 1-D empty tensors (shape [0]) in cat's shape checks, a legacy rule code relies on.
bool is_legacy_empty(const Tensor& t) { return t.dim() == 1 && t.size(0) == 0; }

}  // namespace

// xs[i]: (..., n_i, ...) -> (..., sum n_i, ...), dtype promoted across xs
Tensor cat(const std::vector<Tensor>& xs, int64_t dim) {
  CJ_CHECK(!xs.empty(), "cat: expected a non-empty list of tensors");
  const Tensor* ref = nullptr;  // the first tensor that takes part in the shape checks
  DType dtype = xs[0].dtype();
  for (size_t i = 0; i < xs.size(); ++i) {
    check_joinable(xs, i, "cat");
    CJ_CHECK(xs[i].dim() > 0, "cat: zero-dimensional tensor (at position ", i, ") cannot be concatenated");
    dtype = promote(dtype, xs[i].dtype());
    if (!ref && !is_legacy_empty(xs[i])) ref = &xs[i];
  }
  if (!ref) ref = &xs[0];  // all are shape [0]
  dim = wrap_dim(dim, ref->dim(), "cat");
  Shape out_shape = ref->shape();
  out_shape[dim] = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const Tensor& x = xs[i];
    if (is_legacy_empty(x) && &x != ref) continue;
    CJ_CHECK(x.dim() == ref->dim(), "cat: tensor ", i, " has shape ", x.shape(), " but tensors must have the same "
             "number of dims as ", ref->shape(), " (", ref->dim(), ")");
    for (int64_t d = 0; d < x.dim(); ++d)
      CJ_CHECK(d == dim || x.size(d) == ref->size(d), "cat: tensor ", i, " has shape ", x.shape(), ", expected ",
               ref->shape(), " in every dim except dim ", dim, " (dim ", d, ": ", x.size(d), " vs ", ref->size(d), ")");
    out_shape[dim] += x.size(dim);
  }
  Tensor out = Tensor::empty(out_shape, {dtype, xs[0].device()});
  int64_t offset = 0;
  for (const Tensor& x : xs) {
    if (is_legacy_empty(x) && x.dim() != out.dim()) continue;
    copy_(narrow(out, dim, offset, x.size(dim)), x);
    offset += x.size(dim);
  }
  return out;
}

// xs[i]: S (all equal) -> S with a new dim of size xs.size() inserted at dim
Tensor stack(const std::vector<Tensor>& xs, int64_t dim) {
  CJ_CHECK(!xs.empty(), "stack: expected a non-empty list of tensors");
  dim = wrap_dim(dim, xs[0].dim() + 1, "stack");
  std::vector<Tensor> unsqueezed;
  unsqueezed.reserve(xs.size());
  for (size_t i = 0; i < xs.size(); ++i) {
    check_joinable(xs, i, "stack");
    CJ_CHECK(xs[i].shape() == xs[0].shape(), "stack: every tensor must have the same shape, got ", xs[0].shape(),
             " at entry 0 and ", xs[i].shape(), " at entry ", i);
    unsqueezed.push_back(unsqueeze(xs[i], dim));
  }
  return cat(unsqueezed, dim);
}

// x: (..., S, ...) -> views of split_size along dim (the last one smaller when S % split_size != 0)
std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim) {
  CJ_CHECK(x.dim() > 0, "split: cannot split a 0-d tensor");
  dim = wrap_dim(dim, x.dim(), "split");
  const int64_t size = x.size(dim);
  CJ_CHECK(split_size > 0 || (split_size == 0 && size == 0), "split: split_size must be positive (0 only for an empty "
           "dim), got ", split_size, " for dim ", dim, " of size ", size);
  if (size == 0) return {x};
  std::vector<Tensor> parts;
  for (int64_t start = 0; start < size; start += split_size)
    parts.push_back(narrow(x, dim, start, std::min(split_size, size - start)));
  return parts;
}

// x: (..., S, ...) -> views of sizes[i] along dim; the sizes must add up to S
std::vector<Tensor> split_with_sizes(const Tensor& x, const Shape& sizes, int64_t dim) {
  CJ_CHECK(x.dim() > 0, "split_with_sizes: cannot split a 0-d tensor");
  dim = wrap_dim(dim, x.dim(), "split_with_sizes");
  int64_t total = 0;
  for (int64_t s : sizes) {
    CJ_CHECK(s >= 0, "split_with_sizes: sizes must be non-negative, got ", sizes);
    total += s;
  }
  CJ_CHECK(total == x.size(dim), "split_with_sizes: sizes ", sizes, " add up to ", total, " but dim ", dim,
           " has size ", x.size(dim));
  std::vector<Tensor> parts;
  int64_t start = 0;
  for (int64_t s : sizes) {
    parts.push_back(narrow(x, dim, start, s));
    start += s;
  }
  return parts;
}

// torch.chunk: parts of ceil(S / chunks) along dim, so there may be fewer than `chunks` parts.
std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim) {
  CJ_CHECK(chunks > 0, "chunk: number of chunks must be positive, got ", chunks);
  CJ_CHECK(x.dim() > 0, "chunk: cannot chunk a 0-d tensor");
  dim = wrap_dim(dim, x.dim(), "chunk");
  const int64_t size = x.size(dim);
  // An empty dim would give one part through split; torch returns `chunks` empty parts instead.
  if (size == 0) return split_with_sizes(x, Shape(chunks, 0), dim);
  return split(x, (size + chunks - 1) / chunks, dim);
}

// x: (s_0, ..., s_k) -> (r_0 * 1, ..., r_j * s_k), x padded with leading 1s to repeats' length
Tensor repeat(const Tensor& x, const Shape& repeats) {
  CJ_CHECK(x.defined(), "repeat: x is an undefined tensor");
  CJ_CHECK(int64_t(repeats.size()) >= x.dim(), "repeat: got ", repeats.size(), " repeats ", repeats,
           " for a tensor of ", x.dim(), " dims (need at least as many)");
  const size_t n = repeats.size(), lead = n - size_t(x.dim());
  // Viewing the output as (r_0, s_0, r_1, s_1, ...) turns repeat into a broadcast copy of x
  // viewed as (1, s_0, 1, s_1, ...).
  Shape out_shape(n), pairs_shape, x_pairs_shape;
  for (size_t i = 0; i < n; ++i) {
    CJ_CHECK(repeats[i] >= 0, "repeat: repeats must be non-negative, got ", repeats);
    const int64_t s = i < lead ? 1 : x.size(int64_t(i - lead));
    out_shape[i] = repeats[i] * s;
    pairs_shape.insert(pairs_shape.end(), {repeats[i], s});
    x_pairs_shape.insert(x_pairs_shape.end(), {1, s});
  }
  Tensor out = Tensor::empty(out_shape, {x.dtype(), x.device()});
  if (out.numel() > 0) copy_(view(out, pairs_shape), reshape(x, x_pairs_shape));
  return out;
}

}  // namespace cj::ops
