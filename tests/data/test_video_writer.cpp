// The video writer: files that FFmpeg decodes back to the frames written (within codec loss).
#include <gtest/gtest.h>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libswscale/swscale.h>
}

#include <cmath>
#include <cstdio>
#include <string>
#include <unistd.h>
#include <vector>

#include "data/video_writer.hpp"
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

// Decodes every frame of a file to RGB24.
std::vector<std::vector<uint8_t>> decode(const std::string& path, int* w, int* h) {
  AVFormatContext* fmt = nullptr;
  std::vector<std::vector<uint8_t>> frames;
  if (avformat_open_input(&fmt, path.c_str(), nullptr, nullptr) < 0) return frames;
  avformat_find_stream_info(fmt, nullptr);
  int si = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  const AVCodec* codec = avcodec_find_decoder(fmt->streams[si]->codecpar->codec_id);
  AVCodecContext* ctx = avcodec_alloc_context3(codec);
  avcodec_parameters_to_context(ctx, fmt->streams[si]->codecpar);
  avcodec_open2(ctx, codec, nullptr);
  *w = ctx->width, *h = ctx->height;
  AVPacket* pkt = av_packet_alloc();
  AVFrame* frame = av_frame_alloc();
  auto drain = [&]() {
    while (avcodec_receive_frame(ctx, frame) == 0) {
      std::vector<uint8_t> rgb(*w * *h * 3);
      SwsContext* sws = sws_getContext(*w, *h, AVPixelFormat(frame->format), *w, *h, AV_PIX_FMT_RGB24, SWS_BILINEAR,
                                       nullptr, nullptr, nullptr);
      uint8_t* dst[1] = {rgb.data()};
      int stride[1] = {3 * *w};
      sws_scale(sws, frame->data, frame->linesize, 0, *h, dst, stride);
      sws_freeContext(sws);
      frames.push_back(std::move(rgb));
    }
  };
  while (av_read_frame(fmt, pkt) >= 0) {
    if (pkt->stream_index == si) avcodec_send_packet(ctx, pkt), drain();
    av_packet_unref(pkt);
  }
  avcodec_send_packet(ctx, nullptr);
  drain();
  av_frame_free(&frame);
  av_packet_free(&pkt);
  avcodec_free_context(&ctx);
  avformat_close_input(&fmt);
  return frames;
}

std::string temp_path(const std::string& ext) {
  return ::testing::TempDir() + "cj_video_" + std::to_string(getpid()) + ext;
}

void round_trip(const std::string& ext, double max_mad) {
  const int w = 64, h = 48, n = 12;
  std::string path = temp_path(ext);
  {
    VideoWriter writer(path, w, h, {10, 18});
    for (int t = 0; t < n; ++t) writer.write(test_frame(w, h, t).data());
    writer.finish();
    EXPECT_EQ(writer.frames_written(), n);
  }
  int dw = 0, dh = 0;
  auto frames = decode(path, &dw, &dh);
  std::remove(path.c_str());
  ASSERT_EQ(frames.size(), size_t(n)) << ext;
  EXPECT_EQ(dw, w);
  EXPECT_EQ(dh, h);
  for (int t = 0; t < n; ++t) {
    auto ref = test_frame(w, h, t);
    double mad = 0;
    for (size_t i = 0; i < ref.size(); ++i) mad += std::abs(int(ref[i]) - int(frames[t][i]));
    EXPECT_LT(mad / ref.size(), max_mad) << ext << " frame " << t;
  }
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
