#include "data/image_reader.hpp"

#include <stb_image.h>  // Debian's libstb ships the implementation in libstb.so

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <vector>

#include "tensor/error.hpp"
#include "tensor/ops/creation.hpp"

namespace cj::data {

namespace {

std::string lower_extension(const std::string& path) {
  auto slash = path.find_last_of('/');
  auto dot = path.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
  std::string ext = path.substr(dot);
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return ext;
}

bool is_jpeg(const unsigned char* b, std::size_t n) { return n >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF; }

// stb_image fills a JPEG that ends early with grey instead of failing, so a truncated JPEG is
// recognised here: after the last start-of-scan marker (FF DA) an end-of-image marker (FF D9) must
// follow. Inside entropy-coded data FF is always followed by 00 or a restart marker, so neither
// pair can occur there by chance.
bool jpeg_has_end_marker(const unsigned char* b, std::size_t n) {
  std::size_t last_scan = 0;
  for (std::size_t i = 0; i + 1 < n; ++i)
    if (b[i] == 0xFF && b[i + 1] == 0xDA) last_scan = i;
  if (last_scan == 0) return false;
  for (std::size_t i = last_scan + 2; i + 1 < n; ++i)
    if (b[i] == 0xFF && b[i + 1] == 0xD9) return true;
  return false;
}

bool is_png(const unsigned char* b, std::size_t n) { return n >= 8 && std::memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0; }

// stb_image stops at the IEND chunk without reading its CRC, so a PNG cut inside it would pass.
bool png_has_end_chunk(const unsigned char* b, std::size_t n) {
  if (n < 16) return false;
  for (std::size_t i = n - 8; i >= 8; --i)  // "IEND" then its 4-byte CRC must fit in the file
    if (std::memcmp(b + i, "IEND", 4) == 0) return true;
  return false;
}

}  // namespace

bool has_image_extension(const std::string& path) {
  const std::string ext = lower_extension(path);
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp" || ext == ".tga";
}

Tensor decode_image(const unsigned char* bytes, std::size_t size, const std::string& name) {
  CJ_CHECK(bytes && size > 0, "image reader: '", name, "' is empty; expected a PNG or JPEG image");
  CJ_CHECK(size <= std::size_t(INT32_MAX), "image reader: '", name, "' is ", size, " bytes; at most 2 GiB is supported");
  if (is_jpeg(bytes, size))
    CJ_CHECK(jpeg_has_end_marker(bytes, size), "image reader: '", name,
             "' is a JPEG without its end-of-image marker (truncated file?)");
  if (is_png(bytes, size))
    CJ_CHECK(png_has_end_chunk(bytes, size), "image reader: '", name,
             "' is a PNG without its complete IEND chunk (truncated file?)");
  int width = 0, height = 0, channels_in_file = 0;
  std::unique_ptr<stbi_uc, void (*)(void*)> pixels(
      stbi_load_from_memory(bytes, int(size), &width, &height, &channels_in_file, 3), stbi_image_free);
  if (!pixels)
    fail("image reader: '", name, "' is not a readable PNG or JPEG image (", stbi_failure_reason(),
         "); expected a complete PNG, JPEG, BMP or TGA file");
  // image: (H, W, 3) u8
  return from_blob_copy(pixels.get(), {int64_t(height), int64_t(width), 3}, DType::u8);
}

Tensor read_image(const std::string& path) {
  std::error_code ec;
  CJ_CHECK(!std::filesystem::is_directory(path, ec), "image reader: '", path, "' is a directory; expected an image file");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("image reader: cannot open '", path, "': ", std::strerror(errno));
  std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CJ_CHECK(!in.bad(), "image reader: reading '", path, "' failed: ", std::strerror(errno));
  return decode_image(bytes.data(), bytes.size(), path);
}

}  // namespace cj::data
