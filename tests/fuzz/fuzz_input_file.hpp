#pragma once
// The fuzz input as a file path (the readers map files): an anonymous in-memory file, reached
// through /proc/self/fd, so no disk is touched per run.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <string>

namespace cj::fuzz {

class InputFile {
 public:
  InputFile(const uint8_t* data, size_t size) : fd_(memfd_create("cj_fuzz", 0)) {
    if (fd_ < 0) return;
    for (size_t done = 0; done < size;) {
      ssize_t n = write(fd_, data + done, size - done);
      if (n <= 0) break;
      done += size_t(n);
    }
  }
  ~InputFile() {
    if (fd_ >= 0) close(fd_);
  }
  bool ok() const { return fd_ >= 0; }
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd_); }

 private:
  int fd_;
};

}  // namespace cj::fuzz
