// cjepa convert: any tensor file cjepa reads (safetensors, PyTorch .pt/.pth/.ckpt, pickled numpy
// dicts) to safetensors, optionally selecting and renaming tensors, with an audit manifest.
#include <iostream>
#include <string>
#include <vector>

#include "apps/cli.hpp"
#include "tensor/io/load.hpp"
#include "tensor/io/manifest.hpp"
#include "tensor/io/safetensors.hpp"

namespace cj::app {
namespace {

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

// Keeps the tensors whose names start with `prefix`, without it.
io::TensorMap keep_prefix(const io::TensorMap& in, const std::string& prefix, const std::string& path) {
  io::TensorMap out;
  for (const auto& [name, t] : in)
    if (starts_with(name, prefix) && name.size() > prefix.size()) out.emplace(name.substr(prefix.size()), t);
  CJ_CHECK(!out.empty(), path, ": no tensor name starts with '", prefix, "' (", in.size(), " tensors, e.g. '",
           in.empty() ? "" : in.begin()->first, "')");
  return out;
}

// Applies FROM=TO prefix rules in order; each rule rewrites every name that starts with FROM.
io::TensorMap rename(const io::TensorMap& in, const std::vector<std::string>& rules) {
  io::TensorMap current = in;
  for (const auto& rule : rules) {
    auto eq = rule.find('=');
    if (eq == std::string::npos || eq == 0) throw UsageError("--rename expects FROM=TO, got '" + rule + "'");
    const std::string from = rule.substr(0, eq), to = rule.substr(eq + 1);
    io::TensorMap next;
    for (const auto& [name, t] : current) {
      std::string renamed = starts_with(name, from) ? to + name.substr(from.size()) : name;
      CJ_CHECK(!renamed.empty(), "--rename ", rule, ": renames '", name, "' to an empty name");
      CJ_CHECK(next.emplace(renamed, t).second, "--rename ", rule, ": two tensors would be named '", renamed, "'");
    }
    current = std::move(next);
  }
  return current;
}

std::string base_name(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

int run_convert(const std::vector<std::string>& argv) {
  Args args("convert", "Convert a tensor file (safetensors, PyTorch .pt/.pth/.ckpt, pickled numpy dict) to safetensors.");
  args.positional("in", "input file; the format is detected from its contents")
      .positional("out", "output .safetensors file (written atomically)")
      .option("prefix", "P", "keep only tensors whose names start with P, and strip P (e.g. 'model.')")
      .repeated("rename", "FROM=TO", "replace the name prefix FROM with TO, applied in order after --prefix")
      .option("manifest", "M.json", "also write (name, dtype, shape, sha256) of every written tensor to M.json")
      .flag("lenient", "record calls outside the allow-list inertly instead of refusing the file (code-running globals are still refused)")
      .epilog("A Lightning checkpoint converts its 'state_dict'; a pickled module (torch.save(model)) its parameters\n"
              "and persistent buffers by state_dict name; nested dicts of arrays become dotted names. Nothing in the\n"
              "input is ever executed: pickles that would call anything beyond tensor/container constructors are refused.");
  if (!args.parse(argv)) return kExitOk;
  const std::string in = args.get("in"), out = args.get("out");

  io::ReadOptions read;
  read.unknown_calls_as_records = args.enabled("lenient");
  io::TensorMap tensors = io::load_tensors(in, read);
  if (args.has("prefix")) tensors = keep_prefix(tensors, args.get("prefix"), in);
  tensors = rename(tensors, args.get_all("rename"));
  io::write_safetensors(out, tensors, {{"format", "pt"}, {"converted_from", base_name(in)}});

  std::size_t bytes = 0;
  for (const auto& [name, t] : tensors) bytes += std::size_t(t.numel()) * t.element_size();
  std::cout << "wrote " << tensors.size() << " tensors (" << bytes << " bytes) to " << out << "\n";
  if (args.has("manifest")) {
    io::write_manifest(args.get("manifest"), tensors);
    std::cout << "wrote manifest " << args.get("manifest") << "\n";
  }
  return kExitOk;
}

Registration reg({"convert", "convert .pt/.ckpt/pickle/safetensors files to safetensors (+ sha256 manifest)", run_convert});

}  // namespace
}  // namespace cj::app
