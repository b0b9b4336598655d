#include "tensor/io/unpickler.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unordered_map>
#include <vector>

#include "tensor/io/byte_reader.hpp"
#include "tensor/io/pickle_globals.hpp"

namespace cj::io {

namespace {

// Opcode bytes (Python's Lib/pickle.py), grouped by the protocol that introduced them.
enum Op : uint8_t {
  MARK = '(', STOP = '.', POP = '0', POP_MARK = '1', DUP = '2', FLOAT = 'F', INT = 'I', BININT = 'J',
  BININT1 = 'K', LONG = 'L', BININT2 = 'M', NONE = 'N', PERSID = 'P', BINPERSID = 'Q', REDUCE = 'R',
  STRING = 'S', BINSTRING = 'T', SHORT_BINSTRING = 'U', UNICODE = 'V', BINUNICODE = 'X', APPEND = 'a',
  BUILD = 'b', GLOBAL = 'c', DICT = 'd', EMPTY_DICT = '}', APPENDS = 'e', GET = 'g', BINGET = 'h', INST = 'i',
  LONG_BINGET = 'j', LIST = 'l', EMPTY_LIST = ']', OBJ = 'o', PUT = 'p', BINPUT = 'q', LONG_BINPUT = 'r',
  SETITEM = 's', TUPLE = 't', EMPTY_TUPLE = ')', SETITEMS = 'u', BINFLOAT = 'G',
  // protocol 2
  PROTO = 0x80, NEWOBJ = 0x81, EXT1 = 0x82, EXT2 = 0x83, EXT4 = 0x84, TUPLE1 = 0x85, TUPLE2 = 0x86,
  TUPLE3 = 0x87, NEWTRUE = 0x88, NEWFALSE = 0x89, LONG1 = 0x8a, LONG4 = 0x8b,
  // protocol 3
  BINBYTES = 'B', SHORT_BINBYTES = 'C',
  // protocol 4
  SHORT_BINUNICODE = 0x8c, BINUNICODE8 = 0x8d, BINBYTES8 = 0x8e, EMPTY_SET = 0x8f, ADDITEMS = 0x90,
  FROZENSET = 0x91, NEWOBJ_EX = 0x92, STACK_GLOBAL = 0x93, MEMOIZE = 0x94, FRAME = 0x95,
  // protocol 5
  BYTEARRAY8 = 0x96, NEXT_BUFFER = 0x97, READONLY_BUFFER = 0x98,
};

const char* op_name(uint8_t op) {
  switch (op) {
#define CJ_OP(name) case name: return #name;
    CJ_OP(MARK) CJ_OP(STOP) CJ_OP(POP) CJ_OP(POP_MARK) CJ_OP(DUP) CJ_OP(FLOAT) CJ_OP(INT) CJ_OP(BININT)
    CJ_OP(BININT1) CJ_OP(LONG) CJ_OP(BININT2) CJ_OP(NONE) CJ_OP(PERSID) CJ_OP(BINPERSID) CJ_OP(REDUCE)
    CJ_OP(STRING) CJ_OP(BINSTRING) CJ_OP(SHORT_BINSTRING) CJ_OP(UNICODE) CJ_OP(BINUNICODE) CJ_OP(APPEND)
    CJ_OP(BUILD) CJ_OP(GLOBAL) CJ_OP(DICT) CJ_OP(EMPTY_DICT) CJ_OP(APPENDS) CJ_OP(GET) CJ_OP(BINGET) CJ_OP(INST)
    CJ_OP(LONG_BINGET) CJ_OP(LIST) CJ_OP(EMPTY_LIST) CJ_OP(OBJ) CJ_OP(PUT) CJ_OP(BINPUT) CJ_OP(LONG_BINPUT)
    CJ_OP(SETITEM) CJ_OP(TUPLE) CJ_OP(EMPTY_TUPLE) CJ_OP(SETITEMS) CJ_OP(BINFLOAT) CJ_OP(PROTO) CJ_OP(NEWOBJ)
    CJ_OP(EXT1) CJ_OP(EXT2) CJ_OP(EXT4) CJ_OP(TUPLE1) CJ_OP(TUPLE2) CJ_OP(TUPLE3) CJ_OP(NEWTRUE) CJ_OP(NEWFALSE)
    CJ_OP(LONG1) CJ_OP(LONG4) CJ_OP(BINBYTES) CJ_OP(SHORT_BINBYTES) CJ_OP(SHORT_BINUNICODE) CJ_OP(BINUNICODE8)
    CJ_OP(BINBYTES8) CJ_OP(EMPTY_SET) CJ_OP(ADDITEMS) CJ_OP(FROZENSET) CJ_OP(NEWOBJ_EX) CJ_OP(STACK_GLOBAL)
    CJ_OP(MEMOIZE) CJ_OP(FRAME) CJ_OP(BYTEARRAY8) CJ_OP(NEXT_BUFFER) CJ_OP(READONLY_BUFFER)
#undef CJ_OP
  }
  return nullptr;
}

class Unpickler {
 public:
  Unpickler(const uint8_t* data, std::size_t size, const UnpickleOptions& options)
      : in_(data, size, options.source), options_(options) {}

