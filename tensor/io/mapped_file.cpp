#include "tensor/io/mapped_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "tensor/error.hpp"

namespace cj::io {

std::shared_ptr<MappedFile> MappedFile::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  CJ_CHECK(fd >= 0, path, ": cannot open: ", std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    fail(path, ": cannot stat: ", std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(path, ": not a regular file");
  }
  std::shared_ptr<MappedFile> f(new MappedFile());
  f->path_ = path;
  f->size_ = static_cast<std::size_t>(st.st_size);
  if (f->size_ > 0) {
    void* p = ::mmap(nullptr, f->size_, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    int err = errno;
    ::close(fd);
    CJ_CHECK(p != MAP_FAILED, path, ": cannot map ", f->size_, " bytes: ", std::strerror(err));
    f->data_ = static_cast<uint8_t*>(p);
  } else {
    ::close(fd);
  }
  return f;
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(data_, size_);
}

std::shared_ptr<Storage> MappedFile::borrow(const std::shared_ptr<MappedFile>& file, std::size_t begin,
                                            std::size_t nbytes) {
  uint8_t* p = file->data_ ? file->data_ + begin : nullptr;
  return Storage::wrap(p, nbytes, Device::cpu(), [keep_alive = file] {});
}

std::string read_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  CJ_CHECK(in.good(), path, ": cannot open: ", std::strerror(errno));
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

AtomicFileWriter::AtomicFileWriter(std::string path)
    : path_(std::move(path)), tmp_path_(path_ + ".tmp." + std::to_string(::getpid())) {
  fd_ = ::open(tmp_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  CJ_CHECK(fd_ >= 0, path_, ": cannot create temporary file ", tmp_path_, ": ", std::strerror(errno));
}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(tmp_path_.c_str());
}

void AtomicFileWriter::write(const void* data, std::size_t nbytes) {
  const char* p = static_cast<const char*>(data);
  while (nbytes > 0) {
    ssize_t n = ::write(fd_, p, nbytes);
    if (n < 0 && errno == EINTR) continue;
    CJ_CHECK(n > 0, path_, ": write failed: ", std::strerror(errno));
    p += n;
    nbytes -= static_cast<std::size_t>(n);
  }
}

void AtomicFileWriter::commit() {
  CJ_CHECK(::fsync(fd_) == 0, path_, ": fsync failed: ", std::strerror(errno));
  int rc = ::close(fd_);
  fd_ = -1;
  CJ_CHECK(rc == 0, path_, ": close failed: ", std::strerror(errno));
  CJ_CHECK(::rename(tmp_path_.c_str(), path_.c_str()) == 0, path_, ": cannot rename ", tmp_path_, " into place: ",
           std::strerror(errno));
  committed_ = true;
}

}  // namespace cj::io
