#include "tensor/io/pickle_globals.hpp"

#include <algorithm>
#include <cstring>

#include "tensor/io/byte_reader.hpp"

namespace cj::io::detail {

namespace {

using K = Value::Kind;

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

// ---- argument checking ---------------------------------------------------------------------------

struct Call {
  const std::string& source;
  const std::string& name;
  const Value& args;

  template <typename... Args>
  [[noreturn]] void error(const Args&... pieces) const {
    fail(source, ": pickle calls ", name, ": ", pieces...);
  }
  const Value& item(std::size_t i) const {
    if (i >= args.items.size()) error("expected at least ", i + 1, " arguments, got ", args.items.size());
    return *args.items[i];
  }
  const Value& arg(std::size_t i, K kind) const {
    const Value& v = item(i);
    if (v.kind != kind) error("argument ", i, " must be a ", kind_name(kind), ", got ", v.short_description());
    return v;
  }
  std::size_t count() const { return args.items.size(); }
  Shape int_tuple(std::size_t i) const {
    const Value& v = item(i);
    if (v.kind != K::tuple && v.kind != K::list) error("argument ", i, " must be a tuple of ints, got ", v.short_description());
    Shape out;
    for (const Value* x : v.items) {
      if (x->kind != K::integer) error("argument ", i, " must be a tuple of ints, got an element ", x->short_description());
      out.push_back(x->integer);
    }
    return out;
  }
};

// ---- torch tensors -------------------------------------------------------------------------------

// _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
Value* rebuild_tensor(PickleTree& tree, const Call& c) {
  const Value& storage = c.arg(0, K::storage);
  int64_t offset = c.arg(1, K::integer).integer;
  if (c.count() < 4) c.error("expected (storage, offset, size, stride, ...), got ", c.count(), " arguments");
  Shape size = c.int_tuple(2), stride = c.int_tuple(3);
  if (size.size() != stride.size()) c.error("size ", size, " and stride ", stride, " differ in length");
  const std::string what = c.source + ": tensor in storage '" + storage.text + "'";
  int64_t numel = checked_numel(size, what);
  const int64_t capacity = int64_t(storage.storage->nbytes() / dtype_size(storage.storage_dtype));
  if (offset < 0) c.error("negative storage offset ", offset);
  if (numel > 0) {
    int64_t last = offset;  // the furthest element the view reaches
    for (std::size_t d = 0; d < size.size(); ++d) {
      if (stride[d] < 0) c.error("negative stride in ", stride);
      int64_t reach = 0;
      if (__builtin_mul_overflow(size[d] - 1, stride[d], &reach) || __builtin_add_overflow(last, reach, &last))
        c.error("size ", size, " with stride ", stride, " overflows");
    }
    if (last >= capacity)
      c.error("a view with size ", size, ", stride ", stride, " and offset ", offset, " reaches element ", last,
              " of storage '", storage.text, "' which holds ", capacity, " elements");
  }
  Value* t = tree.make(K::tensor);
  t->tensor = Tensor::make(storage.storage, storage.storage_dtype, size, stride, offset);
  t->requires_grad = c.count() > 4 && c.args.items[4]->kind == K::boolean && c.args.items[4]->boolean;
  return t;
}

// _rebuild_parameter(data, requires_grad, backward_hooks[, state])
Value* rebuild_parameter(PickleTree& tree, const Call& c) {
  const Value& data = c.arg(0, K::tensor);
  Value* t = tree.make(K::tensor);
  t->tensor = data.tensor;
  t->requires_grad = c.count() > 1 && c.args.items[1]->kind == K::boolean && c.args.items[1]->boolean;
  return t;
}

// ---- numpy ---------------------------------------------------------------------------------------

struct NumpyType {
  DType dtype;
  bool byteswap;
};

// numpy.dtype('f4', align, copy) completed by BUILD (3, '<', ...): the element type and byte order.
NumpyType numpy_type(const Call& c, const Value& dtype) {
  if (dtype.kind != K::object || dtype.text != "numpy.dtype" || !dtype.args || dtype.args->items.empty() ||
      dtype.args->items[0]->kind != K::string)
    c.error("expected a numpy.dtype, got ", dtype.short_description());
  const std::string& code = dtype.args->items[0]->text;
  static const std::pair<const char*, DType> kCodes[] = {{"f2", DType::f16}, {"f4", DType::f32}, {"f8", DType::f64},
                                                         {"i4", DType::i32}, {"i8", DType::i64}, {"u1", DType::u8},
                                                         {"b1", DType::b8}};
  for (const auto& [name, d] : kCodes) {
    if (code != name) continue;
    std::string order = "|";
    if (dtype.state && dtype.state->kind == K::tuple && dtype.state->items.size() > 1 &&
        dtype.state->items[1]->kind == K::string)
      order = dtype.state->items[1]->text;
    return {d, order == ">" && dtype_size(d) > 1};
  }
  c.error("numpy dtype '", code, "' has no cj dtype (supported: f2, f4, f8, i4, i8, u1, b1)");
}

// A tensor holding a copy of `bytes` laid out as a C- or Fortran-ordered array of `shape`.
Tensor numpy_tensor(const Call& c, const NumpyType& type, const Shape& shape, const std::string& bytes, bool fortran) {
  int64_t numel = checked_numel(shape, c.source + ": numpy array");
  const std::size_t esize = dtype_size(type.dtype);
  uint64_t expected = 0;
  if (__builtin_mul_overflow(uint64_t(numel), uint64_t(esize), &expected) || expected != bytes.size())
    c.error("numpy array of shape ", shape, " and ", dtype_name(type.dtype), " needs ", uint64_t(numel) * esize,
            " bytes, the pickle holds ", bytes.size());
  auto storage = Storage::allocate(bytes.size(), Device::cpu());
  if (!bytes.empty()) std::memcpy(storage->data(), bytes.data(), bytes.size());
  if (type.byteswap) {
    auto* p = static_cast<uint8_t*>(storage->data());
    for (std::size_t i = 0; i < bytes.size(); i += esize) std::reverse(p + i, p + i + esize);
  }
  Shape strides = contiguous_strides(shape);
  if (fortran) {  // column-major: the first dim varies fastest
    int64_t s = 1;
    for (std::size_t d = 0; d < shape.size(); ++d) {
      strides[d] = s;
      s *= std::max<int64_t>(shape[d], 1);
    }
  }
  return Tensor::make(std::move(storage), type.dtype, shape, strides, 0);
}

// numpy.core.numeric._frombuffer(buffer, dtype, shape, order): protocol 5's in-band arrays.
Value* numpy_frombuffer(PickleTree& tree, const Call& c) {
  const Value& buffer = c.arg(0, K::bytes);
  NumpyType type = numpy_type(c, c.item(1));
  if (c.count() < 4) c.error("expected (buffer, dtype, shape, order)");
  Shape shape = c.int_tuple(2);
  const std::string& order = c.arg(3, K::string).text;
  Value* t = tree.make(K::tensor);
  t->tensor = numpy_tensor(c, type, shape, buffer.text, order == "F");
  return t;
}

// numpy.core.multiarray.scalar(dtype, bytes): a numpy scalar becomes a 0-d tensor.
Value* numpy_scalar(PickleTree& tree, const Call& c) {
  if (c.count() < 2) c.error("expected (dtype, bytes)");
  NumpyType type = numpy_type(c, *c.args.items[0]);
  const Value& bytes = c.arg(1, K::bytes);
  Value* t = tree.make(K::tensor);
  t->tensor = numpy_tensor(c, type, {}, bytes.text, false);
  return t;
}

// ---- containers and small values -----------------------------------------------------------------

Value* make_record(PickleTree& tree, const std::string& cls, Value* args) {
  Value* r = tree.make(K::object);
  r->text = cls;
  r->args = args;
  return r;
}

// Python 2 bytes: _codecs.encode(u'\x00\x80...', 'latin1') — each code point below 256 is one byte.
Value* latin1_bytes(PickleTree& tree, const Call& c) {
  const std::string& text = c.arg(0, K::string).text;
  std::string encoding = c.count() > 1 ? c.arg(1, K::string).text : "utf-8";
  Value* b = tree.make(K::bytes);
  if (encoding != "latin1" && encoding != "latin-1") {
    if (encoding != "utf-8" && encoding != "utf8") c.error("unsupported encoding '", encoding, "'");
    b->text = text;
    return b;
  }
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto u = static_cast<uint8_t>(text[i]);
    if (u < 0x80) {
      b->text += char(u);
    } else if ((u & 0xE0) == 0xC0 && i + 1 < text.size()) {  // two-byte UTF-8: U+0080..U+07FF
      unsigned cp = (u & 0x1Fu) << 6 | (static_cast<uint8_t>(text[++i]) & 0x3Fu);
      if (cp > 0xFF) c.error("code point U+", std::hex, cp, " does not fit latin-1");
      b->text += char(cp);
    } else {
      c.error("string is not latin-1 encodable");
    }
  }
  return b;
}

Value* make_dict(PickleTree& tree, const Call& c, const char* label) {
  Value* d = tree.make(K::dict);
  d->text = label;
  if (c.count() > 0) {  // OrderedDict([(k, v), ...])
    const Value& pairs = *c.args.items[0];
    if (pairs.kind != K::list && pairs.kind != K::tuple) c.error("expected a list of (key, value) pairs");
    for (const Value* p : pairs.items) {
      if ((p->kind != K::tuple && p->kind != K::list) || p->items.size() != 2) c.error("expected (key, value) pairs");
      d->set_item(p->items[0], p->items[1]);
    }
  }
  return d;
}

}  // namespace

