// Comparisons and logical ops (-> bool) and where, in the promoted dtype of the operands as the
// CPU ops compute them. The per-element rules live in tensor/ops/pointwise_rules.hpp.
#include "cuda/map.cuh"
#include "cuda/ops.hpp"
#include "tensor/ops/pointwise_rules.hpp"
#include "tensor/dispatch.hpp"
#include "tensor/ops/elementwise.hpp"

namespace cj::cuda {

namespace {

struct EqF { template <typename M> __device__ bool operator()(M x, M y) const { return x == y; } };
struct NeF { template <typename M> __device__ bool operator()(M x, M y) const { return x != y; } };
struct LtF { template <typename M> __device__ bool operator()(M x, M y) const { return x < y; } };
struct LeF { template <typename M> __device__ bool operator()(M x, M y) const { return x <= y; } };
struct GtF { template <typename M> __device__ bool operator()(M x, M y) const { return x > y; } };
struct GeF { template <typename M> __device__ bool operator()(M x, M y) const { return x >= y; } };
struct AndF {
  template <typename M> __device__ bool operator()(M x, M y) const { return pointwise::truthy(x) && pointwise::truthy(y); }
};
struct OrF {
  template <typename M> __device__ bool operator()(M x, M y) const { return pointwise::truthy(x) || pointwise::truthy(y); }
};
struct XorF {
  template <typename M> __device__ bool operator()(M x, M y) const { return pointwise::truthy(x) != pointwise::truthy(y); }
};
struct NotF { template <typename M> __device__ bool operator()(M x) const { return !pointwise::truthy(x); } };
template <typename M, typename Cmp> struct WithScalar {
  M s;
  __device__ bool operator()(M x) const { return Cmp{}(x, s); }
};
struct WhereF { template <typename M> __device__ M operator()(bool c, M x, M y) const { return c ? x : y; } };

// a `Cmp` b -> bool over the broadcast shape, compared in the promoted dtype.
template <typename Cmp>
Tensor compare(const char* op, const Tensor& a, const Tensor& b) {
  check_cuda(op, a);
  check_cuda(op, b);
  const DType rt = ops::result_type(a.dtype(), b.dtype());
  Tensor out = Tensor::empty(broadcast_shapes(a.shape(), b.shape(), op), {DType::b8, a.device()});
  Tensor ac = as_dtype(a, rt), bc = as_dtype(b, rt);
  dispatch_all(rt, op, [&](auto tag) {
    using T = device_t<typename decltype(tag)::type>;
    launch_map<bool, T, T, T, 2>(op, out, {ac, bc}, Cmp{});
  });
  return out;
}

template <typename Cmp>
Tensor compare_scalar(const char* op, const Tensor& a, const Scalar& s) {
  check_cuda(op, a);
  const DType rt = ops::result_type(a.dtype(), s);
  Tensor out = Tensor::empty(a.shape(), {DType::b8, a.device()});
  Tensor ac = as_dtype(a, rt);
  dispatch_all(rt, op, [&](auto tag) {
    using T = device_t<typename decltype(tag)::type>;
    using M = math_t<T>;
    using H = std::conditional_t<is_half_v<T>, float, typename decltype(tag)::type>;  // host type of M
    launch_map<bool, T, T, T, 1>(op, out, {ac}, WithScalar<M, Cmp>{M(s.to<H>())});
  });
  return out;
}

}  // namespace

Tensor eq(const Tensor& a, const Tensor& b) { return compare<EqF>("eq", a, b); }
Tensor ne(const Tensor& a, const Tensor& b) { return compare<NeF>("ne", a, b); }
Tensor lt(const Tensor& a, const Tensor& b) { return compare<LtF>("lt", a, b); }
Tensor le(const Tensor& a, const Tensor& b) { return compare<LeF>("le", a, b); }
Tensor gt(const Tensor& a, const Tensor& b) { return compare<GtF>("gt", a, b); }
Tensor ge(const Tensor& a, const Tensor& b) { return compare<GeF>("ge", a, b); }
Tensor eq_scalar(const Tensor& a, Scalar b) { return compare_scalar<EqF>("eq", a, b); }
Tensor ne_scalar(const Tensor& a, Scalar b) { return compare_scalar<NeF>("ne", a, b); }
Tensor lt_scalar(const Tensor& a, Scalar b) { return compare_scalar<LtF>("lt", a, b); }
Tensor le_scalar(const Tensor& a, Scalar b) { return compare_scalar<LeF>("le", a, b); }
Tensor gt_scalar(const Tensor& a, Scalar b) { return compare_scalar<GtF>("gt", a, b); }
Tensor ge_scalar(const Tensor& a, Scalar b) { return compare_scalar<GeF>("ge", a, b); }
Tensor logical_and(const Tensor& a, const Tensor& b) { return compare<AndF>("logical_and", a, b); }
Tensor logical_or(const Tensor& a, const Tensor& b) { return compare<OrF>("logical_or", a, b); }
Tensor logical_xor(const Tensor& a, const Tensor& b) { return compare<XorF>("logical_xor", a, b); }

Tensor logical_not(const Tensor& x) {
  check_cuda("logical_not", x);
  Tensor out = Tensor::empty(x.shape(), {DType::b8, x.device()});
  dispatch_all(x.dtype(), "logical_not", [&](auto tag) {
    using T = device_t<typename decltype(tag)::type>;
    launch_map<bool, T, T, T, 1>("logical_not", out, {x}, NotF{});
  });
  return out;
}

// cond: bool; a, b: any dtypes (promoted) -> broadcast shape of the three
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  for (const Tensor* t : {&cond, &a, &b}) check_cuda("where", *t);
  CJ_CHECK(cond.dtype() == DType::b8, "where: condition must be a bool tensor, got ", cond.describe());
  const Shape shape = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  const DType rt = ops::result_type(a.dtype(), b.dtype());
  Tensor ac = as_dtype(a, rt), bc = as_dtype(b, rt);
  Tensor out = Tensor::empty(shape, {rt, a.device()});
  dispatch_all(rt, "where", [&](auto tag) {
    using T = device_t<typename decltype(tag)::type>;
    launch_map<T, bool, T, T, 3>("where", out, {cond, ac, bc}, WhereF{});
  });
  return out;
}

}  // namespace cj::cuda
