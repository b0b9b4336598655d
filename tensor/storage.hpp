#pragma once
// Storage: one reference-counted block of bytes on one device. Tensors are views onto it.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "tensor/device.hpp"

namespace cj {

// Where bytes come from for one device type. The CPU allocator is built in; the CUDA backend
// registers its caching allocator at start-up (cuda/), so tensor/ never depends on CUDA.
class Allocator {
 public:
  virtual ~Allocator() = default;
  virtual void* allocate(std::size_t nbytes, int device_index) = 0;
  virtual void deallocate(void* ptr, std::size_t nbytes, int device_index) = 0;
};

void register_allocator(DeviceType type, Allocator* allocator);
Allocator* allocator_for(DeviceType type);  // throws cj::Error naming the device when none

// Throws one cj::Error unless tensors can live on `device` here, saying which of the two is
// missing: a backend in this build, or a usable device on this machine. The backend registers
// the machine check (cuda/register.cpp); the CPU always passes.
void require_device(Device device);
void register_device_check(DeviceType type, void (*check)(int device_index));

// Bytes of CPU storage alive now and at most since the last reset (allocated by Storage::allocate;
// borrowed bytes, e.g. memory-mapped files, are not counted): the CPU's torch.cuda.max_memory_allocated.
struct CpuMemoryStats {
  int64_t allocated = 0, peak_allocated = 0;
};
CpuMemoryStats cpu_memory_stats();
void reset_cpu_peak_memory();  // peak := what is allocated now

class Storage {
 public:
  // Fresh, uninitialised bytes from the device's allocator (64-byte aligned on the CPU).
  static std::shared_ptr<Storage> allocate(std::size_t nbytes, Device device);
  // Borrowed bytes (an mmap'ed file, a host buffer): `release` runs when the last view dies.
  static std::shared_ptr<Storage> wrap(void* data, std::size_t nbytes, Device device,
                                       std::function<void()> release);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  std::size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }

  // Bumped by every in-place write; autograd compares it with the value saved at forward time.
  uint64_t version() const { return version_.load(std::memory_order_relaxed); }
  void bump_version() { version_.fetch_add(1, std::memory_order_relaxed); }

  // Number of Storage objects alive in the process (tests use it to prove graphs are freed).
  static int64_t live_count();

 private:
  Storage() = default;
  void* data_ = nullptr;
  std::size_t nbytes_ = 0;
  Device device_;
  std::function<void()> release_;
  std::atomic<uint64_t> version_{0};
};

}  // namespace cj
