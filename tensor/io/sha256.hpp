#pragma once
// SHA-256 (FIPS 180-4), for the tensor manifest's content hashes.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace cj::io {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, std::size_t nbytes);
  std::array<uint8_t, 32> digest();  // finishes; the object must not be updated afterwards
  std::string hex_digest();          // 64 lowercase hex characters

 private:
  void compress(const uint8_t* block);
  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_{};
  std::size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

std::string sha256_hex(const void* data, std::size_t nbytes);

}  // namespace cj::io
