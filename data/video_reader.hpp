#pragma once
// Decodes any video FFmpeg can read (mp4/H.264, MPEG-4, VP9, GIF, ...) to uint8 RGB frames, one at a
// time, so a long video is never held in memory. Every failure (missing file, no video stream,
// corrupt or truncated data) throws one cj::Error naming the file.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "tensor/tensor.hpp"

namespace cj::data {

struct VideoInfo {
  int width = 0, height = 0;
  int64_t frame_count = -1;  // from the container; -1 when it does not say
  double fps = 0;            // average frame rate; 0 when unknown
  std::string codec;         // decoder name, e.g. "h264"
};

class VideoReader {
 public:
  explicit VideoReader(const std::string& path);
  ~VideoReader();
  VideoReader(const VideoReader&) = delete;
  VideoReader& operator=(const VideoReader&) = delete;

  const VideoInfo& info() const;
  // The next frame as (H, W, 3) u8 RGB, or nullopt after the last one. Throws when the file ends
  // before the frame count its container announced (a truncated file).
  std::optional<Tensor> next();
  int64_t frames_read() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Every frame of a (short) video: (T, H, W, 3) u8. For tests and small clips; use VideoReader otherwise.
Tensor read_video(const std::string& path);

}  // namespace cj::data
