#pragma once
// FFmpeg's error codes as text, for the messages of data/'s video reader and writer.
extern "C" {
#include <libavutil/error.h>
}

#include <string>

namespace cj::data {

inline std::string av_error_text(int code) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(code, buf, sizeof(buf));
  return buf;
}

}  // namespace cj::data
