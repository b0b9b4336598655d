#include "tensor/cpu/strided_loop.hpp"

#include "tensor/error.hpp"

namespace cj::cpu {

Shape broadcast_byte_strides(const Shape& shape, const Shape& strides, std::size_t element_size,
                             const Shape& out_shape) {
  CJ_CHECK(shape.size() <= out_shape.size(), "broadcast: cannot broadcast shape ", shape, " to ", out_shape);
  Shape out(out_shape.size(), 0);
  size_t lead = out_shape.size() - shape.size();
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == out_shape[lead + i]) {
      out[lead + i] = strides[i] * static_cast<int64_t>(element_size);
    } else {
      CJ_CHECK(shape[i] == 1, "broadcast: cannot broadcast shape ", shape, " to ", out_shape);
    }
  }
  return out;
}

}  // namespace cj::cpu
