// Video IO: our writer's files decode (with our reader, i.e. FFmpeg) back to the frames written
// within codec loss; the reader streams them one at a time with their size, count and rate, and
// gives one clear error for every kind of bad file.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <unistd.h>
#include <vector>

#include "data/video_reader.hpp"
#include "data/video_writer.hpp"
#include "tensor/ops.hpp"
#include "tensor/error.hpp"

using cj::data::VideoWriter;

namespace {

std::vector<uint8_t> test_frame(int w, int h, int t) {
  std::vector<uint8_t> f(w * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {  // a bright square moving over a smooth gradient
      bool square = std::abs(x - 10 - 4 * t) < 8 && std::abs(y - 20) < 8;
      uint8_t* p = &f[(y * w + x) * 3];
      p[0] = square ? 250 : x * 2, p[1] = square ? 30 : y * 2, p[2] = 128;
    }
  return f;
}

std::string temp_path(const std::string& ext) {
  return ::testing::TempDir() + "cj_video_" + std::to_string(getpid()) + ext;
}

double mean_abs_diff(const cj::Tensor& frame, const std::vector<uint8_t>& want) {
  const auto got = cj::to_vector<int>(frame);
  double sum = 0;
  for (size_t i = 0; i < want.size(); ++i) sum += std::abs(got[i] - int(want[i]));
  return sum / double(want.size());
}

constexpr int kWidth = 64, kHeight = 48, kFrames = 12;

std::string write_video(const std::string& ext, bool faststart = false) {
  std::string path = temp_path(ext);
  VideoWriter writer(path, kWidth, kHeight, {10, 18, faststart});
  for (int t = 0; t < kFrames; ++t) writer.write(test_frame(kWidth, kHeight, t).data());
  writer.finish();
  EXPECT_EQ(writer.frames_written(), kFrames);
  return path;
}

void round_trip(const std::string& ext, double max_mad) {
  const std::string path = write_video(ext);
  const cj::Tensor frames = cj::data::read_video(path);  // (T, H, W, 3), decoded by FFmpeg
  std::remove(path.c_str());
  ASSERT_EQ(frames.shape(), (cj::Shape{kFrames, kHeight, kWidth, 3})) << ext;
  for (int t = 0; t < kFrames; ++t)
    EXPECT_LT(mean_abs_diff(cj::ops::select(frames, 0, t), test_frame(kWidth, kHeight, t)), max_mad) << ext << " frame " << t;
}

}  // namespace

TEST(VideoWriter, Mp4RoundTrip) { round_trip(".mp4", 4.0); }

// GIF keeps 3 bits of red and green and 2 of blue: errors up to 32 (red/green) and 64 (blue) levels.
TEST(VideoWriter, GifRoundTrip) { round_trip(".gif", 40.0); }

TEST(VideoWriter, RejectsBadArguments) {
  EXPECT_THROW(VideoWriter(temp_path(".avi"), 64, 48), cj::Error);
  EXPECT_THROW(VideoWriter(temp_path(".mp4"), 63, 48), cj::Error);
  EXPECT_THROW(VideoWriter(temp_path(".mp4"), 64, 48, {0, 18}), cj::Error);
  EXPECT_THROW(VideoWriter("/nonexistent-dir/x.mp4", 64, 48), cj::Error);
  std::string path = temp_path(".mp4");
  VideoWriter w(path, 64, 48);
  w.finish();
  auto f = test_frame(64, 48, 0);
  EXPECT_THROW(w.write(f.data()), cj::Error);
  std::remove(path.c_str());
}

TEST(VideoReader, StreamsFramesWithSizeCountAndRate) {
  const std::string path = write_video(".mp4");
  cj::data::VideoReader reader(path);
  EXPECT_EQ(reader.info().width, kWidth);
  EXPECT_EQ(reader.info().height, kHeight);
  EXPECT_EQ(reader.info().frame_count, kFrames);
  EXPECT_DOUBLE_EQ(reader.info().fps, 10.0);
  EXPECT_FALSE(reader.info().codec.empty());
  int t = 0;
  while (auto frame = reader.next()) {
    ASSERT_LT(t, kFrames);
    ASSERT_EQ(frame->shape(), (cj::Shape{kHeight, kWidth, 3}));
    ASSERT_EQ(frame->dtype(), cj::DType::u8);
    // In order: each decoded frame is closer to its own source frame than to the next one.
    if (t + 1 < kFrames) {
      EXPECT_LT(mean_abs_diff(*frame, test_frame(kWidth, kHeight, t)),
                mean_abs_diff(*frame, test_frame(kWidth, kHeight, t + 1)));
    }
    ++t;
  }
  EXPECT_EQ(t, kFrames);
  EXPECT_EQ(reader.frames_read(), kFrames);
  EXPECT_FALSE(reader.next().has_value());  // stays at the end
  std::remove(path.c_str());
}

namespace {
std::string read_error(const std::string& path) {
  try {
    cj::data::read_video(path);
  } catch (const cj::Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error for " << path;
  return "";
}
}  // namespace

TEST(VideoReader, BadFilesGiveOneClearError) {
  std::string msg = read_error("/nonexistent/v.mp4");
  EXPECT_NE(msg.find("'/nonexistent/v.mp4' does not exist"), std::string::npos) << msg;

  const std::string text = temp_path("_text.mp4");
  std::ofstream(text) << "not a video at all";
  msg = read_error(text);
  EXPECT_NE(msg.find(text), std::string::npos) << msg;
  EXPECT_NE(msg.find("not a readable video"), std::string::npos) << msg;
  std::remove(text.c_str());

  // Our writer puts the index (moov) last, so each of these cuts loses it or frames it indexes.
  const std::string path = write_video(".mp4");
  std::vector<char> bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  std::remove(path.c_str());
  for (size_t keep : {bytes.size() / 4, bytes.size() / 2, bytes.size() * 3 / 4}) {
    const std::string cut = temp_path("_cut.mp4");
    std::ofstream(cut, std::ios::binary).write(bytes.data(), std::streamsize(keep));
    msg = read_error(cut);
    EXPECT_NE(msg.find(cut), std::string::npos) << "cut to " << keep << ": " << msg;
    std::remove(cut.c_str());
  }

  // With the index first (faststart) the file opens, and the cut shows as frames missing at the end.
  const std::string streamable = write_video("_faststart.mp4", true);
  EXPECT_EQ(cj::data::read_video(streamable).size(0), kFrames);
  {
    std::ifstream in(streamable, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  std::remove(streamable.c_str());
  const std::string cut = temp_path("_cut_faststart.mp4");
  std::ofstream(cut, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size() * 3 / 4));
  msg = read_error(cut);
  EXPECT_NE(msg.find(cut), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
  std::remove(cut.c_str());
}
