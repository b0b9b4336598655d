#pragma once
// Frames from whatever a user points a command at: one image, a directory of images (sorted by file
// name), or a video (anything FFmpeg decodes), handed out one at a time so long inputs stream.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tensor/tensor.hpp"

namespace cj::data {

class VideoReader;

class FrameSource {
 public:
  // Throws cj::Error naming `path` when it does not exist, is an empty directory, or is not readable.
  explicit FrameSource(const std::string& path);
  ~FrameSource();
  FrameSource(const FrameSource&) = delete;
  FrameSource& operator=(const FrameSource&) = delete;

  std::optional<Tensor> next();  // (H, W, 3) u8, nullopt after the last frame
  int64_t frame_count() const;   // -1 when a video's container does not say
  double fps() const;            // videos only; 0 otherwise or when unknown
  bool is_video() const { return video_ != nullptr; }
  const std::vector<std::string>& image_files() const { return files_; }  // empty for a video
  std::string describe() const;  // "3 images in dir", "video 64x48 h264, 12 frames at 10 fps", ...

 private:
  std::string path_;
  std::vector<std::string> files_;
  std::size_t next_file_ = 0;
  std::unique_ptr<VideoReader> video_;
};

}  // namespace cj::data
