#pragma once
// Reads the records of a zip archive as torch.save writes them: stored (uncompressed) entries, with
// zip64 sizes and offsets when present. Record bytes are read in place from the mapped file.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tensor/io/mapped_file.hpp"

namespace cj::io {

class ZipReader {
 public:
  struct Record {
    std::string name;
    uint16_t method = 0;           // 0 = stored; anything else is compressed
    uint64_t size = 0;             // uncompressed bytes
    uint64_t compressed_size = 0;
    uint64_t data_offset = 0;      // where the record's bytes start in the file
  };

  // Parses the central directory; throws cj::Error naming the file for anything malformed.
  explicit ZipReader(std::shared_ptr<MappedFile> file);

  static bool looks_like_zip(const uint8_t* data, std::size_t size);  // "PK\3\4" at the start

  const std::vector<Record>& records() const { return records_; }
  const Record* find(const std::string& name) const;
  // A stored record by name; throws cj::Error naming the file and record when it is missing or
  // compressed.
  const Record& stored(const std::string& name) const;
  const uint8_t* bytes(const Record& r) const { return file_->data() + r.data_offset; }
  const std::shared_ptr<MappedFile>& file() const { return file_; }
  const std::string& path() const { return file_->path(); }

 private:
  void read_central_directory();
  std::shared_ptr<MappedFile> file_;
  std::vector<Record> records_;
};

}  // namespace cj::io
