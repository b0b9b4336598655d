#pragma once
// Writes the one pickle layout the reference pipeline exchanges slot data in: nested string-keyed
// dicts whose leaves are numpy arrays ({split: {video: float32[T, N, D]}}), readable by
// `pickle.load` with numpy 1.x or 2.x. Protocol 3 (BINBYTES for the raw array data).
#include <map>
#include <string>

#include "tensor/tensor.hpp"

namespace cj::io {

// A tree of dicts with tensor leaves; keys are written in sorted order.
struct PickleDict {
  std::map<std::string, Tensor> arrays;
  std::map<std::string, PickleDict> dicts;
};

// Serialises the tree; tensors become C-contiguous numpy arrays of the same dtype and shape.
std::string pickle_numpy_tree(const PickleDict& root);
// Writes it to path atomically (temporary file, then rename).
void write_pickle_numpy_tree(const std::string& path, const PickleDict& root);

// Atomically replaces path with bytes: writes path.tmp.<pid>, flushes, renames. Throws cj::Error
// naming the file on failure.
void write_file_atomic(const std::string& path, const std::string& bytes);

}  // namespace cj::io
