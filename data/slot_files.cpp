#include "data/slot_files.hpp"

#include <cmath>

#include "tensor/error.hpp"
#include "tensor/io/load.hpp"
#include "tensor/io/safetensors.hpp"
#include "tensor/ops.hpp"

namespace cj::data {
namespace {

using SplitMap = std::map<std::string, std::map<std::string, Tensor>>;

// Groups a file's tensors by split: pickles give dotted paths "<split>.<video>" (video names
// contain dots themselves, so the split is what precedes the first one), our safetensors layout
// "<split>/<video>".
SplitMap tensors_by_split(const std::string& path) {
  const io::FileFormat format = io::detect_format(path);
  const io::TensorMap tensors = io::load_tensors(path);
  const char separator = format == io::FileFormat::safetensors ? '/' : '.';
  SplitMap splits;
  for (const auto& [name, tensor] : tensors) {
    const auto cut = name.find(separator);
    CJ_CHECK(cut != std::string::npos && cut > 0 && cut + 1 < name.size(), "slot file ", path, ": tensor '", name,
             "' is not in the ", format == io::FileFormat::safetensors ? "'<split>/<video>'" : "{split: {video: array}}",
             " layout");
    splits[name.substr(0, cut)][name.substr(cut + 1)] = tensor;
  }
  return splits;
}

// "train, val" (or "none"): the keys of a map, for messages.
template <typename Map>
std::string joined_keys(const Map& map) {
  std::string out;
  for (const auto& entry : map) out += (out.empty() ? "" : ", ") + entry.first;
  return out.empty() ? "none" : out;
}

// (rows, ...) floating tensor -> contiguous f32 (a view of the file's data when already so).
Tensor as_f32(const Tensor& t) { return ops::contiguous(ops::to(t, DType::f32)); }

// Position [i0, i1, ...] of flat element `flat` in a contiguous tensor of `shape`, for messages.
std::string position(int64_t flat, const Shape& shape) {
  std::vector<int64_t> index(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    index[d] = flat % shape[d];
    flat /= shape[d];
  }
  std::string out = "[";
  for (std::size_t d = 0; d < index.size(); ++d) out += (d ? ", " : "") + std::to_string(index[d]);
  return out + "]";
}

}  // namespace

const SlotVideos& SlotFile::split(const std::string& name) const {
  auto it = splits.find(name);
  CJ_CHECK(it != splits.end(), "slot file ", path, ": no split '", name, "' (it has: ", joined_keys(splits), ")");
  return it->second;
}

SlotFile read_slot_file(const std::string& path) {
  SlotFile file;
  file.path = path;
  const SplitMap splits = tensors_by_split(path);
  std::string first_video;
  Shape first_shape;
  for (const auto& [split, videos] : splits) {
    SlotVideos& out = file.splits[split];
    out.file = path;
    out.split = split;
    for (const auto& [name, raw] : videos) {
      const std::string where = "slot file " + path + ", " + split + "/" + name;
      CJ_CHECK(raw.dim() == 3 && is_floating(raw.dtype()), where, ": expected a floating [T, N, D] array, got ",
               dtype_name(raw.dtype()), " ", raw.shape());
      CJ_CHECK(raw.size(0) >= 1 && raw.size(1) >= 1 && raw.size(2) >= 1, where, ": empty video, shape ", raw.shape());
      if (first_video.empty()) {
        first_video = split + "/" + name;
        first_shape = raw.shape();
      }
      CJ_CHECK(raw.size(1) == first_shape[1] && raw.size(2) == first_shape[2], where, ": shape ", raw.shape(),
               " disagrees with ", first_video, " ", first_shape, " on N (slots) or D (slot dim)");
      Tensor video = as_f32(raw);
      const float* v = video.data<float>();
      for (int64_t i = 0; i < video.numel(); ++i)
        CJ_CHECK(std::isfinite(v[i]), where, ": value ", v[i], " at ", position(i, video.shape()),
                 " (slot files must hold finite numbers)");
      out.names.push_back(name);
      out.videos.push_back(video);
    }
    out.num_slots = first_shape[1];
    out.slot_dim = first_shape[2];
  }
  CJ_CHECK(!first_video.empty(), "slot file ", path, ": holds no videos");
  return file;
}

void write_slot_safetensors(const std::string& path, const SplitMap& splits) {
  io::TensorMap tensors;
  for (const auto& [split, videos] : splits) {
    CJ_CHECK(!split.empty() && split.find('/') == std::string::npos, "write_slot_safetensors: bad split name '",
             split, "'");
    for (const auto& [name, video] : videos) {
      CJ_CHECK(video.dim() == 3 && is_floating(video.dtype()), "write_slot_safetensors: ", split, "/", name,
               " must be a floating [T, N, D] tensor, got ", video.shape());
      tensors[split + "/" + name] = as_f32(video);
    }
  }
  io::write_safetensors(path, tensors, {{"format", "cjepa-slots"}});
}

SideSeries read_side_split(const std::string& path, const std::string& split, const std::string& what,
                           int64_t expected_dim) {
  const SplitMap splits = tensors_by_split(path);
  auto it = splits.find(split);
  CJ_CHECK(it != splits.end(), what, " file ", path, ": no split '", split, "' (it has: ", joined_keys(splits), ")");
  SideSeries out;
  out.file = path;
  out.split = split;
  out.what = what;
  for (const auto& [name, raw] : it->second) {
    const std::string where = what + " file " + path + ", " + split + "/" + name;
    CJ_CHECK(raw.dim() == 2 && is_floating(raw.dtype()), where, ": expected a floating [T, dim] array, got ",
             dtype_name(raw.dtype()), " ", raw.shape());
    if (out.episodes.empty()) out.dim = raw.size(1);
    CJ_CHECK(raw.size(1) == out.dim, where, ": dim ", raw.size(1), " disagrees with the file's other episodes (",
             out.dim, ")");
    CJ_CHECK(expected_dim <= 0 || raw.size(1) == expected_dim, where, ": ", what, " dim is ", raw.size(1),
             ", expected ", expected_dim);
    Tensor series = as_f32(raw);
    const float* v = series.data<float>();
    for (int64_t i = 0; i < series.numel(); ++i) {
      if (std::isnan(v[i])) ++out.nan_values;
      CJ_CHECK(!std::isinf(v[i]), where, ": infinite value at ", position(i, series.shape()));
    }
    out.episodes[name] = series;
  }
  CJ_CHECK(!out.episodes.empty(), what, " file ", path, ": split '", split, "' holds no episodes");
  return out;
}

}  // namespace cj::data
