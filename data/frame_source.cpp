#include "data/frame_source.hpp"

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "data/image_reader.hpp"
#include "data/video_reader.hpp"
#include "tensor/error.hpp"

namespace cj::data {

namespace fs = std::filesystem;

FrameSource::FrameSource(const std::string& path) : path_(path) {
  std::error_code ec;
  CJ_CHECK(fs::exists(path, ec), "input '", path, "' does not exist; expected an image, a directory of images or a video");
  if (fs::is_directory(path, ec)) {
    for (const auto& entry : fs::directory_iterator(path, ec)) {
      const std::string name = entry.path().filename().string();
      if (entry.is_regular_file(ec) && name[0] != '.' && has_image_extension(name)) files_.push_back(entry.path().string());
    }
    CJ_CHECK(!ec, "input '", path, "': cannot list the directory: ", ec.message());
    CJ_CHECK(!files_.empty(), "input '", path, "' is a directory without .png/.jpg/.jpeg/.bmp/.tga images");
    std::sort(files_.begin(), files_.end());
  } else if (has_image_extension(path)) {
    files_.push_back(path);
  } else {
    video_ = std::make_unique<VideoReader>(path);
  }
}

FrameSource::~FrameSource() = default;

std::optional<Tensor> FrameSource::next() {
  if (video_) return video_->next();
  if (next_file_ == files_.size()) return std::nullopt;
  return read_image(files_[next_file_++]);
}

int64_t FrameSource::frame_count() const { return video_ ? video_->info().frame_count : int64_t(files_.size()); }

double FrameSource::fps() const { return video_ ? video_->info().fps : 0.0; }

std::string FrameSource::describe() const {
  std::ostringstream os;
  if (video_) {
    const VideoInfo& v = video_->info();
    os << "video " << v.width << "x" << v.height << " " << v.codec << ", ";
    if (v.frame_count >= 0) os << v.frame_count << " frames";
    else os << "frame count unknown";
    if (v.fps > 0) os << " at " << v.fps << " fps";
  } else if (files_.size() == 1 && files_[0] == path_) {
    os << "image " << path_;
  } else {
    os << files_.size() << " images in " << path_;
  }
  return os.str();
}

}  // namespace cj::data
