#include "tensor/storage.hpp"

#include <cstdlib>
#include <new>

#include "tensor/error.hpp"

namespace cj {

namespace {

std::atomic<int64_t> g_live_storages{0};
std::atomic<int64_t> g_cpu_allocated{0}, g_cpu_peak{0};

void count_cpu_allocation(int64_t nbytes) {
  const int64_t now = g_cpu_allocated.fetch_add(nbytes) + nbytes;
  int64_t peak = g_cpu_peak.load();
  while (now > peak && !g_cpu_peak.compare_exchange_weak(peak, now)) {
  }
}

class CpuAllocator final : public Allocator {
 public:
  void* allocate(std::size_t nbytes, int) override {
    if (nbytes == 0) return nullptr;
    std::size_t rounded = (nbytes + 63) / 64 * 64;  // aligned_alloc wants a multiple of the alignment
    void* p = std::aligned_alloc(64, rounded);
    CJ_CHECK(p != nullptr, "cpu allocator: out of memory allocating ", nbytes, " bytes");
    return p;
  }
  void deallocate(void* ptr, std::size_t, int) override { std::free(ptr); }
};

Allocator* g_allocators[2] = {nullptr, nullptr};
void (*g_device_checks[2])(int) = {nullptr, nullptr};

}  // namespace

void register_allocator(DeviceType type, Allocator* allocator) {
  g_allocators[static_cast<int>(type)] = allocator;
}

Allocator* allocator_for(DeviceType type) {
  static CpuAllocator cpu;
  if (type == DeviceType::cpu) return g_allocators[0] ? g_allocators[0] : &cpu;
  Allocator* a = g_allocators[static_cast<int>(type)];
  CJ_CHECK(a != nullptr, "cuda tensors: this build has no CUDA backend (it is compiled when nvcc is found; configure with -DCJ_CUDA=ON to insist)");
  return a;
}

void register_device_check(DeviceType type, void (*check)(int device_index)) {
  g_device_checks[static_cast<int>(type)] = check;
}

void require_device(Device device) {
  if (device.is_cpu()) return;
  allocator_for(device.type);  // the build has no backend for it: that error
  if (auto check = g_device_checks[static_cast<int>(device.type)]) check(device.index);  // the machine has none
}

std::shared_ptr<Storage> Storage::allocate(std::size_t nbytes, Device device) {
  Allocator* a = allocator_for(device.type);
  std::shared_ptr<Storage> s(new Storage());
  s->data_ = a->allocate(nbytes, device.index);
  s->nbytes_ = nbytes;
  s->device_ = device;
  void* p = s->data_;
  int idx = device.index;
  if (device.is_cpu()) {
    count_cpu_allocation(int64_t(nbytes));
    s->release_ = [a, p, nbytes, idx] {
      a->deallocate(p, nbytes, idx);
      g_cpu_allocated.fetch_sub(int64_t(nbytes));
    };
  } else {
    s->release_ = [a, p, nbytes, idx] { a->deallocate(p, nbytes, idx); };
  }
  g_live_storages.fetch_add(1);
  return s;
}

CpuMemoryStats cpu_memory_stats() { return {g_cpu_allocated.load(), g_cpu_peak.load()}; }
void reset_cpu_peak_memory() { g_cpu_peak.store(g_cpu_allocated.load()); }

std::shared_ptr<Storage> Storage::wrap(void* data, std::size_t nbytes, Device device,
                                       std::function<void()> release) {
  std::shared_ptr<Storage> s(new Storage());
  s->data_ = data;
  s->nbytes_ = nbytes;
  s->device_ = device;
  s->release_ = std::move(release);
  g_live_storages.fetch_add(1);
  return s;
}

Storage::~Storage() {
  if (release_) release_();
  g_live_storages.fetch_sub(1);
}

int64_t Storage::live_count() { return g_live_storages.load(); }

}  // namespace cj
