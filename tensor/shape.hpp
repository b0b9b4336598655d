#pragma once
// Shape arithmetic shared by every op: row-major contiguous strides, dim wrapping, broadcasting.
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace cj {

using Shape = std::vector<int64_t>;

int64_t shape_numel(const Shape& shape);
Shape contiguous_strides(const Shape& shape);  // row-major, in elements
// Wraps a possibly negative dim into [0, ndim); throws cj::Error naming `op` when out of range.
int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op);
// NumPy/PyTorch broadcasting of two shapes; throws cj::Error naming `op` and both shapes.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
std::string shape_str(const Shape& shape);  // "[2, 3]"

}  // namespace cj

namespace std {
// So that cj::fail("op: got ", shape) prints "[2, 3]".
inline ostream& operator<<(ostream& os, const vector<int64_t>& shape) { return os << cj::shape_str(shape); }
}  // namespace std
