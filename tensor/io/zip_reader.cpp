#include "tensor/io/zip_reader.hpp"

#include "tensor/io/byte_reader.hpp"

namespace cj::io {

namespace {
constexpr uint32_t kLocalHeader = 0x04034b50;
constexpr uint32_t kCentralHeader = 0x02014b50;
constexpr uint32_t kEndOfCentralDir = 0x06054b50;
constexpr uint32_t kZip64EndOfCentralDir = 0x06064b50;
constexpr uint32_t kZip64Locator = 0x07064b50;
constexpr std::size_t kEocdSize = 22;
constexpr uint32_t kMaxU32 = 0xffffffffu;
}  // namespace

bool ZipReader::looks_like_zip(const uint8_t* data, std::size_t size) {
  return size >= 4 && data[0] == 'P' && data[1] == 'K' && data[2] == 3 && data[3] == 4;
}

ZipReader::ZipReader(std::shared_ptr<MappedFile> file) : file_(std::move(file)) { read_central_directory(); }

const ZipReader::Record* ZipReader::find(const std::string& name) const {
  for (const auto& r : records_)
    if (r.name == name) return &r;
  return nullptr;
}

const ZipReader::Record& ZipReader::stored(const std::string& name) const {
  const Record* r = find(name);
  CJ_CHECK(r != nullptr, path(), ": missing record '", name, "' in the zip archive (truncated or not written by torch.save?)");
  CJ_CHECK(r->method == 0, path(), ": record '", name, "' is compressed (zip method ", r->method,
           "); torch.save writes stored records: re-save the checkpoint with torch.save instead of re-zipping it");
  return *r;
}

void ZipReader::read_central_directory() {
  const std::string& p = path();
  const std::size_t size = file_->size();
  ByteReader in(file_->data(), size, p);
  CJ_CHECK(size >= kEocdSize, p, ": not a zip archive (", size, " bytes is too short for an end-of-directory record)");

  // The end-of-central-directory record sits in the last 22 + 65535 (comment) bytes.
  std::size_t eocd = std::string::npos;
  std::size_t lowest = size >= kEocdSize + 0xffff ? size - kEocdSize - 0xffff : 0;
  for (std::size_t pos = size - kEocdSize + 1; pos-- > lowest;) {
    in.seek(pos);
    if (in.u32le() == kEndOfCentralDir) {
      eocd = pos;
      break;
    }
  }
  CJ_CHECK(eocd != std::string::npos, p, ": no zip end-of-central-directory record; the file is truncated or not a zip archive");
  in.seek(eocd + 10);
  uint64_t count = in.u16le();
  uint64_t cd_size = in.u32le();
  uint64_t cd_offset = in.u32le();

  // zip64: a locator just before the end record points at the zip64 end record with 64-bit fields.
  if (eocd >= 20) {
    in.seek(eocd - 20);
    if (in.u32le() == kZip64Locator) {
      in.u32le();
      uint64_t eocd64 = in.u64le();
      CJ_CHECK(eocd64 <= size - 56, p, ": zip64 end record offset ", eocd64, " is outside the file (truncated?)");
      in.seek(eocd64);
      CJ_CHECK(in.u32le() == kZip64EndOfCentralDir, p, ": bad zip64 end-of-central-directory signature");
      in.seek(eocd64 + 32);
      count = in.u64le();
      cd_size = in.u64le();
      cd_offset = in.u64le();
    }
  }
  CJ_CHECK(cd_offset <= size && cd_size <= size - cd_offset, p, ": central directory [", cd_offset, ", +", cd_size,
           ") lies outside the file (", size, " bytes); the file is truncated");
  // Each central entry takes at least 46 bytes: bounds the count before reserving.
  CJ_CHECK(count <= cd_size / 46, p, ": central directory claims ", count, " records in ", cd_size, " bytes");

  in.seek(cd_offset);
  records_.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    CJ_CHECK(in.u32le() == kCentralHeader, p, ": bad central directory entry ", i, " at byte ", in.pos() - 4);
    in.take(4);  // versions
    uint16_t flags = in.u16le();
    Record r;
    r.method = in.u16le();
    in.take(8);  // time, date, crc
    r.compressed_size = in.u32le();
    r.size = in.u32le();
    uint16_t name_len = in.u16le(), extra_len = in.u16le(), comment_len = in.u16le();
    in.take(8);  // disk, attributes
    uint64_t local_offset = in.u32le();
    r.name = in.bytes(name_len);
    CJ_CHECK(!(flags & 1), p, ": record '", r.name, "' is encrypted");
    ByteReader extra(in.take(extra_len), extra_len, p + ": extra field of '" + r.name + "'");
    while (extra.remaining() >= 4) {
      uint16_t id = extra.u16le(), len = extra.u16le();
      ByteReader field(extra.take(len), len, extra.source());
      if (id != 1) continue;
      // zip64: only the fields saturated in the fixed header are present, in this order.
      if (r.size == kMaxU32) r.size = field.u64le();
      if (r.compressed_size == kMaxU32) r.compressed_size = field.u64le();
      if (local_offset == kMaxU32) local_offset = field.u64le();
    }
    in.take(comment_len);

    // The local header repeats the name and has its own extra field; the data follows both.
    CJ_CHECK(local_offset <= size && size - local_offset >= 30, p, ": local header of '", r.name, "' at ", local_offset,
             " lies outside the file; the file is truncated");
    ByteReader local(file_->data() + local_offset, size - local_offset, p);
    CJ_CHECK(local.u32le() == kLocalHeader, p, ": bad local header signature for record '", r.name, "'");
    local.seek(26);
    uint64_t skip = 30 + uint64_t(local.u16le()) + local.u16le();
    r.data_offset = local_offset + skip;
    CJ_CHECK(r.data_offset <= size && r.compressed_size <= size - r.data_offset, p, ": record '", r.name, "' (",
             r.compressed_size, " bytes at ", r.data_offset, ") runs past the end of the file (", size,
             " bytes); the file is truncated");
    if (r.method == 0)
      CJ_CHECK(r.size == r.compressed_size, p, ": stored record '", r.name, "' has size ", r.size,
               " but compressed size ", r.compressed_size);
    records_.push_back(std::move(r));
  }
}

}  // namespace cj::io