  PickleTree run() {
    while (true) {
      CJ_CHECK(!in_.at_end(), options_.source, ": pickle ends at byte ", in_.pos(),
               " without a STOP opcode; the file is truncated");
      op_pos_ = in_.pos();
      op_ = in_.u8();
      if (op_ == STOP) break;
      step();
    }
    tree_.set_root(pop());
    return std::move(tree_);
  }

 private:
  template <typename... Args>
  [[noreturn]] void error(const Args&... pieces) {
    char code[8];
    std::snprintf(code, sizeof code, "0x%02x", op_);
    const char* name = op_name(op_);
    fail(options_.source, ": pickle opcode ", name ? name : code, " at byte ", op_pos_, ": ", pieces...);
  }

  Value* make(Value::Kind kind) { return tree_.make(kind); }
  Value* make_int(int64_t v) {
    Value* x = make(Value::Kind::integer);
    x->integer = v;
    return x;
  }
  Value* make_text(Value::Kind kind, std::string s) {
    Value* x = make(kind);
    x->text = std::move(s);
    return x;
  }
  Value* make_tuple(std::vector<Value*> items) {
    Value* t = make(Value::Kind::tuple);
    t->items = std::move(items);
    return t;
  }

  void push(Value* v) { stack_.push_back(v); }
  Value* pop() {
    if (stack_.size() <= floor()) error("stack underflow (malformed pickle)");
    Value* v = stack_.back();
    stack_.pop_back();
    return v;
  }
  Value* top() {
    if (stack_.size() <= floor()) error("stack underflow (malformed pickle)");
    return stack_.back();
  }
  std::size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  std::vector<Value*> pop_mark() {
    if (marks_.empty()) error("no MARK on the stack (malformed pickle)");
    std::size_t m = marks_.back();
    marks_.pop_back();
    std::vector<Value*> items(stack_.begin() + m, stack_.end());
    stack_.resize(m);
    return items;
  }

  void memo_put(uint64_t key) { memo_[key] = top(); }
  void memo_get(uint64_t key) {
    auto it = memo_.find(key);
    if (it == memo_.end()) error("memo key ", key, " was never stored (malformed pickle)");
    push(it->second);
  }

  uint64_t text_memo_key() {  // protocol 0's PUT/GET spell the key in decimal
    bool ok = false;
    int64_t k = parse_decimal(in_.line(), &ok);
    if (!ok || k < 0) error("bad memo key");
    return uint64_t(k);
  }

  std::size_t length(uint64_t n) {
    if (n > in_.remaining()) error("declares ", n, " bytes but only ", in_.remaining(), " remain; the file is truncated");
    return static_cast<std::size_t>(n);
  }

  static int64_t parse_decimal(const std::string& s, bool* ok) {
    char* end = nullptr;
    errno = 0;
    long long v = std::strtoll(s.c_str(), &end, 10);
    *ok = !s.empty() && end && (*end == '\0' || (*end == 'L' && end[1] == '\0')) && errno != ERANGE;
    return v;
  }

