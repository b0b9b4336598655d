#include "data/video_reader.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

#include <filesystem>
#include <vector>

#include "data/av_error.hpp"
#include "tensor/error.hpp"
#include "tensor/ops/index.hpp"

namespace cj::data {

struct VideoReader::Impl {
  std::string path;
  VideoInfo info;
  AVFormatContext* format = nullptr;
  AVCodecContext* decoder = nullptr;
  AVPacket* packet = nullptr;
  AVFrame* frame = nullptr;
  SwsContext* convert = nullptr;
  int stream = -1;
  int64_t packets = 0, frames = 0;
  bool flushed = false, done = false;

  ~Impl() {
    sws_freeContext(convert);
    av_frame_free(&frame);
    av_packet_free(&packet);
    avcodec_free_context(&decoder);
    avformat_close_input(&format);
  }

  [[noreturn]] void fail_at(const char* what, int code) const {
    fail("video reader: ", what, " failed for '", path, "' after ", frames, " frames: ", av_error_text(code),
         " (truncated or corrupt file?); expected a complete video file FFmpeg can decode");
  }

  // The decoded frame as (H, W, 3) u8 RGB, in the colour space and range the stream declares.
  Tensor to_rgb() {
    const int w = frame->width, h = frame->height;
    convert = sws_getCachedContext(convert, w, h, AVPixelFormat(frame->format), w, h, AV_PIX_FMT_RGB24, SWS_BILINEAR,
                                   nullptr, nullptr, nullptr);
    CJ_CHECK(convert, "video reader: no conversion from pixel format ",
             av_get_pix_fmt_name(AVPixelFormat(frame->format)), " to RGB for '", path, "'");
    const int colorspace = frame->colorspace == AVCOL_SPC_UNSPECIFIED ? SWS_CS_DEFAULT : int(frame->colorspace);
    const int* coefficients = sws_getCoefficients(colorspace);
    sws_setColorspaceDetails(convert, coefficients, frame->color_range == AVCOL_RANGE_JPEG, coefficients, 1, 0,
                             1 << 16, 1 << 16);
    Tensor rgb = Tensor::empty({h, w, 3}, DType::u8);  // (H, W, 3)
    uint8_t* dst[1] = {rgb.data<uint8_t>()};
    const int dst_stride[1] = {3 * w};
    sws_scale(convert, frame->data, frame->linesize, 0, h, dst, dst_stride);
    return rgb;
  }

  // Feeds packets to the decoder until it hands back a frame; false after the last frame.
  bool decode_one() {
    while (true) {
      int r = avcodec_receive_frame(decoder, frame);
      if (r == 0) return true;
      if (r == AVERROR_EOF) return false;
      if (r != AVERROR(EAGAIN)) fail_at("decoding", r);
      if (flushed) return false;
      r = av_read_frame(format, packet);
      if (r == AVERROR_EOF) {
        flushed = true;
        avcodec_send_packet(decoder, nullptr);
        continue;
      }
      if (r < 0) fail_at("reading a packet", r);
      if (packet->stream_index == stream) {
        ++packets;
        r = avcodec_send_packet(decoder, packet);
        if (r < 0 && r != AVERROR(EAGAIN)) fail_at("decoding", r);
      }
      av_packet_unref(packet);
    }
  }
};

VideoReader::VideoReader(const std::string& path) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.path = path;
  std::error_code ec;
  CJ_CHECK(std::filesystem::is_regular_file(path, ec), "video reader: '", path, "' ",
           std::filesystem::exists(path, ec) ? "is not a regular file" : "does not exist", "; expected a video file");
  av_log_set_level(AV_LOG_FATAL);  // errors reach the caller as cj::Error instead
  int r = avformat_open_input(&m.format, path.c_str(), nullptr, nullptr);
  if (r < 0)
    fail("video reader: '", path, "' is not a readable video (", av_error_text(r),
         "); expected a complete video file FFmpeg can decode, e.g. .mp4");
  r = avformat_find_stream_info(m.format, nullptr);
  if (r < 0) m.fail_at("reading the stream info", r);
  const AVCodec* codec = nullptr;
  m.stream = av_find_best_stream(m.format, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
  CJ_CHECK(m.stream >= 0 && codec, "video reader: '", path, "' has no decodable video stream (",
           av_error_text(m.stream >= 0 ? AVERROR_DECODER_NOT_FOUND : m.stream), ")");
  AVStream* s = m.format->streams[m.stream];
  m.decoder = avcodec_alloc_context3(codec);
  m.packet = av_packet_alloc();
  m.frame = av_frame_alloc();
  CJ_CHECK(m.decoder && m.packet && m.frame, "video reader: out of memory for '", path, "'");
  r = avcodec_parameters_to_context(m.decoder, s->codecpar);
  if (r < 0) m.fail_at("configuring the decoder", r);
  m.decoder->err_recognition |= AV_EF_EXPLODE;  // a corrupt packet is an error, not a grey frame
  r = avcodec_open2(m.decoder, codec, nullptr);
  if (r < 0) m.fail_at("opening the decoder", r);

  m.info.width = s->codecpar->width;
  m.info.height = s->codecpar->height;
  m.info.frame_count = s->nb_frames > 0 ? s->nb_frames : -1;
  const AVRational rate = av_guess_frame_rate(m.format, s, nullptr);
  m.info.fps = rate.num > 0 && rate.den > 0 ? av_q2d(rate) : 0.0;
  m.info.codec = codec->name;
  CJ_CHECK(m.info.width > 0 && m.info.height > 0, "video reader: '", path, "' declares a ", m.info.width, "x",
           m.info.height, " frame size");
}

VideoReader::~VideoReader() = default;

const VideoInfo& VideoReader::info() const { return impl_->info; }
int64_t VideoReader::frames_read() const { return impl_->frames; }

std::optional<Tensor> VideoReader::next() {
  Impl& m = *impl_;
  if (m.done) return std::nullopt;
  if (!m.decode_one()) {
    m.done = true;
    // Packets, not frames, are compared: an mp4 edit list may legitimately hide decoded frames.
    CJ_CHECK(m.info.frame_count < 0 || m.packets >= m.info.frame_count, "video reader: '", m.path, "' ends after ",
             m.packets, " of the ", m.info.frame_count, " frames its container announces (truncated file?)");
    return std::nullopt;
  }
  Tensor rgb = m.to_rgb();
  ++m.frames;
  return rgb;
}

Tensor read_video(const std::string& path) {
  VideoReader reader(path);
  std::vector<Tensor> frames;
  while (auto f = reader.next()) frames.push_back(*f);
  CJ_CHECK(!frames.empty(), "video reader: '", path, "' holds no frames");
  return ops::stack(frames, 0);  // (T, H, W, 3)
}

}  // namespace cj::data
