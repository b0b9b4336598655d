#pragma once
// Plumbing shared by the elementwise ops (tensor/ops/unary.cpp, binary.cpp, compare.cpp): device
// checks, output allocation with broadcasting, and typed maps over 1-3 operands built on
// cpu::strided_loop. Each map has a contiguous fast path (plain pointer loops the compiler
// vectorises at -O3) and a strided fallback.
//
// Inside a map, 16-bit floats are loaded as float (compute_t) and every result is stored with
// cast_value<Out>, so bf16/f16 round once, at the store, like PyTorch's CPU kernels.
#include <array>
#include <initializer_list>
#include <type_traits>

#include "tensor/cpu/parallel.hpp"
#include "tensor/cpu/strided_loop.hpp"
#include "tensor/dispatch.hpp"
#include "tensor/ops/elementwise.hpp"
#include "tensor/ops/views.hpp"
#include "tensor/tensor.hpp"

namespace cj::cpu {

// The type an element is computed in: float for bf16/f16, the element type otherwise.
template <typename T>
using compute_t = std::conditional_t<std::is_same_v<T, bf16> || std::is_same_v<T, f16>, float, T>;

template <typename T>
inline compute_t<T> load(T v) {
  return static_cast<compute_t<T>>(v);
}

inline void check_cpu(const char* op, const Tensor& t) {
  CJ_CHECK(t.defined(), op, ": got an undefined tensor");
  CJ_CHECK(t.is_cpu(), op, ": tensor ", t.describe(), " is on ", t.device().str(),
           " and this build has no kernel there (CPU only)");
}

// The promoted dtype of an op's operands, after checking they are defined CPU tensors (so that an
// undefined input is reported under the op's name).
inline DType promoted(const char* op, const Tensor& a, const Tensor& b) {
  check_cpu(op, a);
  check_cpu(op, b);
  return ops::result_type(a.dtype(), b.dtype());
}
inline DType promoted(const char* op, const Tensor& a, const Scalar& s) {
  check_cpu(op, a);
  return ops::result_type(a.dtype(), s);
}

// t's strides in bytes, broadcast to out_shape.
inline Shape operand_strides(const Tensor& t, const Shape& out_shape) {
  return broadcast_byte_strides(t.shape(), t.strides(), t.element_size(), out_shape);
}

inline char* base_ptr(const Tensor& t) { return static_cast<char*>(t.data_ptr()); }

// Elements per thread below which a map stays on one thread.
constexpr int64_t kParallelGrain = int64_t(1) << 16;

// Whether every operand is contiguous with out's shape (no broadcasting): the case large maps split
// across threads as flat ranges.
inline bool flat_contiguous(const Tensor& out, std::initializer_list<const Tensor*> in) {
  if (!out.is_contiguous()) return false;
  for (const Tensor* t : in)
    if (!t->is_contiguous() || t->shape() != out.shape()) return false;
  return true;
}

// The length of the trailing run `t` repeats along when it is contiguous and broadcast over out's
// leading dims only (a bias (D) or (1, D) against (N, D)); 0 otherwise.
inline int64_t repeated_row_length(const Tensor& out, const Tensor& t) {
  if (!t.is_contiguous() || t.dim() > out.dim()) return 0;
  int64_t lead = t.dim();  // t's dims after its leading 1s must equal out's trailing dims
  int64_t first = 0;
  while (first < lead && t.size(first) == 1) ++first;
  for (int64_t d = first; d < lead; ++d)
    if (t.size(d) != out.size(out.dim() - lead + d)) return 0;
  return t.numel();
}

// out[i] = f(x[i]); x is broadcast to out's shape.
template <typename Out, typename In, typename F>
void map1(const Tensor& out, const Tensor& x, F f) {
  if (out.numel() >= 2 * kParallelGrain && flat_contiguous(out, {&x})) {
    Out* o = static_cast<Out*>(out.data_ptr());
    const In* a = static_cast<const In*>(x.data_ptr());
    parallel_for(out.numel(), kParallelGrain, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) o[i] = cast_value<Out>(f(load(a[i])));
    });
    return;
  }
  Shape so = operand_strides(out, out.shape()), sx = operand_strides(x, out.shape());
  strided_loop<2>(out.shape(), {&so, &sx}, {base_ptr(out), base_ptr(x)},
                  [&f](std::array<char*, 2> p, int64_t n, std::array<int64_t, 2> s) {
                    if (s[0] == int64_t(sizeof(Out)) && s[1] == int64_t(sizeof(In))) {
                      Out* o = reinterpret_cast<Out*>(p[0]);
                      const In* a = reinterpret_cast<const In*>(p[1]);
                      for (int64_t i = 0; i < n; ++i) o[i] = cast_value<Out>(f(load(a[i])));
                    } else {
                      for (int64_t i = 0; i < n; ++i)
                        *reinterpret_cast<Out*>(p[0] + i * s[0]) =
                            cast_value<Out>(f(load(*reinterpret_cast<const In*>(p[1] + i * s[1]))));
                    }
                  });
}