  // LONG1/LONG4: little-endian two's complement of n bytes.
  Value* make_long(std::size_t n) {
    const uint8_t* p = in_.take(n);
    if (n > 8) error("integer of ", n, " bytes does not fit in 64 bits");
    uint64_t u = 0;
    for (std::size_t i = 0; i < n; ++i) u |= uint64_t(p[i]) << (8 * i);
    if (n > 0 && n < 8 && (p[n - 1] & 0x80)) u |= ~uint64_t(0) << (8 * n);  // sign-extend
    int64_t v;
    std::memcpy(&v, &u, 8);
    return make_int(v);
  }

  void add_global(const std::string& module, const std::string& name) {
    if (module.empty() || name.empty()) error("empty module or name in a global reference");
    std::string canonical = detail::canonical_global(module, name);
    if (detail::is_dangerous_global(canonical))
      error("refusing to load: the pickle references '", module, ".", name,
            "', which can run code or touch the system (nothing was executed)");
    push(make_text(Value::Kind::global, canonical));
  }

  void set_item(Value& dict, Value* key, Value* value) {
    if (dict.kind != Value::Kind::dict && dict.kind != Value::Kind::object)
      error("SETITEM(S) on a ", kind_name(dict.kind), ", expected a dict");
    dict.set_item(key, value);
  }

  void append_items(Value& target, const std::vector<Value*>& items) {
    if (target.kind != Value::Kind::list && target.kind != Value::Kind::object && target.kind != Value::Kind::set)
      error("APPEND(S) on a ", kind_name(target.kind), ", expected a list");
    target.items.insert(target.items.end(), items.begin(), items.end());
  }

  void persistent_load(Value* pid) {
    if (!options_.load_storage)
      error("a persistent id (a torch storage) in a plain pickle: this is torch's legacy (pre-1.6) format or not a "
            "file we can read; re-save it with torch.save");
    // ('storage', torch.FloatStorage, key, location, numel)
    if (pid->kind != Value::Kind::tuple || pid->items.size() < 5 || pid->items[0]->kind != Value::Kind::string ||
        pid->items[0]->text != "storage" || pid->items[1]->kind != Value::Kind::global ||
        pid->items[2]->kind != Value::Kind::string || pid->items[4]->kind != Value::Kind::integer)
      error("persistent id is not ('storage', torch.<T>Storage, key, location, numel)");
    const std::string& type = pid->items[1]->text;
    static const std::pair<const char*, DType> kStorageTypes[] = {
        {"torch.FloatStorage", DType::f32}, {"torch.DoubleStorage", DType::f64}, {"torch.HalfStorage", DType::f16},
        {"torch.BFloat16Storage", DType::bf16}, {"torch.LongStorage", DType::i64}, {"torch.IntStorage", DType::i32},
        {"torch.ByteStorage", DType::u8}, {"torch.BoolStorage", DType::b8}, {"torch.UntypedStorage", DType::u8}};
    const DType* dtype = nullptr;
    for (const auto& [name, d] : kStorageTypes)
      if (type == name) dtype = &d;
    if (!dtype) error("storage type '", type, "' has no cj dtype (supported: float32/64, float16, bfloat16, int32/64, uint8, bool)");
    int64_t numel = pid->items[4]->integer;
    if (numel < 0) error("negative storage size ", numel);
    Value* s = make(Value::Kind::storage);
    s->storage = options_.load_storage(pid->items[2]->text, *dtype, numel);
    s->storage_dtype = *dtype;
    s->text = pid->items[2]->text;
    push(s);
  }

  void step();

