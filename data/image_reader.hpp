#pragma once
// Still images (PNG, JPEG, and the other formats stb_image decodes: BMP, TGA, GIF's first frame, ...)
// to uint8 RGB frames. Grey and alpha images become RGB (grey replicated, alpha dropped, as PIL's
// convert("RGB")). A missing, unreadable or truncated file throws one cj::Error naming it.
#include <string>

#include "tensor/tensor.hpp"

namespace cj::data {

// -> (H, W, 3) u8, row-major RGB.
Tensor read_image(const std::string& path);

// The same from bytes in memory; `name` is used in error messages.
Tensor decode_image(const unsigned char* bytes, std::size_t size, const std::string& name);

// True for the file names read_image is meant for (.png, .jpg, .jpeg, .bmp, .tga; any case).
bool has_image_extension(const std::string& path);

}  // namespace cj::data
