#include "tensor/cpu/reduce_kernel.hpp"

namespace cj::cpu {

namespace {

// (outer, reduce, inner) for `t` when it is contiguous and its reduced dims (size-1 dims aside)
// are adjacent; false otherwise.
bool as_three_blocks(const Tensor& t, const std::vector<bool>& reduced, ReduceLayout& L) {
  if (!t.is_contiguous()) return false;
  L.outer = L.reduce = L.inner = 1;
  int stage = 0;  // 0: before the reduced block, 1: inside it, 2: after it
  for (int64_t d = 0; d < t.dim(); ++d) {
    const int64_t n = t.size(d);
    if (n == 1) continue;
    if (reduced[d]) {
      if (stage == 2) return false;
      stage = 1;
      L.reduce *= n;
    } else {
      if (stage == 1) stage = 2;
      (stage == 0 ? L.outer : L.inner) *= n;
    }
  }
  L.input = t;
  return true;
}

}  // namespace

ReduceLayout plan_reduction(const char* op, const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  check_cpu(op, x);
  const int64_t nd = x.dim();
  std::vector<bool> reduced(nd, dims.empty());
  for (int64_t d : dims) {
    int64_t w = wrap_dim(d, nd, op);
    if (nd == 0) continue;  // a 0-d tensor accepts dim 0 / -1 and reduces nothing
    CJ_CHECK(!reduced[w], op, ": dim ", w, " appears multiple times in the list of dims ", Shape(dims));
    reduced[w] = true;
  }
  ReduceLayout L;
  Shape kept_first, reduced_first_tail;
  for (int64_t d = 0; d < nd; ++d) {
    if (!reduced[d]) L.out_shape.push_back(x.size(d));
    else if (keepdim) L.out_shape.push_back(1);
    (reduced[d] ? reduced_first_tail : kept_first).push_back(d);
  }
  // Try the input as it is, then its kept-first and reduced-first permutations; else copy.
  Shape reduced_first = reduced_first_tail;
  reduced_first.insert(reduced_first.end(), kept_first.begin(), kept_first.end());
  kept_first.insert(kept_first.end(), reduced_first_tail.begin(), reduced_first_tail.end());
  auto permuted_mask = [&](const Shape& perm) {
    std::vector<bool> m(nd);
    for (int64_t i = 0; i < nd; ++i) m[i] = reduced[perm[i]];
    return m;
  };
  if (as_three_blocks(x, reduced, L)) return L;
  Tensor kf = ops::permute(x, kept_first);
  if (as_three_blocks(kf, permuted_mask(kept_first), L)) return L;
  if (as_three_blocks(ops::permute(x, reduced_first), permuted_mask(reduced_first), L)) return L;
  as_three_blocks(ops::contiguous(kf), permuted_mask(kept_first), L);
  return L;
}

ReduceLayout plan_along_dim(const char* op, const Tensor& x, int64_t dim) {
  check_cpu(op, x);
  dim = wrap_dim(dim, x.dim(), op);
  ReduceLayout L;
  L.input = ops::contiguous(x);
  L.out_shape = x.shape();
  for (int64_t d = 0; d < x.dim(); ++d) (d < dim ? L.outer : d == dim ? L.reduce : L.inner) *= x.size(d);
  return L;
}

}  // namespace cj::cpu
