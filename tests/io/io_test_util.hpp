#pragma once
// Helpers shared by the tensor-file tests: fixture paths, scratch files, exact tensor comparison and
// "this throws one cj::Error mentioning X".
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "tensor/error.hpp"
#include "tensor/io/tensor_map.hpp"
#include "tensor/ops/views.hpp"

namespace cj::test {

inline std::string fixture(const std::string& name) { return std::string(CJ_FIXTURE_DIR) + "/formats/" + name; }

// Where scratch files go: /dev/shm when there is one (rewriting a file there costs microseconds, in
// some container /tmp folders milliseconds, and the truncation tests rewrite one hundreds of times).
inline std::string scratch_dir() {
  if (::access("/dev/shm", W_OK) == 0) return "/dev/shm/";
  return ::testing::TempDir();
}

// A scratch file unique to this process, removed when the test ends.
class ScratchFile {
 public:
  explicit ScratchFile(const std::string& tag)
      : path_(scratch_dir() + "cj_io_" + std::to_string(::getpid()) + "_" + tag) {}
  ~ScratchFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }
  void write(const std::string& bytes) const {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), std::streamsize(bytes.size()));
  }

 private:
  std::string path_;
};

// Row-major element bytes of a CPU tensor.
inline std::string tensor_bytes(const Tensor& t) {
  Tensor c = ops::contiguous(t);
  return std::string(static_cast<const char*>(c.data_ptr()), std::size_t(c.numel()) * c.element_size());
}

// Same names, dtypes, shapes and bytes.
inline void expect_same_tensors(const io::TensorMap& got, const io::TensorMap& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (const auto& [name, w] : want) {
    auto it = got.find(name);
    ASSERT_NE(it, got.end()) << what << ": missing '" << name << "'";
    EXPECT_EQ(it->second.dtype(), w.dtype()) << what << ": " << name;
    EXPECT_EQ(it->second.shape(), w.shape()) << what << ": " << name;
    EXPECT_EQ(tensor_bytes(it->second), tensor_bytes(w)) << what << ": " << name;
  }
}

// Runs `f`, expecting a cj::Error whose message contains every piece.
template <typename F>
void expect_error(F&& f, std::initializer_list<std::string> pieces) {
  try {
    f();
    ADD_FAILURE() << "expected a cj::Error mentioning '" << *pieces.begin() << "'";
  } catch (const Error& e) {
    std::string msg = e.what();
    for (const auto& p : pieces) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
  }
}

}  // namespace cj::test