std::string canonical_global(const std::string& module, const std::string& name) {
  std::string m = module;
  if (m == "__builtin__") m = "builtins";
  if (m == "copy_reg") m = "copyreg";
  if (m == "numpy._core" || starts_with(m, "numpy._core.")) m = "numpy.core" + m.substr(11);
  return m + "." + name;
}

bool is_dangerous_global(const std::string& canonical) {
  static const char* kModules[] = {"os.", "posix.", "nt.", "subprocess.", "sys.", "shutil.", "socket.", "importlib.",
                                   "runpy.", "pty.", "ctypes.", "multiprocessing.", "code.", "codeop.", "pickle.",
                                   "_pickle.", "marshal.", "webbrowser.", "signal.", "asyncio.", "_posixsubprocess.",
                                   "tempfile.", "io.", "_io.", "pathlib.", "glob.", "threading.", "_thread."};
  for (const char* m : kModules)
    if (starts_with(canonical, m)) return true;
  static const char* kBuiltins[] = {"eval", "exec", "compile", "open", "__import__", "getattr", "setattr", "delattr",
                                    "globals", "locals", "vars", "input", "breakpoint", "exit", "quit", "help",
                                    "apply", "execfile", "file", "reload"};
  for (const char* b : kBuiltins)
    if (canonical == std::string("builtins.") + b) return true;
  return false;
}