// out[i] = f(a[i], b[i]); a and b (both of element type In) are broadcast to out's shape. Besides
// the all-contiguous path, an inner run where one side is a broadcast scalar (stride 0, as in
// (N, D) - (N, 1)) hoists that value out of the loop.
template <typename Out, typename In, typename F>
void map2(const Tensor& out, const Tensor& a, const Tensor& b, F f) {
  if (out.numel() >= 2 * kParallelGrain && flat_contiguous(out, {&a, &b})) {
    Out* o = static_cast<Out*>(out.data_ptr());
    const In* x = static_cast<const In*>(a.data_ptr());
    const In* y = static_cast<const In*>(b.data_ptr());
    parallel_for(out.numel(), kParallelGrain, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) o[i] = cast_value<Out>(f(load(x[i]), load(y[i])));
    });
    return;
  }
  // A contiguous operand against a repeated row (adding a bias): split across threads by rows.
  const bool b_is_row = out.is_contiguous() && flat_contiguous(out, {&a});
  const bool a_is_row = !b_is_row && out.is_contiguous() && flat_contiguous(out, {&b});
  const int64_t D = b_is_row ? repeated_row_length(out, b) : a_is_row ? repeated_row_length(out, a) : 0;
  if (out.numel() >= 2 * kParallelGrain && D >= 16) {
    Out* o = static_cast<Out*>(out.data_ptr());
    const In* x = static_cast<const In*>(a.data_ptr());
    const In* y = static_cast<const In*>(b.data_ptr());
    parallel_for(out.numel() / D, std::max<int64_t>(1, kParallelGrain / D), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        Out* orow = o + r * D;
        if (b_is_row) {
          const In* xrow = x + r * D;
          for (int64_t i = 0; i < D; ++i) orow[i] = cast_value<Out>(f(load(xrow[i]), load(y[i])));
        } else {
          const In* yrow = y + r * D;
          for (int64_t i = 0; i < D; ++i) orow[i] = cast_value<Out>(f(load(x[i]), load(yrow[i])));
        }
      }
    });
    return;
  }
  Shape so = operand_strides(out, out.shape()), sa = operand_strides(a, out.shape()),
        sb = operand_strides(b, out.shape());
  constexpr int64_t so_c = sizeof(Out), si_c = sizeof(In);
  strided_loop<3>(out.shape(), {&so, &sa, &sb}, {base_ptr(out), base_ptr(a), base_ptr(b)},
                  [&f](std::array<char*, 3> p, int64_t n, std::array<int64_t, 3> s) {
                    Out* o = reinterpret_cast<Out*>(p[0]);
                    const In* x = reinterpret_cast<const In*>(p[1]);
                    const In* y = reinterpret_cast<const In*>(p[2]);
                    if (s[0] == so_c && s[1] == si_c && s[2] == si_c) {
                      for (int64_t i = 0; i < n; ++i) o[i] = cast_value<Out>(f(load(x[i]), load(y[i])));
                    } else if (s[0] == so_c && s[1] == si_c && s[2] == 0) {
                      const auto yv = load(*y);
                      for (int64_t i = 0; i < n; ++i) o[i] = cast_value<Out>(f(load(x[i]), yv));
                    } else if (s[0] == so_c && s[1] == 0 && s[2] == si_c) {
                      const auto xv = load(*x);
                      for (int64_t i = 0; i < n; ++i) o[i] = cast_value<Out>(f(xv, load(y[i])));
                    } else {
                      for (int64_t i = 0; i < n; ++i)
                        *reinterpret_cast<Out*>(p[0] + i * s[0]) =
                            cast_value<Out>(f(load(*reinterpret_cast<const In*>(p[1] + i * s[1])),
                                              load(*reinterpret_cast<const In*>(p[2] + i * s[2]))));
                    }
                  });
}

