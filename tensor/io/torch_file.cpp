#include "tensor/io/torch_file.hpp"

#include <cstring>
#include <set>
#include <unordered_map>

#include "tensor/io/mapped_file.hpp"
#include "tensor/io/unpickler.hpp"
#include "tensor/io/zip_reader.hpp"

namespace cj::io {

namespace {

using K = Value::Kind;
constexpr int kMaxDepth = 256;  // pickles may nest (or cycle); deeper trees are refused, never recursed blindly

// torch.save names every record "<archive>/..."; the archive name is the first record's folder.
std::string archive_prefix(const ZipReader& zip) {
  CJ_CHECK(!zip.records().empty(), zip.path(), ": the zip archive has no records");
  const std::string& first = zip.records().front().name;
  auto slash = first.find('/');
  CJ_CHECK(slash != std::string::npos, zip.path(), ": record '", first,
           "' is not inside an archive folder; not a torch.save file");
  return first.substr(0, slash + 1);
}

void add_unique(TensorMap& out, const std::string& name, const Tensor& t) {
  CJ_CHECK(out.emplace(name, t).second, "tensor name '", name, "' occurs twice");
}

void flatten_module(const Value& m, const std::string& prefix, bool non_persistent, TensorMap& out, int depth) {
  CJ_CHECK(depth < kMaxDepth, "module record nested deeper than ", kMaxDepth, " levels at '", prefix, "'");
  std::set<std::string> skip;
  if (const Value* np = m.find("_non_persistent_buffers_set"); np && !non_persistent && np->kind == K::set)
    for (const Value* name : np->items)
      if (name->kind == K::string) skip.insert(name->text);
  for (const char* group : {"_parameters", "_buffers"}) {
    for (const auto& [key, value] : m.at(group).entries) {
      CJ_CHECK(key->kind == K::string, "module '", prefix, "': ", group, " has a non-string key");
      if (value->kind == K::none || skip.count(key->text)) continue;
      CJ_CHECK(value->kind == K::tensor, "module '", prefix, "': ", group, " entry '", key->text, "' is a ",
               value->short_description(), ", expected a tensor");
      add_unique(out, prefix + key->text, value->tensor);
    }
  }
  for (const auto& [key, child] : m.at("_modules").entries) {
    CJ_CHECK(key->kind == K::string, "module '", prefix, "': _modules has a non-string key");
    if (child->kind == K::none) continue;
    CJ_CHECK(child->is_module_record(), "module '", prefix, "': submodule '", key->text, "' is a ",
             child->short_description(), ", not a module record");
    flatten_module(*child, prefix + key->text + ".", non_persistent, out, depth + 1);
  }
}

void collect(const Value& v, const std::string& prefix, TensorMap& out, int depth) {
  CJ_CHECK(depth < kMaxDepth, "value tree nested deeper than ", kMaxDepth, " levels at '", prefix, "'");
  auto child_name = [&](const std::string& key) { return prefix.empty() ? key : prefix + "." + key; };
  switch (v.kind) {
    case K::tensor:
      add_unique(out, prefix, v.tensor);
      return;
    case K::dict:
    case K::object:
      if (v.is_module_record()) {
        flatten_module(v, prefix.empty() ? "" : prefix + ".", false, out, depth + 1);
        return;
      }
      for (const auto& [key, child] : v.entries) {  // a dict, or the items of a dict-subclass record
        if (key->kind == K::string) collect(*child, child_name(key->text), out, depth + 1);
        else if (key->kind == K::integer) collect(*child, child_name(std::to_string(key->integer)), out, depth + 1);
      }
      return;
    case K::list:
    case K::tuple:
      for (std::size_t i = 0; i < v.items.size(); ++i) collect(*v.items[i], child_name(std::to_string(i)), out, depth + 1);
      return;
    default:
      return;  // numbers, strings and other records hold no tensors
  }
}

}  // namespace

PickleTree read_torch_archive(const std::string& path, const ReadOptions& read_options) {
  ZipReader zip(MappedFile::open(path));
  const std::string prefix = archive_prefix(zip);
  if (const auto* order = zip.find(prefix + "byteorder"); order && order->method == 0) {
    std::string value(reinterpret_cast<const char*>(zip.bytes(*order)), order->size);
    CJ_CHECK(value == "little", path, ": tensors are stored ", value, "-endian; only little-endian files are supported");
  }
  const auto& pickle = zip.stored(prefix + "data.pkl");

  std::unordered_map<std::string, std::shared_ptr<Storage>> storages;  // key -> storage, shared by views
  UnpickleOptions options;
  options.source = path + " (" + pickle.name + ")";
  options.unknown_calls_as_records = read_options.unknown_calls_as_records;
  options.load_storage = [&](const std::string& key, DType dtype, int64_t numel) {
    if (auto it = storages.find(key); it != storages.end()) return it->second;
    const auto& record = zip.stored(prefix + "data/" + key);
    const uint64_t esize = dtype_size(dtype);
    CJ_CHECK(uint64_t(numel) <= record.size / esize, path, ": storage '", key, "' should hold ", numel, " ",
             dtype_name(dtype), " elements but its record has ", record.size, " bytes");
    const std::size_t nbytes = std::size_t(numel) * esize;
    std::shared_ptr<Storage> s;
    if (record.data_offset % esize == 0) {  // torch.save aligns records to 64 bytes: borrow the mapping
      s = MappedFile::borrow(zip.file(), record.data_offset, nbytes);
    } else {
      s = Storage::allocate(nbytes, Device::cpu());
      if (nbytes) std::memcpy(s->data(), zip.bytes(record), nbytes);
    }
    storages.emplace(key, s);
    return s;
  };
  return unpickle(zip.bytes(pickle), pickle.size, options);
}

PickleTree read_pickle_file(const std::string& path, const ReadOptions& read_options) {
  auto file = MappedFile::open(path);
  UnpickleOptions options;
  options.source = path;
  options.unknown_calls_as_records = read_options.unknown_calls_as_records;
  return unpickle(file->data(), file->size(), options);
}

TensorMap flatten_module_record(const Value& module, bool include_non_persistent_buffers) {
  CJ_CHECK(module.is_module_record(), "flatten_module_record: expected a pickled nn.Module record, got ",
           module.short_description());
  TensorMap out;
  flatten_module(module, "", include_non_persistent_buffers, out, 0);
  return out;
}

TensorMap tensors_from_tree(const Value& root) {
  TensorMap out;
  const Value* sd = root.kind == K::dict ? root.find("state_dict") : nullptr;
  if (sd && (sd->kind == K::dict || sd->is_module_record()))
    collect(*sd, "", out, 0);  // a Lightning checkpoint: the weights only
  else
    collect(root, "", out, 0);
  return out;
}

}  // namespace cj::io
