#include "tensor/io/pickle_value.hpp"

#include <sstream>

namespace cj::io {

const char* kind_name(Value::Kind kind) {
  switch (kind) {
    case Value::Kind::none: return "None";
    case Value::Kind::boolean: return "bool";
    case Value::Kind::integer: return "int";
    case Value::Kind::floating: return "float";
    case Value::Kind::string: return "str";
    case Value::Kind::bytes: return "bytes";
    case Value::Kind::list: return "list";
    case Value::Kind::tuple: return "tuple";
    case Value::Kind::dict: return "dict";
    case Value::Kind::set: return "set";
    case Value::Kind::tensor: return "tensor";
    case Value::Kind::global: return "global";
    case Value::Kind::object: return "object";
    case Value::Kind::storage: return "storage";
  }
  return "?";
}

const Value* Value::find(const std::string& key) const {
  if (kind != Kind::dict && kind != Kind::object) return nullptr;
  if (auto it = key_index_.find("s" + key); it != key_index_.end()) return entries[it->second].second;
  // A record's attributes live in its BUILD state (its own entries are those of a dict subclass).
  if (kind == Kind::object && state && state->kind == Kind::dict) return state->find(key);
  return nullptr;
}

void Value::set_item(Value* key, Value* value) {
  std::string index_key;
  if (key->kind == Kind::string) index_key = "s" + key->text;
  if (key->kind == Kind::integer) index_key = "i" + std::to_string(key->integer);
  if (!index_key.empty()) {
    auto [it, fresh] = key_index_.emplace(index_key, entries.size());
    if (!fresh) {
      entries[it->second].second = value;
      return;
    }
  }
  entries.emplace_back(key, value);
}

const Value& Value::at(const std::string& key) const {
  const Value* v = find(key);
  CJ_CHECK(v != nullptr, "pickle: ", short_description(), " has no key '", key, "'");
  return *v;
}

bool Value::is_module_record() const {
  if (kind != Kind::object) return false;
  for (const char* key : {"_parameters", "_buffers", "_modules"}) {
    const Value* v = find(key);
    if (!v || v->kind != Kind::dict) return false;
  }
  return true;
}

std::string Value::short_description() const {
  std::ostringstream os;
  switch (kind) {
    case Kind::none: return "None";
    case Kind::boolean: return boolean ? "True" : "False";
    case Kind::integer: return std::to_string(integer);
    case Kind::floating: os << floating; return os.str();
    case Kind::string:
      return "'" + (text.size() > 60 ? text.substr(0, 57) + "..." : text) + "'";
    case Kind::bytes: return "bytes (" + std::to_string(text.size()) + ")";
    case Kind::list: return "list (" + std::to_string(items.size()) + " items)";
    case Kind::tuple: return "tuple (" + std::to_string(items.size()) + " items)";
    case Kind::set: return "set (" + std::to_string(items.size()) + " items)";
    case Kind::dict:
      return (text.empty() ? "dict" : text) + " (" + std::to_string(entries.size()) + " entries)";
    case Kind::tensor:
      return std::string(tensor.defined() ? "tensor " : "tensor") +
             (tensor.defined() ? std::string(dtype_name(tensor.dtype())) + " " + shape_str(tensor.shape()) : "");
    case Kind::global: return "global " + text;
    case Kind::object: return "object " + text + (is_module_record() ? " (module)" : from_call ? " (call, not made)" : "");
    case Kind::storage: return "storage";
  }
  return "?";
}

const Value& PickleTree::root() const {
  CJ_CHECK(root_ != nullptr, "pickle: empty value tree");
  return *root_;
}

Value* PickleTree::make(Value::Kind kind) {
  nodes_.push_back(std::make_unique<Value>());
  nodes_.back()->kind = kind;
  return nodes_.back().get();
}

namespace {

void outline(std::ostringstream& os, const std::string& label, const Value& v, int depth, int max_depth,
             int max_items) {
  std::string indent(2 * depth, ' ');
  os << indent << label << v.short_description() << "\n";
  if (depth >= max_depth) return;
  auto more = [&](std::size_t total) {
    if (total > std::size_t(max_items)) os << indent << "  ... " << total - max_items << " more\n";
  };
  const Value* shown = &v;
  if (v.kind == Value::Kind::object && v.state) shown = v.state;  // a record's attributes
  if (shown->kind == Value::Kind::dict) {
    int n = 0;
    for (const auto& [k, child] : shown->entries) {
      if (n++ == max_items) break;
      outline(os, k->short_description() + ": ", *child, depth + 1, max_depth, max_items);
    }
    more(shown->entries.size());
  } else if (shown->kind == Value::Kind::list || shown->kind == Value::Kind::tuple ||
             shown->kind == Value::Kind::set) {
    int n = 0;
    for (const Value* child : shown->items) {
      if (n == max_items) break;
      outline(os, "[" + std::to_string(n++) + "] ", *child, depth + 1, max_depth, max_items);
    }
    more(shown->items.size());
  }
}

}  // namespace

std::string PickleTree::summary(int max_depth, int max_items) const {
  std::ostringstream os;
  outline(os, "", root(), 0, max_depth, max_items);
  return os.str();
}

}  // namespace cj::io
