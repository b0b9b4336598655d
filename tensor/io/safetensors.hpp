#pragma once
// safetensors (https://github.com/huggingface/safetensors): an 8-byte little-endian header length,
// a JSON header {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}},
// then the raw little-endian bytes of every tensor.
#include <string>

#include "tensor/io/tensor_map.hpp"

namespace cj::io {

struct SafetensorsFile {
  TensorMap tensors;
  Metadata metadata;  // the "__metadata__" object (string values only)
};

// Maps the file; tensors whose bytes are aligned to their element size borrow the mapping
// (zero-copy, copy-on-write), the others are copied. Throws cj::Error naming the file and the
// problem for any malformed header, offset, dtype or truncation.
SafetensorsFile read_safetensors(const std::string& path);

// Writes every tensor (any dtype, any strides; CPU only) in canonical order: larger elements first,
// then by name, so every tensor's data offset is aligned to its element size. Atomic (temporary file,
// fsync, rename).
void write_safetensors(const std::string& path, const TensorMap& tensors, const Metadata& metadata = {});

// "F32", "BF16", "BOOL", ... for cj dtypes, and back (throws cj::Error for unknown/unsupported names).
const char* safetensors_dtype_name(DType dtype);
DType dtype_from_safetensors_name(const std::string& name);

}  // namespace cj::io