// out[i] = f(c[i], a[i], b[i]) with c of element type C and a, b of type In (used by where).
template <typename Out, typename C, typename In, typename F>
void map3(const Tensor& out, const Tensor& c, const Tensor& a, const Tensor& b, F f) {
  const Shape& shape = out.shape();
  Shape so = operand_strides(out, shape), sc = operand_strides(c, shape), sa = operand_strides(a, shape),
        sb = operand_strides(b, shape);
  strided_loop<4>(shape, {&so, &sc, &sa, &sb}, {base_ptr(out), base_ptr(c), base_ptr(a), base_ptr(b)},
                  [&f](std::array<char*, 4> p, int64_t n, std::array<int64_t, 4> s) {
                    for (int64_t i = 0; i < n; ++i)
                      *reinterpret_cast<Out*>(p[0] + i * s[0]) =
                          cast_value<Out>(f(load(*reinterpret_cast<const C*>(p[1] + i * s[1])),
                                            load(*reinterpret_cast<const In*>(p[2] + i * s[2])),
                                            load(*reinterpret_cast<const In*>(p[3] + i * s[3]))));
                  });
}

// ---- dtype plumbing shared by binary ops, comparisons and their in-place forms ----------------

// Writes f(a, b), computed in dtype `compute` (a and b are cast to it), into `out`, which has the
// broadcast shape. out's dtype is `compute`, bool (comparisons), or anything else (in-place ops
// on a narrower destination: computed into a temporary, then cast).
template <typename F>
void binary_into(const char* op, const Tensor& out, const Tensor& a, const Tensor& b, DType compute, F f) {
  Tensor ac = ops::to(a, compute), bc = ops::to(b, compute);
  if (out.dtype() != compute && out.dtype() != DType::b8) {
    Tensor tmp = Tensor::empty(out.shape(), compute);
    binary_into(op, tmp, ac, bc, compute, f);
    ops::copy_(out, tmp);
    return;
  }
  dispatch_all(compute, op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (out.dtype() == compute) map2<T, T>(out, ac, bc, f);
    else map2<bool, T>(out, ac, bc, f);
  });
}

// The same for f(a, s) with a Scalar s, converted once to the compute type of `compute`.
template <typename F>
void scalar_into(const char* op, const Tensor& out, const Tensor& a, const Scalar& s, DType compute, F f) {
  Tensor ac = ops::to(a, compute);
  if (out.dtype() != compute && out.dtype() != DType::b8) {
    Tensor tmp = Tensor::empty(out.shape(), compute);
    scalar_into(op, tmp, ac, s, compute, f);
    ops::copy_(out, tmp);
    return;
  }
  dispatch_all(compute, op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    using C = compute_t<T>;
    const C sv = s.to<C>();
    auto g = [&f, sv](C x) { return f(x, sv); };
    if (out.dtype() == compute) map1<T, T>(out, ac, g);
    else map1<bool, T>(out, ac, g);
  });
}

// torch.can_cast for in-place results: no floating result into an integer tensor, and nothing
// but bool into a bool tensor.
inline bool can_cast(DType from, DType to) {
  if (is_floating(from) && !is_floating(to)) return false;
  if (from != DType::b8 && to == DType::b8) return false;
  return true;
}

// Checks an in-place op's destination on any device (the CUDA backend's in-place ops use it too):
// the broadcast shape equals its own, the result dtype fits, and no two of its elements share
// memory (an expanded tensor).
inline void check_inplace_destination(const char* op, const Tensor& self, const Shape& other_shape, DType result) {
  Shape b = broadcast_shapes(self.shape(), other_shape, op);
  CJ_CHECK(b == self.shape(), op, ": output with shape ", self.shape(), " doesn't match the broadcast shape ", b);
  CJ_CHECK(can_cast(result, self.dtype()), op, ": result type ", dtype_name(result),
           " can't be cast to the destination type ", dtype_name(self.dtype()));
  for (int64_t d = 0; d < self.dim(); ++d)
    CJ_CHECK(self.stride(d) != 0 || self.size(d) <= 1, op, ": destination ", self.describe(), " with strides ",
             self.strides(), " has elements that share memory (an expanded tensor); clone it first");
}

inline void check_inplace(const char* op, const Tensor& self, const Shape& other_shape, DType result) {
  check_cpu(op, self);
  check_inplace_destination(op, self, other_shape, result);
}

// `other` as an in-place op may read it while self is written: a copy when it shares self's
// storage through a different view (x[1:] += x[:-1] must read the old values).
inline Tensor unaliased(const Tensor& self, const Tensor& other) {
  bool same_view = self.offset() == other.offset() && self.strides() == other.strides() &&
                   self.shape() == other.shape() && self.dtype() == other.dtype();
  return other.storage() == self.storage() && !same_view ? ops::clone(other) : other;
}

}  // namespace cj::cpu
