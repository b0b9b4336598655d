#pragma once
// One entry point for every tensor file cjepa reads: the format is sniffed from the content.
#include <optional>
#include <string>

#include "tensor/io/pickle_value.hpp"
#include "tensor/io/tensor_map.hpp"
#include "tensor/io/torch_file.hpp"

namespace cj::io {

enum class FileFormat { safetensors, torch_zip, pickle };
const char* format_name(FileFormat format);  // "safetensors", "pytorch-zip", "pickle"

// Looks at the first bytes: "PK\3\4" -> torch zip, a pickle PROTO opcode -> pickle, an 8-byte length
// followed by '{' -> safetensors. Throws cj::Error naming the file otherwise, and for torch's legacy
// (pre-1.6, non-zip) format, which is not supported.
FileFormat detect_format(const std::string& path);

// name -> tensor from any supported file: safetensors as stored; a torch state dict by its keys; a
// Lightning checkpoint's "state_dict"; a pickled module's parameters and persistent buffers by dotted
// name; nested dicts of numpy arrays by dotted path. Throws cj::Error when the file holds no tensor.
TensorMap load_tensors(const std::string& path, const ReadOptions& options = {});

// Everything a file holds, for inspection: its tensors plus the safetensors metadata or the pickle's
// value tree.
struct LoadedFile {
  FileFormat format;
  TensorMap tensors;
  Metadata metadata;               // safetensors only
  std::optional<PickleTree> tree;  // torch zip and pickle only
};
LoadedFile load_file(const std::string& path, const ReadOptions& options = {});

// The value tree of a torch zip or plain pickle file (sniffed).
PickleTree load_pickle_tree(const std::string& path, const ReadOptions& options = {});

}  // namespace cj::io
