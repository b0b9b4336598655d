#include "tensor/io/pickle_writer.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "tensor/ops/views.hpp"

namespace cj::io {

namespace {

// Pickle opcodes used here (see CPython's Lib/pickletools.py for their definitions).
constexpr char kProto = '\x80', kStop = '.', kEmptyDict = '}', kMark = '(', kSetItems = 'u', kBinUnicode = 'X',
               kGlobal = 'c', kReduce = 'R', kBuild = 'b', kTuple = 't', kTuple1 = '\x85', kTuple3 = '\x87',
               kBinInt = 'J', kNewFalse = '\x89', kNewTrue = '\x88', kNone = 'N', kBinBytes = 'B',
               kShortBinBytes = 'C';

class Writer {
 public:
  std::string out;

  void u32(uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(char((v >> (8 * i)) & 0xff));
  }
  void str(const std::string& s) {
    out.push_back(kBinUnicode);
    u32(uint32_t(s.size()));
    out += s;
  }
  void integer(int64_t v) {
    CJ_CHECK(v >= INT32_MIN && v <= INT32_MAX, "pickle writer: integer ", v, " does not fit BININT");
    out.push_back(kBinInt);
    u32(uint32_t(int32_t(v)));
  }
  void bytes(const void* data, size_t n) {
    if (n < 256) {
      out.push_back(kShortBinBytes);
      out.push_back(char(n));
    } else {
      CJ_CHECK(n <= 0xffffffffu, "pickle writer: array of ", n, " bytes is too large for protocol 3");
      out.push_back(kBinBytes);
      u32(uint32_t(n));
    }
    out.append(static_cast<const char*>(data), n);
  }
  void global(const char* module, const char* name) {
    out.push_back(kGlobal);
    out += module;
    out.push_back('\n');
    out += name;
    out.push_back('\n');
  }

  // numpy.dtype('<f4') as numpy pickles it: dtype('f4', False, True) + BUILD (3, '<', None, ...).
  void dtype(DType t) {
    const char* code = nullptr;
    char order = '<';
    switch (t) {
      case DType::f32: code = "f4"; break;
      case DType::f64: code = "f8"; break;
      case DType::f16: code = "f2"; break;
      case DType::i32: code = "i4"; break;
      case DType::i64: code = "i8"; break;
      case DType::u8: code = "u1"; order = '|'; break;
      case DType::b8: code = "b1"; order = '|'; break;
      default: fail("pickle writer: numpy has no ", dtype_name(t), " dtype (convert to float32 first)");
    }
    global("numpy", "dtype");
    out.push_back(kMark);
    str(code);
    out.push_back(kNewFalse);
    out.push_back(kNewTrue);
    out.push_back(kTuple);
    out.push_back(kReduce);
    out.push_back(kMark);
    integer(3);
    str(std::string(1, order));
    out.push_back(kNone);
    out.push_back(kNone);
    out.push_back(kNone);
    integer(-1);
    integer(-1);
    integer(0);
    out.push_back(kTuple);
    out.push_back(kBuild);
  }

  // numpy.core.multiarray._reconstruct(ndarray, (0,), b'b') + BUILD (1, shape, dtype, False, data).
  void array(const Tensor& t) {
    CJ_CHECK(t.is_cpu(), "pickle writer: tensor must be on the cpu, got ", t.device().str());
    Tensor c = ops::contiguous(t);
    global("numpy.core.multiarray", "_reconstruct");
    global("numpy", "ndarray");
    integer(0);
    out.push_back(kTuple1);
    bytes("b", 1);
    out.push_back(kTuple3);
    out.push_back(kReduce);
    out.push_back(kMark);
    integer(1);
    out.push_back(kMark);
    for (int64_t s : c.shape()) integer(s);
    out.push_back(kTuple);
    dtype(c.dtype());
    out.push_back(kNewFalse);
    bytes(c.data_ptr(), size_t(c.numel()) * c.element_size());
    out.push_back(kTuple);
    out.push_back(kBuild);
  }

  void dict(const PickleDict& d) {
    out.push_back(kEmptyDict);
    if (d.arrays.empty() && d.dicts.empty()) return;
    out.push_back(kMark);
    for (const auto& [k, t] : d.arrays) {
      str(k);
      array(t);
    }
    for (const auto& [k, sub] : d.dicts) {
      CJ_CHECK(!d.arrays.count(k), "pickle writer: key '", k, "' is both an array and a dict");
      str(k);
      dict(sub);
    }
    out.push_back(kSetItems);
  }
};

}  // namespace

std::string pickle_numpy_tree(const PickleDict& root) {
  Writer w;
  w.out.push_back(kProto);
  w.out.push_back('\x03');
  w.dict(root);
  w.out.push_back(kStop);
  return std::move(w.out);
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  FILE* f = std::fopen(tmp.c_str(), "wb");
  CJ_CHECK(f != nullptr, path, ": cannot open '", tmp, "' for writing: ", std::strerror(errno));
  size_t written = std::fwrite(bytes.data(), 1, bytes.size(), f);
  bool ok = written == bytes.size() && std::fflush(f) == 0 && ::fsync(fileno(f)) == 0;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    fail(path, ": writing failed (", why, "); the previous file, if any, is untouched");
  }
}

void write_pickle_numpy_tree(const std::string& path, const PickleDict& root) {
  write_file_atomic(path, pickle_numpy_tree(root));
}

}  // namespace cj::io
