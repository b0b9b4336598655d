#include <array>

#include "tensor/backend.hpp"
#include "tensor/cpu/strided_loop.hpp"
#include "tensor/dispatch.hpp"
#include "tensor/ops/elementwise.hpp"

namespace cj::ops {

void fill_(const Tensor& self, Scalar value) {
  CJ_FORWARD_TO_DEVICE(decltype(fill_), "fill_", self, self, value);
  Shape strides = self.strides();
  for (auto& s : strides) s *= static_cast<int64_t>(self.element_size());
  std::array<const Shape*, 1> st{&strides};
  dispatch_all(self.dtype(), "fill_", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T v = value.to<std::conditional_t<is_float_type_v<T>, double, T>>();
    cpu::strided_loop<1>(self.shape(), st, {static_cast<char*>(self.data_ptr())},
                         [v](std::array<char*, 1> p, int64_t n, std::array<int64_t, 1> s) {
                           for (int64_t i = 0; i < n; ++i) *reinterpret_cast<T*>(p[0] + i * s[0]) = v;
                         });
  });
  self.bump_version();
}

void zero_(const Tensor& self) { fill_(self, 0); }

}  // namespace cj::ops
