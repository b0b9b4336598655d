#pragma once
// A minimal safetensors reader for test fixtures (f32, f64, i64, bool), until the full reader in
// tensor/io/ lands: an 8-byte little-endian header length, a JSON header
// {"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...}, then raw data.
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tensor/ops.hpp"

namespace cj::test {

class FixtureFile {
 public:
  explicit FixtureFile(const std::string& path) : path_(path) {
    std::ifstream in(path, std::ios::binary);
    CJ_CHECK(in.good(), "fixture ", path, ": cannot open (run tools/make_fixtures.py to regenerate)");
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CJ_CHECK(bytes.size() >= 8, "fixture ", path, ": shorter than the 8-byte header length");
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | uint8_t(bytes[i]);
    CJ_CHECK(header_len <= bytes.size() - 8, "fixture ", path, ": header length ", header_len, " exceeds the file");
    auto header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + int64_t(header_len));
    const char* data = bytes.data() + 8 + header_len;
    const uint64_t data_len = bytes.size() - 8 - header_len;
    for (auto& [name, info] : header.items()) {
      if (name == "__metadata__") {
        for (auto& [k, v] : info.items()) metadata_[k] = v.get<std::string>();
        continue;
      }
      const std::string dt = info.at("dtype").get<std::string>();
      Shape shape = info.at("shape").get<Shape>();
      const uint64_t begin = info.at("data_offsets")[0].get<uint64_t>(), end = info.at("data_offsets")[1].get<uint64_t>();
      CJ_CHECK(begin <= end && end <= data_len, "fixture ", path, ": tensor ", name, " data out of range");
      DType dtype = dt == "F32" ? DType::f32 : dt == "F64" ? DType::f64 : dt == "I64" ? DType::i64
                  : dt == "BOOL" ? DType::b8 : (fail("fixture ", path, ": tensor ", name, " has unsupported dtype ", dt), DType::f32);
      CJ_CHECK(end - begin == uint64_t(shape_numel(shape)) * dtype_size(dtype), "fixture ", path, ": tensor ", name,
               " has ", end - begin, " bytes for shape ", shape);
      tensors_[name] = from_blob_copy(data + begin, shape, dtype);
    }
  }

  const Tensor& operator[](const std::string& name) const {
    auto it = tensors_.find(name);
    CJ_CHECK(it != tensors_.end(), "fixture ", path_, ": no tensor named '", name, "'");
    return it->second;
  }
  bool has(const std::string& name) const { return tensors_.count(name) != 0; }
  const std::map<std::string, Tensor>& tensors() const { return tensors_; }
  // Metadata values are strings (safetensors' rule); numbers are parsed by the caller.
  std::string meta(const std::string& key) const {
    auto it = metadata_.find(key);
    CJ_CHECK(it != metadata_.end(), "fixture ", path_, ": no metadata key '", key, "'");
    return it->second;
  }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  std::string path_;
  std::map<std::string, Tensor> tensors_;
  std::map<std::string, std::string> metadata_;
};

inline std::string fixture_path(const std::string& relative) { return std::string(CJ_FIXTURE_DIR) + "/" + relative; }

}  // namespace cj::test
