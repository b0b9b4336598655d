#pragma once
// Writes RGB frames to a video file with FFmpeg's libav*: .mp4 (H.264 via libx264, yuv420p,
// falling back to MPEG-4 Part 2 when libx264 is missing) or .gif (3-3-2 RGB palette). Every
// failure throws cj::Error naming the file.
#include <cstdint>
#include <memory>
#include <string>

namespace cj::data {

struct VideoWriterOptions {
  int fps = 10;
  int crf = 18;  // H.264 quality: lower is better, 18 is visually lossless for these synthetic scenes
  bool faststart = false;  // .mp4: the index (moov) before the frames, as streaming players want it
};

class VideoWriter {
 public:
  VideoWriter(const std::string& path, int width, int height, VideoWriterOptions options = {});
  ~VideoWriter();  // finishes the file if finish() was not called (errors are then swallowed)
  VideoWriter(const VideoWriter&) = delete;
  VideoWriter& operator=(const VideoWriter&) = delete;

  void write(const uint8_t* rgb);  // height x width x 3, row-major
  void finish();                   // flushes the encoder and writes the trailer
  int frames_written() const { return frames_; }
  const std::string& codec_name() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int frames_ = 0;
};

}  // namespace cj::data
