#pragma once
// A manifest of named tensors for audits: (name, dtype, shape, sha256 of the contiguous
// little-endian bytes), so two conversions of one checkpoint can be compared without the weights.
#include <string>
#include <vector>

#include "tensor/io/tensor_map.hpp"

namespace cj::io {

struct ManifestEntry {
  std::string name;
  DType dtype;
  Shape shape;
  std::string sha256;  // 64 lowercase hex characters
};

std::string tensor_sha256(const Tensor& t);  // of the row-major element bytes (CPU tensors)
std::vector<ManifestEntry> make_manifest(const TensorMap& tensors);
// {"tensors": [{"name", "dtype", "shape", "sha256"}, ...]} (dtypes by PyTorch name, e.g. "float32").
std::string manifest_json(const std::vector<ManifestEntry>& entries);
void write_manifest(const std::string& path, const TensorMap& tensors);  // atomic

}  // namespace cj::io
