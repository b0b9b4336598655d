#pragma once
// A whole file mapped into memory, shared by every tensor that borrows bytes from it.
//
// The mapping is private and writable (copy-on-write): a tensor loaded zero-copy from a checkpoint
// can be modified in place without touching the file and without a fault.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "tensor/storage.hpp"

namespace cj::io {

class MappedFile {
 public:
  // Throws cj::Error naming the path and the system's reason when the file cannot be mapped.
  static std::shared_ptr<MappedFile> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  std::size_t size() const { return size_; }
  const std::string& path() const { return path_; }

  // A CPU storage over bytes [begin, begin + nbytes) of the file that keeps the mapping alive.
  // The caller has checked the range.
  static std::shared_ptr<Storage> borrow(const std::shared_ptr<MappedFile>& file, std::size_t begin,
                                         std::size_t nbytes);

 private:
  MappedFile() = default;
  uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
  std::string path_;
};

// Reads a whole file into memory (for small files and tests); throws cj::Error naming the path.
std::string read_file_bytes(const std::string& path);

// Writes `path` atomically: the bytes go to "<path>.tmp.<pid>", are fsync'ed, then renamed over
// `path`, so a reader never sees a half-written file. `write` receives a sink that appends bytes.
class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(std::string path);
  ~AtomicFileWriter();  // removes the temporary file unless commit() succeeded
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void write(const void* data, std::size_t nbytes);
  void commit();  // fsync + rename; throws cj::Error naming the path on failure

 private:
  std::string path_, tmp_path_;
  int fd_ = -1;
  bool committed_ = false;
};

}  // namespace cj::io
