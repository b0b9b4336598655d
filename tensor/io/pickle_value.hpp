#pragma once
// The inert value tree a restricted unpickle produces: Python's None/bool/int/float/str/bytes/list/
// tuple/dict/set, tensors, references to globals (torch.float32, a class) and records of objects
// that were never constructed (class name + constructor arguments + BUILD state).
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tensor/tensor.hpp"

namespace cj::io {

// One node. Nodes are owned by their PickleTree and point at each other with plain pointers (a pickle
// may share one object from several places, or even build a cycle), valid while the tree lives.
struct Value {
  enum class Kind : uint8_t {
    none, boolean, integer, floating, string, bytes, list, tuple, dict, set,
    tensor,   // torch tensor (from _rebuild_tensor_v2) or numpy array
    global,   // a reference to module.name that was not called (a dtype, a class)
    object,   // an instance record: class `name`, constructor `args`, BUILD `state`
    storage,  // a torch storage from a persistent id (only seen inside _rebuild_tensor_v2's arguments)
  };
  Kind kind = Kind::none;
  bool boolean = false;
  int64_t integer = 0;
  double floating = 0;
  std::string text;   // string / bytes contents; global and object: "module.qualname"
  std::vector<Value*> items;                       // list, tuple, set; object: APPENDed items
  std::vector<std::pair<Value*, Value*>> entries;  // dict, in insertion order; object: SETITEMS
  Value* args = nullptr;   // object: the constructor's argument tuple
  Value* state = nullptr;  // object, dict or tensor: the BUILD state (e.g. a module's __dict__)
  Tensor tensor;
  bool requires_grad = false;  // tensor rebuilt as nn.Parameter(requires_grad=True)
  bool from_call = false;      // object recorded (not made) from a call outside the allow-list (lenient mode)
  std::shared_ptr<Storage> storage;
  DType storage_dtype = DType::u8;

  bool is(Kind k) const { return kind == k; }
  // For a dict, or an object (its dict-subclass items, then its state dict): the value under a string
  // key, or null.
  const Value* find(const std::string& key) const;
  const Value& at(const std::string& key) const;  // throws cj::Error naming the key when absent
  // An object whose state has the attributes nn.Module pickles (_parameters, _buffers, _modules).
  bool is_module_record() const;
  std::string short_description() const;  // "dict (3 entries)", "tensor float32 [3, 4]", "'abc'", ...

  // dict (or object) item assignment with Python semantics: a key seen before (str or int) keeps its
  // position and takes the new value.
  void set_item(Value* key, Value* value);

 private:
  std::unordered_map<std::string, std::size_t> key_index_;  // "s<str>" / "i<int>" -> position in entries
};

const char* kind_name(Value::Kind kind);

class PickleTree {
 public:
  PickleTree() = default;
  PickleTree(PickleTree&&) = default;
  PickleTree& operator=(PickleTree&&) = default;

  const Value& root() const;
  // Indented outline of the tree, `max_depth` levels deep and `max_items` children per container.
  std::string summary(int max_depth = 4, int max_items = 12) const;

  // Used while unpickling.
  Value* make(Value::Kind kind);
  void set_root(Value* root) { root_ = root; }

 private:
  std::vector<std::unique_ptr<Value>> nodes_;
  Value* root_ = nullptr;
};

}  // namespace cj::io