Value* call_global(PickleTree& tree, const std::string& source, const Value& callable, Value& args,
                   bool unknown_as_record) {
  const std::string& name = callable.text;
  Call c{source, name, args};
  if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") return rebuild_tensor(tree, c);
  if (name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state")
    return rebuild_parameter(tree, c);
  if (name == "torch._tensor._rebuild_from_type_v2") {  // (func, type, args, state): a tensor subclass
    const Value& func = c.arg(0, K::global);
    c.arg(2, K::tuple);
    if (func.text == name) c.error("refers to itself");
    return call_global(tree, source, func, *args.items[2], unknown_as_record);
  }
  if (name == "collections.OrderedDict") return make_dict(tree, c, "OrderedDict");
  if (name == "builtins.dict") return make_dict(tree, c, "");
  if (name == "builtins.set" || name == "builtins.frozenset") {
    Value* s = tree.make(K::set);
    if (c.count() > 0) {
      const Value& items = *args.items[0];
      if (items.kind != K::list && items.kind != K::tuple && items.kind != K::set) c.error("expected a list of items");
      s->items = items.items;
    }
    return s;
  }
  if (name == "_codecs.encode" || name == "builtins.bytearray") {
    if (c.count() == 0) return tree.make(K::bytes);
    return latin1_bytes(tree, c);
  }
  if (name == "torch.Size") {
    Value* t = tree.make(K::tuple);
    c.int_tuple(0);  // checks the sizes are ints
    t->items = args.items[0]->items;
    return t;
  }
  if (name == "torch.device") return make_record(tree, name, &args);
  if (name == "copyreg._reconstructor") {  // (cls, base, state): an instance of cls, never initialised
    const Value& cls = c.arg(0, K::global);
    return new_object(tree, source, cls, &args);
  }
  if (name == "numpy.core.multiarray._reconstruct") {  // (ndarray, (0,), b'b'): completed by BUILD
    const Value& cls = c.arg(0, K::global);
    if (cls.text != "numpy.ndarray") c.error("only numpy.ndarray is supported, got ", cls.text);
    return make_record(tree, "numpy.ndarray", &args);
  }
  if (name == "numpy.dtype") {
    c.arg(0, K::string);
    return make_record(tree, name, &args);
  }
  if (name == "numpy.core.multiarray.scalar") return numpy_scalar(tree, c);
  if (name == "numpy.core.numeric._frombuffer") return numpy_frombuffer(tree, c);
  if (unknown_as_record) {
    Value* r = make_record(tree, name, &args);
    r->from_call = true;
    return r;
  }
  fail(source, ": refusing to load: the pickle calls '", name,
       "', which is not one of the tensor, numpy or container constructors a checkpoint needs (nothing was executed; "
       "--lenient / unknown_calls_as_records records such calls inertly)");
}

Value* new_object(PickleTree& tree, const std::string& source, const Value& cls, Value* args) {
  if (cls.text == "collections.OrderedDict" || cls.text == "builtins.dict") {
    Value* d = tree.make(K::dict);
    d->text = cls.text == "builtins.dict" ? "" : "OrderedDict";
    return d;
  }
  if (cls.text == "builtins.set" || cls.text == "builtins.frozenset") return tree.make(K::set);
  if (cls.text == "builtins.list") return tree.make(K::list);
  return make_record(tree, cls.text, args);
}

void build(PickleTree& tree, const std::string& source, Value& target, Value* state) {
  if (target.kind == K::object && target.text == "numpy.ndarray" && target.state == nullptr) {
    // state: (version, shape, dtype, is_fortran, raw bytes); older numpy omits the version.
    if (state->kind != K::tuple || state->items.size() < 4) fail(source, ": numpy array BUILD state is not a tuple");
    std::size_t i = state->items.size() >= 5 ? 1 : 0;
    Value args;  // the state items, checked like call arguments
    args.kind = K::tuple;
    args.items.assign(state->items.begin() + i, state->items.end());
    Call c{source, target.text, args};
    Shape shape = c.int_tuple(0);
    NumpyType type = numpy_type(c, *args.items[1]);
    bool fortran = c.arg(2, K::boolean).boolean;
    if (args.items[3]->kind != K::bytes && args.items[3]->kind != K::string)
      c.error("object arrays (dtype=object) are not supported");
    target.tensor = numpy_tensor(c, type, shape, args.items[3]->text, fortran);
    target.kind = K::tensor;
    target.args = nullptr;
    target.text.clear();
    return;
  }
  switch (target.kind) {
    case K::object:
      // (instance dict, slots dict) from objects with __slots__: merge into one attribute dict.
      if (state->kind == K::tuple && state->items.size() == 2 &&
          (state->items[0]->kind == K::dict || state->items[0]->kind == K::none) && state->items[1]->kind == K::dict) {
        Value* merged = tree.make(K::dict);
        for (const Value* part : state->items)
          if (part->kind == K::dict)
            for (const auto& [k, v] : part->entries) merged->set_item(k, v);
        state = merged;
      }
      target.state = state;
      return;
    case K::dict:
    case K::tensor:
    case K::set:
    case K::list:
      target.state = state;  // attributes of a subclass (e.g. a state dict's _metadata): kept, not applied
      return;
    default:
      fail(source, ": pickle BUILD on a ", kind_name(target.kind), " (malformed pickle)");
  }
}

}  // namespace cj::io::detail
