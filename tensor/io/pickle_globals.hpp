#pragma once
// What the restricted unpickler does with globals: which names it refuses on sight, and how the few
// allow-listed callables (tensor rebuilders, containers, numpy) turn their arguments into values.
// Internal to tensor/io.
#include <string>

#include "tensor/io/pickle_value.hpp"

namespace cj::io::detail {

// "module.name" with Python 2 spellings (__builtin__, copy_reg) and numpy 2's numpy._core mapped to one
// canonical form, so the allow-list names each callable once.
std::string canonical_global(const std::string& module, const std::string& name);

// True for globals that can run code or touch the system (os.*, posix.*, subprocess.*, builtins.eval,
// ...): the unpickler refuses them as soon as they are named.
bool is_dangerous_global(const std::string& canonical);

// Applies an allow-listed callable to its argument tuple (REDUCE, INST, OBJ). Throws cj::Error
// naming `source` and the global when the callable is not allowed (unless `unknown_as_record`: then
// an inert record of the call) or its arguments are malformed.
Value* call_global(PickleTree& tree, const std::string& source, const Value& callable, Value& args,
                   bool unknown_as_record);

// NEWOBJ: cls.__new__(cls, *args) without running anything: a container for builtin container
// classes, otherwise an object record.
Value* new_object(PickleTree& tree, const std::string& source, const Value& cls, Value* args);

// BUILD: applies `state` to `target` (numpy arrays and dtypes are completed here; records keep it).
void build(PickleTree& tree, const std::string& source, Value& target, Value* state);

}  // namespace cj::io::detail
