// cjepa inspect: what a tensor file holds (tensors by name, dtype and shape; safetensors metadata or
// the outline of a pickle's value tree), without executing anything in it.
#include <nlohmann/json.hpp>

#include <iostream>
#include <string>
#include <vector>

#include "apps/cli.hpp"
#include "tensor/io/load.hpp"

namespace cj::app {
namespace {

int run_inspect(const std::vector<std::string>& argv) {
  Args args("inspect", "List the tensors of a safetensors, PyTorch (.pt/.pth/.ckpt) or pickle file.");
  args.positional("file", "the file to inspect; the format is detected from its contents")
      .flag("json", "print one JSON object: file, format, tensors [{name, dtype, shape}], metadata, tree")
      .flag("lenient", "record calls outside the allow-list inertly instead of refusing the file (code-running globals are still refused)");
  if (!args.parse(argv)) return kExitOk;
  const std::string path = args.get("file");
  io::ReadOptions read;
  read.unknown_calls_as_records = args.enabled("lenient");
  io::LoadedFile f = io::load_file(path, read);

  int64_t elements = 0;
  std::size_t bytes = 0;
  for (const auto& [name, t] : f.tensors) {
    elements += t.numel();
    bytes += std::size_t(t.numel()) * t.element_size();
  }
  const std::string outline = f.tree ? f.tree->summary() : "";

  if (args.enabled("json")) {
    nlohmann::ordered_json j;
    j["file"] = path;
    j["format"] = io::format_name(f.format);
    j["tensors"] = nlohmann::ordered_json::array();
    for (const auto& [name, t] : f.tensors)
      j["tensors"].push_back({{"name", name}, {"dtype", dtype_name(t.dtype())}, {"shape", t.shape()}});
    j["elements"] = elements;
    j["bytes"] = bytes;
    if (f.format == io::FileFormat::safetensors) j["metadata"] = f.metadata;
    if (f.tree) j["tree"] = outline;
    std::cout << j.dump(2) << "\n";
    return kExitOk;
  }

  std::cout << "file:    " << path << "\nformat:  " << io::format_name(f.format) << "\ntensors: " << f.tensors.size()
            << " (" << elements << " elements, " << bytes << " bytes)\n";
  std::size_t width = 0;
  for (const auto& [name, t] : f.tensors) width = std::max(width, name.size());
  for (const auto& [name, t] : f.tensors) {
    std::string dtype = dtype_name(t.dtype());
    std::cout << "  " << name << std::string(width - name.size() + 2, ' ') << dtype
              << std::string(dtype.size() < 9 ? 10 - dtype.size() : 1, ' ') << shape_str(t.shape()) << "\n";
  }
  if (!f.metadata.empty()) {
    std::cout << "metadata:\n";
    for (const auto& [k, v] : f.metadata) std::cout << "  " << k << ": " << v << "\n";
  }
  if (f.tree) std::cout << "value tree:\n" << outline;
  return kExitOk;
}

Registration reg({"inspect", "list the tensors (name, dtype, shape) and metadata of a tensor file", run_inspect});

}  // namespace
}  // namespace cj::app
