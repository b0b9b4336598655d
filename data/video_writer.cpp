#include "data/video_writer.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
}

#include "data/av_error.hpp"
#include "tensor/error.hpp"

namespace cj::data {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

struct VideoWriter::Impl {
  std::string path, codec;
  AVFormatContext* format = nullptr;
  AVCodecContext* encoder = nullptr;
  AVStream* stream = nullptr;
  AVFrame* frame = nullptr;
  AVPacket* packet = nullptr;
  SwsContext* convert = nullptr;
  bool finished = false;

  ~Impl() {
    sws_freeContext(convert);
    av_packet_free(&packet);
    av_frame_free(&frame);
    avcodec_free_context(&encoder);
    if (format && !(format->oformat->flags & AVFMT_NOFILE)) avio_closep(&format->pb);
    avformat_free_context(format);
  }

  void check(int code, const char* what) const {
    if (code < 0) fail("video writer: ", what, " failed for '", path, "': ", av_error_text(code));
  }

  // Sends one frame (or nullptr to flush) and writes every packet the encoder hands back.
  void encode(AVFrame* f) {
    check(avcodec_send_frame(encoder, f), "encoding");
    while (true) {
      int r = avcodec_receive_packet(encoder, packet);
      if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) return;
      check(r, "encoding");
      // Without a duration the mp4 edit list ends before the last frame, and demuxers drop it.
      if (packet->duration == 0) packet->duration = 1;
      av_packet_rescale_ts(packet, encoder->time_base, stream->time_base);
      packet->stream_index = stream->index;
      check(av_interleaved_write_frame(format, packet), "writing a packet");
    }
  }
};

VideoWriter::VideoWriter(const std::string& path, int width, int height, VideoWriterOptions options)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.path = path;
  const bool gif = ends_with(path, ".gif");
  CJ_CHECK(gif || ends_with(path, ".mp4"), "video writer: '", path, "' must end in .mp4 or .gif");
  CJ_CHECK(width > 0 && height > 0 && width % 2 == 0 && height % 2 == 0, "video writer: frame size must be ",
           "positive and even, got ", width, "x", height);
  CJ_CHECK(options.fps > 0 && options.fps <= 1000, "video writer: fps must be in [1, 1000], got ", options.fps);
  av_log_set_level(AV_LOG_ERROR);  // libx264 otherwise reports its settings on every file

  m.check(avformat_alloc_output_context2(&m.format, nullptr, nullptr, path.c_str()), "choosing the container");
  const AVCodec* codec = gif ? avcodec_find_encoder(AV_CODEC_ID_GIF) : avcodec_find_encoder_by_name("libx264");
  if (!codec && !gif) codec = avcodec_find_encoder(AV_CODEC_ID_MPEG4);
  CJ_CHECK(codec, "video writer: FFmpeg has no ", gif ? "GIF" : "H.264 or MPEG-4", " encoder for '", path, "'");
  m.codec = codec->name;
  m.stream = avformat_new_stream(m.format, nullptr);
  m.encoder = avcodec_alloc_context3(codec);
  CJ_CHECK(m.stream && m.encoder, "video writer: out of memory for '", path, "'");
  m.encoder->width = width;
  m.encoder->height = height;
  m.encoder->time_base = {1, options.fps};
  m.encoder->framerate = {options.fps, 1};
  m.encoder->pix_fmt = gif ? AV_PIX_FMT_RGB8 : AV_PIX_FMT_YUV420P;
  m.encoder->gop_size = 2 * options.fps;
  if (m.format->oformat->flags & AVFMT_GLOBALHEADER) m.encoder->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  if (m.codec == "libx264") {
    av_opt_set(m.encoder->priv_data, "crf", std::to_string(options.crf).c_str(), 0);
    av_opt_set(m.encoder->priv_data, "preset", "fast", 0);
  } else if (!gif) {
    m.encoder->bit_rate = int64_t(width) * height * options.fps * 2;
  }
  m.check(avcodec_open2(m.encoder, codec, nullptr), "opening the encoder");
  m.check(avcodec_parameters_from_context(m.stream->codecpar, m.encoder), "configuring the stream");
  m.stream->time_base = m.encoder->time_base;
  if (!(m.format->oformat->flags & AVFMT_NOFILE)) m.check(avio_open(&m.format->pb, path.c_str(), AVIO_FLAG_WRITE), "opening the file");
  AVDictionary* muxer_options = nullptr;
  if (options.faststart && !gif) av_dict_set(&muxer_options, "movflags", "+faststart", 0);
  const int header = avformat_write_header(m.format, &muxer_options);
  av_dict_free(&muxer_options);
  m.check(header, "writing the header");

  m.frame = av_frame_alloc();
  m.packet = av_packet_alloc();
  CJ_CHECK(m.frame && m.packet, "video writer: out of memory for '", path, "'");
  m.frame->format = m.encoder->pix_fmt;
  m.frame->width = width;
  m.frame->height = height;
  m.check(av_frame_get_buffer(m.frame, 0), "allocating a frame");
  m.convert = sws_getContext(width, height, AV_PIX_FMT_RGB24, width, height, m.encoder->pix_fmt, SWS_BILINEAR,
                             nullptr, nullptr, nullptr);
  CJ_CHECK(m.convert, "video writer: no RGB conversion to the encoder's pixel format for '", path, "'");
}

VideoWriter::~VideoWriter() {
  if (impl_ && !impl_->finished) {
    try {
      finish();
    } catch (const Error&) {
      // A destructor must not throw; callers who care call finish() themselves.
    }
  }
}

const std::string& VideoWriter::codec_name() const { return impl_->codec; }

void VideoWriter::write(const uint8_t* rgb) {
  Impl& m = *impl_;
  CJ_CHECK(!m.finished, "video writer: '", m.path, "' is already finished");
  CJ_CHECK(rgb, "video writer: null frame for '", m.path, "'");
  m.check(av_frame_make_writable(m.frame), "preparing a frame");
  const uint8_t* src[1] = {rgb};
  const int stride[1] = {3 * m.encoder->width};
  sws_scale(m.convert, src, stride, 0, m.encoder->height, m.frame->data, m.frame->linesize);
  m.frame->pts = frames_++;
  m.encode(m.frame);
}

void VideoWriter::finish() {
  Impl& m = *impl_;
  if (m.finished) return;
  m.finished = true;
  m.encode(nullptr);
  m.check(av_write_trailer(m.format), "writing the trailer");
}

}  // namespace cj::data
