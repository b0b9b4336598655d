#include "tensor/io/manifest.hpp"

#include <nlohmann/json.hpp>

#include "tensor/io/mapped_file.hpp"
#include "tensor/io/sha256.hpp"
#include "tensor/ops/views.hpp"

namespace cj::io {

std::string tensor_sha256(const Tensor& t) {
  CJ_CHECK(t.is_cpu(), "tensor_sha256: tensor is on ", t.device().str(), ", expected cpu");
  Tensor c = ops::contiguous(t);
  return sha256_hex(c.numel() ? c.data_ptr() : nullptr, std::size_t(c.numel()) * c.element_size());
}

std::vector<ManifestEntry> make_manifest(const TensorMap& tensors) {
  std::vector<ManifestEntry> out;
  for (const auto& [name, t] : tensors) out.push_back({name, t.dtype(), t.shape(), tensor_sha256(t)});
  return out;
}

std::string manifest_json(const std::vector<ManifestEntry>& entries) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const auto& e : entries)
    list.push_back({{"name", e.name}, {"dtype", dtype_name(e.dtype)}, {"shape", e.shape}, {"sha256", e.sha256}});
  nlohmann::ordered_json j;
  j["tensors"] = list;
  return j.dump(2) + "\n";
}

void write_manifest(const std::string& path, const TensorMap& tensors) {
  std::string text = manifest_json(make_manifest(tensors));
  AtomicFileWriter out(path);
  out.write(text.data(), text.size());
  out.commit();
}

}  // namespace cj::io
