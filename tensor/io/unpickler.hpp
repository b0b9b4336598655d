#pragma once
// A restricted unpickler (protocols 0-5 opcodes, as protocols 2-5 write them) that never executes
// anything: it builds an inert PickleTree. Only the constructors state dicts, whole-module pickles
// and numpy arrays need are interpreted (tensors, parameters, OrderedDict, set, torch.device,
// torch.Size, numpy arrays/dtypes/scalars, latin-1 bytes); any other class seen through NEWOBJ or
// copyreg._reconstructor becomes an inert object record; a pickle that calls anything else through
// REDUCE/INST/OBJ, or that names a global able to run code (os.system, builtins.eval, subprocess.*,
// ...), is refused with a cj::Error naming the global.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "tensor/io/pickle_value.hpp"

namespace cj::io {

struct UnpickleOptions {
  std::string source;  // what to name in error messages, e.g. "model.pt (model/data.pkl)"
  // Resolves a torch persistent id ('storage', torch.<T>Storage, key, location, numel) to the bytes
  // of archive/data/<key>; when empty, a persistent id is an error (a plain pickle has none).
  std::function<std::shared_ptr<Storage>(const std::string& key, DType dtype, int64_t numel)> load_storage;
  // Lenient mode: a REDUCE/INST/OBJ call of a global outside the allow-list (functools.partial in saved
  // hyper-parameters, an enum, a pathlib path) becomes an inert object record marked `from_call`
  // instead of an error. Globals that can run code are refused either way; nothing is ever executed.
  bool unknown_calls_as_records = false;
};

PickleTree unpickle(const uint8_t* data, std::size_t size, const UnpickleOptions& options);

}  // namespace cj::io
