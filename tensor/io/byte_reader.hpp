#pragma once
// Bounds-checked reading of untrusted bytes (file headers, zip records, pickles): every read past
// the end throws cj::Error naming the source, the position and how many bytes were missing.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "tensor/error.hpp"
#include "tensor/shape.hpp"

namespace cj::io {

class ByteReader {
 public:
  ByteReader(const uint8_t* data, std::size_t size, std::string source)
      : data_(data), size_(size), source_(std::move(source)) {}

  std::size_t pos() const { return pos_; }
  std::size_t size() const { return size_; }
  std::size_t remaining() const { return size_ - pos_; }
  bool at_end() const { return pos_ == size_; }
  const std::string& source() const { return source_; }
  void seek(std::size_t pos) {
    CJ_CHECK(pos <= size_, source_, ": offset ", pos, " is past the end (", size_, " bytes); the file is truncated or corrupt");
    pos_ = pos;
  }

  const uint8_t* take(std::size_t n) {
    CJ_CHECK(n <= remaining(), source_, ": truncated at byte ", pos_, ": needs ", n, " more bytes, only ",
             remaining(), " left");
    const uint8_t* p = data_ + pos_;
    pos_ += n;
    return p;
  }
  uint8_t u8() { return *take(1); }
  uint16_t u16le() { return uint16_t(little(2)); }
  uint32_t u32le() { return uint32_t(little(4)); }
  uint64_t u64le() { return little(8); }
  int32_t i32le() {
    uint32_t u = u32le();
    int32_t v;
    std::memcpy(&v, &u, 4);
    return v;
  }
  double f64be() {  // pickle's BINFLOAT is big-endian
    const uint8_t* p = take(8);
    uint64_t u = 0;
    for (int i = 0; i < 8; ++i) u = (u << 8) | p[i];
    double d;
    std::memcpy(&d, &u, 8);
    return d;
  }
  std::string bytes(std::size_t n) {
    const uint8_t* p = take(n);
    return std::string(reinterpret_cast<const char*>(p), n);
  }
  // Up to (not including) the next '\n', which is consumed.
  std::string line() {
    const void* nl = remaining() ? std::memchr(data_ + pos_, '\n', remaining()) : nullptr;
    CJ_CHECK(nl != nullptr, source_, ": truncated at byte ", pos_, ": expected a newline-terminated argument");
    std::size_t n = static_cast<const uint8_t*>(nl) - (data_ + pos_);
    std::string s = bytes(n);
    pos_ += 1;
    return s;
  }

 private:
  uint64_t little(int n) {
    const uint8_t* p = take(n);
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
    return v;
  }
  const uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
  std::string source_;
};

// Number of elements of `shape`, refusing negative sizes and products that overflow int64.
inline int64_t checked_numel(const Shape& shape, const std::string& what) {
  int64_t n = 1;
  for (int64_t s : shape) {
    CJ_CHECK(s >= 0, what, ": negative size in shape ", shape);
    CJ_CHECK(!__builtin_mul_overflow(n, s, &n), what, ": shape ", shape, " has too many elements");
  }
  return n;
}

}  // namespace cj::io