  ByteReader in_;
  const UnpickleOptions& options_;
  PickleTree tree_;
  std::vector<Value*> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<uint64_t, Value*> memo_;
  std::size_t op_pos_ = 0;
  uint8_t op_ = 0;
};

void Unpickler::step() {
  using K = Value::Kind;
  const std::string& src = options_.source;
  switch (op_) {
    case PROTO: {
      uint8_t v = in_.u8();
      if (v > 5) error("pickle protocol ", int(v), " is newer than 5, the highest this reader knows");
      return;
    }
    case FRAME: length(in_.u64le()); return;  // framing only groups opcodes; contents follow inline
    case MARK: marks_.push_back(stack_.size()); return;
    case POP: pop(); return;
    case POP_MARK: pop_mark(); return;
    case DUP: push(top()); return;

    case NONE: push(make(K::none)); return;
    case NEWTRUE: case NEWFALSE: {
      Value* b = make(K::boolean);
      b->boolean = op_ == NEWTRUE;
      push(b);
      return;
    }
    case BININT: push(make_int(in_.i32le())); return;
    case BININT1: push(make_int(in_.u8())); return;
    case BININT2: push(make_int(in_.u16le())); return;
    case LONG1: push(make_long(in_.u8())); return;
    case LONG4: {
      int32_t n = in_.i32le();
      if (n < 0) error("negative LONG4 length");
      push(make_long(length(uint64_t(n))));
      return;
    }
    case INT: case LONG: {
      std::string s = in_.line();
      if (op_ == INT && (s == "00" || s == "01")) {  // protocol 0 spells booleans this way
        Value* b = make(K::boolean);
        b->boolean = s == "01";
        push(b);
        return;
      }
      bool ok = false;
      int64_t v = parse_decimal(s, &ok);
      if (!ok) error("bad integer literal '", s, "'");
      push(make_int(v));
      return;
    }
    case BINFLOAT: {
      Value* f = make(K::floating);
      f->floating = in_.f64be();
      push(f);
      return;
    }
    case FLOAT: {
      std::string s = in_.line();
      char* end = nullptr;
      double d = std::strtod(s.c_str(), &end);
      if (s.empty() || *end != '\0') error("bad float literal '", s, "'");
      Value* f = make(K::floating);
      f->floating = d;
      push(f);
      return;
    }

    case SHORT_BINUNICODE: push(make_text(K::string, in_.bytes(in_.u8()))); return;
    case BINUNICODE: push(make_text(K::string, in_.bytes(length(in_.u32le())))); return;
    case BINUNICODE8: push(make_text(K::string, in_.bytes(length(in_.u64le())))); return;
    // Python 2 str: unpickled as str (Python 3's default encoding='ASCII').
    case SHORT_BINSTRING: push(make_text(K::string, in_.bytes(in_.u8()))); return;
    case BINSTRING: {
      int32_t n = in_.i32le();
      if (n < 0) error("negative BINSTRING length");
      push(make_text(K::string, in_.bytes(length(uint64_t(n)))));
      return;
    }
    case SHORT_BINBYTES: push(make_text(K::bytes, in_.bytes(in_.u8()))); return;
    case BINBYTES: push(make_text(K::bytes, in_.bytes(length(in_.u32le())))); return;
    case BINBYTES8: case BYTEARRAY8: push(make_text(K::bytes, in_.bytes(length(in_.u64le())))); return;
    case STRING: case UNICODE:
      error("protocol-0 text strings are not supported (re-save with pickle protocol 2 or newer)");
    case NEXT_BUFFER: error("out-of-band buffers (pickle protocol 5 buffer_callback) are not supported");
    case READONLY_BUFFER: top(); return;

    case EMPTY_LIST: push(make(K::list)); return;
    case EMPTY_TUPLE: push(make(K::tuple)); return;
    case EMPTY_DICT: push(make(K::dict)); return;
    case EMPTY_SET: push(make(K::set)); return;
    case LIST: {
      Value* l = make(K::list);
      l->items = pop_mark();
      push(l);
      return;
    }
    case TUPLE: push(make_tuple(pop_mark())); return;
    case TUPLE1: { Value* a = pop(); push(make_tuple({a})); return; }
    case TUPLE2: { Value* b = pop(); Value* a = pop(); push(make_tuple({a, b})); return; }
    case TUPLE3: { Value* c = pop(); Value* b = pop(); Value* a = pop(); push(make_tuple({a, b, c})); return; }
    case FROZENSET: {
      Value* s = make(K::set);
      s->items = pop_mark();
      push(s);
      return;
    }
    case DICT: {
      auto items = pop_mark();
      if (items.size() % 2) error("DICT with an odd number of items");
      Value* d = make(K::dict);
      for (std::size_t i = 0; i < items.size(); i += 2) set_item(*d, items[i], items[i + 1]);
      push(d);
      return;
    }
    case APPEND: { Value* v = pop(); append_items(*top(), {v}); return; }
    case APPENDS: case ADDITEMS: { auto items = pop_mark(); append_items(*top(), items); return; }
    case SETITEM: { Value* v = pop(); Value* k = pop(); set_item(*top(), k, v); return; }
    case SETITEMS: {
      auto items = pop_mark();
      if (items.size() % 2) error("SETITEMS with an odd number of items");
      Value* d = top();
      for (std::size_t i = 0; i < items.size(); i += 2) set_item(*d, items[i], items[i + 1]);
      return;
    }

    case PUT: memo_put(text_memo_key()); return;
    case BINPUT: memo_put(in_.u8()); return;
    case LONG_BINPUT: memo_put(in_.u32le()); return;
    case MEMOIZE: memo_put(memo_.size()); return;
    case GET: memo_get(text_memo_key()); return;
    case BINGET: memo_get(in_.u8()); return;
    case LONG_BINGET: memo_get(in_.u32le()); return;

    case GLOBAL: {
      std::string module = in_.line();
      std::string name = in_.line();
      add_global(module, name);
      return;
    }
    case STACK_GLOBAL: {
      Value* name = pop();
      Value* module = pop();
      if (module->kind != K::string || name->kind != K::string) error("STACK_GLOBAL needs two strings");
      add_global(module->text, name->text);
      return;
    }
    case REDUCE: {
      Value* args = pop();
      Value* callable = pop();
      if (callable->kind != K::global) error("REDUCE on a ", kind_name(callable->kind), ", expected a global");
      if (args->kind != K::tuple) error("REDUCE arguments must be a tuple, got ", kind_name(args->kind));
      push(detail::call_global(tree_, src, *callable, *args, options_.unknown_calls_as_records));
      return;
    }
    case INST: {
      std::string module = in_.line();
      std::string name = in_.line();
      add_global(module, name);
      Value* cls = pop();
      Value* args = make_tuple(pop_mark());
      push(detail::call_global(tree_, src, *cls, *args, options_.unknown_calls_as_records));
      return;
    }
    case OBJ: {
      auto items = pop_mark();
      if (items.empty()) error("OBJ without a class");
      Value* cls = items[0];
      if (cls->kind != K::global) error("OBJ on a ", kind_name(cls->kind), ", expected a class");
      Value* args = make_tuple(std::vector<Value*>(items.begin() + 1, items.end()));
      push(detail::call_global(tree_, src, *cls, *args, options_.unknown_calls_as_records));
      return;
    }
    case NEWOBJ:
    case NEWOBJ_EX: {
      if (op_ == NEWOBJ_EX) pop();  // keyword arguments: a record keeps the class and positional arguments only
      Value* args = pop();
      Value* cls = pop();
      if (cls->kind != K::global) error("cls.__new__ on a ", kind_name(cls->kind), ", expected a class");
      push(detail::new_object(tree_, src, *cls, args));
      return;
    }
    case BUILD: {
      Value* state = pop();
      detail::build(tree_, src, *top(), state);
      return;
    }
    case BINPERSID: persistent_load(pop()); return;
    case PERSID: error("text persistent ids (protocol 0) are not supported");
    case EXT1: case EXT2: case EXT4: error("the copyreg extension registry (EXT opcodes) is not supported");
    default: error("unknown opcode (not a pickle, or corrupt)");
  }
}

}  // namespace

PickleTree unpickle(const uint8_t* data, std::size_t size, const UnpickleOptions& options) {
  return Unpickler(data, size, options).run();
}

}  // namespace cj::io
