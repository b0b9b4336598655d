#include "tensor/io/load.hpp"

#include <cstring>
#include <fstream>

#include "tensor/io/safetensors.hpp"
#include "tensor/io/torch_file.hpp"
#include "tensor/io/zip_reader.hpp"

namespace cj::io {

namespace {
// torch.save(..., _use_new_zipfile_serialization=False) starts with PROTO 2, LONG1 of 10 bytes, and
// the magic number 0x1950a86a20f9469cfc6c (little-endian).
constexpr uint8_t kLegacyTorchStart[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
}  // namespace

const char* format_name(FileFormat format) {
  switch (format) {
    case FileFormat::safetensors: return "safetensors";
    case FileFormat::torch_zip: return "pytorch-zip";
    case FileFormat::pickle: return "pickle";
  }
  return "?";
}

FileFormat detect_format(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  CJ_CHECK(in.good(), path, ": cannot open: ", std::strerror(errno));
  uint8_t head[16] = {};
  in.read(reinterpret_cast<char*>(head), sizeof head);
  const std::size_t n = static_cast<std::size_t>(in.gcount());
  if (ZipReader::looks_like_zip(head, n)) return FileFormat::torch_zip;
  if (n >= sizeof kLegacyTorchStart && std::memcmp(head, kLegacyTorchStart, sizeof kLegacyTorchStart) == 0)
    fail(path, ": torch's legacy (pre-1.6, _use_new_zipfile_serialization=False) format is not supported; "
         "re-save it with a current torch.save");
  if (n >= 2 && head[0] == 0x80 && head[1] >= 2 && head[1] <= 5) return FileFormat::pickle;
  if (n >= 9 && head[8] == '{') return FileFormat::safetensors;
  fail(path, ": not a safetensors, PyTorch (zip) or pickle file (", n, " bytes read, unrecognised start)");
}

PickleTree load_pickle_tree(const std::string& path, const ReadOptions& options) {
  FileFormat format = detect_format(path);
  CJ_CHECK(format != FileFormat::safetensors, path, ": is a safetensors file, which holds no pickle");
  return format == FileFormat::torch_zip ? read_torch_archive(path, options) : read_pickle_file(path, options);
}

LoadedFile load_file(const std::string& path, const ReadOptions& options) {
  LoadedFile out;
  out.format = detect_format(path);
  if (out.format == FileFormat::safetensors) {
    auto st = read_safetensors(path);
    out.tensors = std::move(st.tensors);
    out.metadata = std::move(st.metadata);
    return out;
  }
  out.tree = out.format == FileFormat::torch_zip ? read_torch_archive(path, options) : read_pickle_file(path, options);
  try {
    out.tensors = tensors_from_tree(out.tree->root());
  } catch (const Error& e) {
    fail(path, ": ", e.what());
  }
  return out;
}

TensorMap load_tensors(const std::string& path, const ReadOptions& options) {
  LoadedFile f = load_file(path, options);
  CJ_CHECK(!f.tensors.empty() || f.format == FileFormat::safetensors, path, ": the ", format_name(f.format),
           " file holds no tensors");
  return std::move(f.tensors);
}

}  // namespace cj::io
