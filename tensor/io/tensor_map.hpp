#pragma once
// Named tensors as every reader in cj::io returns them (sorted by name).
#include <map>
#include <string>

#include "tensor/tensor.hpp"

namespace cj::io {

using TensorMap = std::map<std::string, Tensor>;
using Metadata = std::map<std::string, std::string>;

}  // namespace cj::io
