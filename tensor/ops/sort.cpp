// Ordering along one dim: sort (stable), argsort and topk.
//
// Every line along dim is ordered by value with NaN above every number (torch's rule: ascending
// puts NaN last, descending first) and ties broken by position. That total order makes std::sort
// stable and makes topk's choice among equal values deterministic: the lower index comes first.
// (torch's CPU topk orders ties by whatever std::partial_sort/nth_element leave, so with ties at
// the boundary its indices can differ from ours; the values never do.)
#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>
#include <vector>

#include "tensor/backend.hpp"
#include "tensor/cpu/strided_loop.hpp"
#include "tensor/dispatch.hpp"
#include "tensor/ops/index.hpp"
#include "tensor/ops/index_common.hpp"
#include "tensor/ops/order_rules.hpp"
#include "tensor/ops/views.hpp"

namespace cj::ops {

namespace {

// Strict total order on positions of one line: by key (NaN largest), then by position.
template <typename K>
struct LineOrder {
  const K* keys;
  bool descending;
  bool operator()(int64_t a, int64_t b) const { return order::before(keys[a], a, keys[b], b, descending); }
};

// For every line of x along dim, writes the line's first k positions in LineOrder to `indices` and
// their values to `values` (both x's shape with dim's size = k). x has at least one dim.
void order_lines(const Tensor& x, int64_t dim, int64_t k, bool descending, const Tensor& values,
                 const Tensor& indices, const char* op) {
  const int64_t n = x.size(dim);
  if (k == 0 || x.numel() == 0) return;
  Shape line_shape = x.shape();
  line_shape[dim] = 1;  // one loop position per line
  Shape x_strides = detail::byte_strides(x), v_strides = detail::byte_strides(values),
        i_strides = detail::byte_strides(indices);
  const int64_t x_step = x_strides[dim], v_step = v_strides[dim], i_step = i_strides[dim];
  std::array<const Shape*, 3> strides{&x_strides, &v_strides, &i_strides};
  std::array<char*, 3> base{static_cast<char*>(x.data_ptr()), static_cast<char*>(values.data_ptr()),
                            static_cast<char*>(indices.data_ptr())};
  dispatch_all(x.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    // 16-bit floats compare as float; bool as uint8_t (std::vector<bool> has no data()).
    using Key = std::conditional_t<std::is_same_v<T, bf16> || std::is_same_v<T, f16>, float,
                                   std::conditional_t<std::is_same_v<T, bool>, uint8_t, T>>;
    std::vector<Key> keys(n);
    std::vector<int64_t> order(n);
    cpu::strided_loop<3>(line_shape, strides, base, [&](std::array<char*, 3> p, int64_t lines, std::array<int64_t, 3> s) {
      for (int64_t l = 0; l < lines; ++l) {
        const char* x_line = p[0] + l * s[0];
        for (int64_t j = 0; j < n; ++j) keys[j] = static_cast<Key>(*reinterpret_cast<const T*>(x_line + j * x_step));
        std::iota(order.begin(), order.end(), int64_t(0));
        LineOrder<Key> less{keys.data(), descending};
        if (k < n) std::nth_element(order.begin(), order.begin() + k, order.end(), less);  // O(n): split off the top k
        std::sort(order.begin(), order.begin() + k, less);
        char* v_line = p[1] + l * s[1];
        char* i_line = p[2] + l * s[2];
        for (int64_t j = 0; j < k; ++j) {
          *reinterpret_cast<T*>(v_line + j * v_step) = *reinterpret_cast<const T*>(x_line + order[j] * x_step);
          *reinterpret_cast<int64_t*>(i_line + j * i_step) = order[j];
        }
      }
    });
  });
}

// Allocates (values, indices) of x's shape with dim's size k and fills them; 0-d x is one line.
std::pair<Tensor, Tensor> first_k_along(const Tensor& x_in, int64_t dim, int64_t k, bool descending, const char* op) {
  Tensor x = detail::as_at_least_1d(x_in);
  Shape shape = x.shape();
  shape[dim] = k;
  Tensor values = Tensor::empty(shape, x.dtype());
  Tensor indices = Tensor::empty(shape, DType::i64);
  order_lines(x, dim, k, descending, values, indices, op);
  if (x_in.dim() == 0) return {reshape(values, {}), reshape(indices, {})};
  return {values, indices};
}

}  // namespace

// x: S -> (values, int64 indices), both S, sorted along dim; equal values keep their order.
std::pair<Tensor, Tensor> sort(const Tensor& x, int64_t dim, bool descending) {
  CJ_FORWARD_TO_DEVICE(decltype(sort), "sort", x, x, dim, descending);
  detail::check_cpu(x, "sort", "x");
  dim = wrap_dim(dim, x.dim(), "sort");
  return first_k_along(x, dim, x.dim() == 0 ? 1 : x.size(dim), descending, "sort");
}

Tensor argsort(const Tensor& x, int64_t dim, bool descending) { return sort(x, dim, descending).second; }

// x: (..., n, ...) -> (values, int64 indices) of (..., k, ...): the k largest (or smallest) along dim.
// `sorted` = false is accepted and returns the same sorted order (torch leaves that order unspecified).
std::pair<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t dim, bool largest, bool sorted) {
  CJ_FORWARD_TO_DEVICE(decltype(topk), "topk", x, x, k, dim, largest, sorted);
  detail::check_cpu(x, "topk", "x");
  dim = detail::check_topk_args(x, k, dim);
  // torch returns the scalar itself for a 0-d input, for k = 0 as well.
  return first_k_along(x, dim, x.dim() == 0 ? 1 : k, largest, "topk");
}

}  // namespace cj::ops
