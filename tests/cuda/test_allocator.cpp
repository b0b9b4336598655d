// The caching allocator's pooling logic, driven by host memory so it runs on every machine, and
// the real CUDA allocator where a GPU is visible.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>

#include "cuda/allocator.hpp"
#include "tests/cuda/gpu_test.hpp"

using namespace cj;
using namespace cj::cuda;
using cj::test::values;

namespace {

constexpr std::size_t MiB = std::size_t(1) << 20;

// Host bytes with a capacity, counting what the allocator asks for.
class HostMemory final : public RawMemory {
 public:
  explicit HostMemory(std::size_t capacity) : capacity_(capacity) {}
  ~HostMemory() override {
    for (auto& [p, n] : live_) std::free(p);
  }
  void* raw_alloc(std::size_t n) override {
    if (used_ + n > capacity_) return nullptr;
    void* p = std::malloc(n);
    live_[p] = n;
    used_ += n;
    return p;
  }
  void raw_free(void* p) override {
    used_ -= live_.at(p);
    live_.erase(p);
    std::free(p);
  }
  std::string name() const override { return "host-test"; }

 private:
  std::size_t capacity_, used_ = 0;
  std::map<void*, std::size_t> live_;
};

char* alloc(CachingAllocator& a, std::size_t n) { return static_cast<char*>(a.allocate(n, 0)); }

}  // namespace

TEST(CachingAllocator, SmallRequestsAreCarvedFromOneSegmentAndReused) {
  CachingAllocator a(std::make_unique<HostMemory>(64 * MiB));
  char* p = alloc(a, 1000);
  char* q = alloc(a, 1000);
  EXPECT_EQ(q, p + 1024);  // rounded to 512 B and split from the same 2 MiB segment
  auto s = a.stats();
  EXPECT_EQ(s.allocated, 2048u);
  EXPECT_EQ(s.cached, 2 * MiB);
  EXPECT_EQ(s.segments, 1u);
  EXPECT_EQ(s.raw_allocations, 1u);
  a.deallocate(p, 1000, 0);
  EXPECT_EQ(alloc(a, 600), p);  // the freed block is handed out again, no new segment
  EXPECT_EQ(a.stats().raw_allocations, 1u);
}

TEST(CachingAllocator, FreedNeighboursMergeBackIntoTheWholeSegment) {
  CachingAllocator a(std::make_unique<HostMemory>(64 * MiB));
  char* p = alloc(a, 4096);
  char* q = alloc(a, 4096);
  char* r = alloc(a, 4096);
  a.deallocate(q, 0, 0);
  a.deallocate(p, 0, 0);
  a.deallocate(r, 0, 0);
  // one free 2 MiB block again: a 1 MiB request fits at the segment's start
  EXPECT_EQ(alloc(a, MiB), p);
  EXPECT_EQ(a.stats().segments, 1u);
  a.deallocate(p, 0, 0);
  a.empty_cache();
  EXPECT_EQ(a.stats().segments, 0u);
  EXPECT_EQ(a.stats().cached, 0u);
}

TEST(CachingAllocator, LargeRequestsRoundTo2MiBAndSplitCachedBlocks) {
  CachingAllocator a(std::make_unique<HostMemory>(64 * MiB));
  EXPECT_EQ(CachingAllocator::round_size(3 * MiB), 4 * MiB);
  EXPECT_EQ(CachingAllocator::round_size(MiB + 1), 2 * MiB);
  EXPECT_EQ(CachingAllocator::round_size(1), 512u);
  char* p = alloc(a, 3 * MiB);
  EXPECT_EQ(a.stats().allocated, 4 * MiB);
  a.deallocate(p, 0, 0);
  char* q = alloc(a, MiB + MiB / 2);  // 2 MiB out of the cached 4 MiB block
  char* r = alloc(a, 2 * MiB);        // the other half
  EXPECT_EQ(q, p);
  EXPECT_EQ(r, p + 2 * MiB);
  EXPECT_EQ(a.stats().raw_allocations, 1u);
  EXPECT_EQ(a.stats().segments, 1u);
}

TEST(CachingAllocator, PeakAndEmptyCacheKeepBlocksInUse) {
  CachingAllocator a(std::make_unique<HostMemory>(64 * MiB));
  char* big = alloc(a, 8 * MiB);
  char* small = alloc(a, 100);
  a.deallocate(big, 0, 0);
  auto s = a.stats();
  EXPECT_EQ(s.peak_allocated, 8 * MiB + 512);
  EXPECT_EQ(s.allocated, 512u);
  a.empty_cache();  // returns the large segment, keeps the small one (a block is in use)
  s = a.stats();
  EXPECT_EQ(s.segments, 1u);
  EXPECT_EQ(s.cached, 2 * MiB);
  a.reset_peak();
  EXPECT_EQ(a.stats().peak_allocated, 512u);
  a.deallocate(small, 0, 0);
  EXPECT_NE(format_stats(a.stats()).find("allocated 0 B, peak 512 B, cached 2.0 MiB in 1 segment"), std::string::npos)
      << format_stats(a.stats());
}

TEST(CachingAllocator, OutOfMemoryEmptiesTheCacheOnceThenRaisesOneClearError) {
  CachingAllocator a(std::make_unique<HostMemory>(8 * MiB));
  a.deallocate(alloc(a, 100), 0, 0);  // a cached, unused 2 MiB small segment
  char* p = alloc(a, 8 * MiB);        // fits only once that segment is given back
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(a.stats().segments, 1u);
  try {
    alloc(a, 100 * MiB);
    FAIL() << "expected an out-of-memory error";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("out of memory"), std::string::npos) << msg;
    EXPECT_NE(msg.find("100.0 MiB (104857600 bytes"), std::string::npos) << msg;
    EXPECT_NE(msg.find("allocated 8.0 MiB"), std::string::npos) << msg;
  }
  EXPECT_THROW(alloc(a, ~std::size_t(0) - 5), Error);  // no overflow in the rounding
}

TEST(CachingAllocator, ZeroBytesAndNullAreNoOps) {
  CachingAllocator a(std::make_unique<HostMemory>(8 * MiB));
  EXPECT_EQ(a.allocate(0, 0), nullptr);
  EXPECT_NO_THROW(a.deallocate(nullptr, 0, 0));
  EXPECT_THROW(a.allocate(16, 1), Error);  // only cuda:0 for now
}

TEST(CudaAllocator, TensorsReuseCachedBlocks) {
  CJ_REQUIRE_GPU();
  { Tensor warm = empty({1000}, {DType::f32, Device::cuda()}); }
  auto before = memory_stats();
  for (int i = 0; i < 10; ++i) Tensor t = empty({1000}, {DType::f32, Device::cuda()});
  auto after = memory_stats();
  EXPECT_EQ(after.raw_allocations, before.raw_allocations);
  EXPECT_EQ(after.allocated, before.allocated);
  EXPECT_EQ(after.allocations, before.allocations + 10);
}

TEST(CudaAllocator, HugeRequestGivesOneClearError) {
  CJ_REQUIRE_GPU();
  try {
    Tensor t = empty({int64_t(1) << 48}, {DType::f32, Device::cuda()});  // 1 PiB
    FAIL() << "expected an out-of-memory error";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("out of memory on cuda:0"), std::string::npos) << msg;
    EXPECT_NE(msg.find("1125899906842624 bytes"), std::string::npos) << msg;
    EXPECT_NE(msg.find("cached"), std::string::npos) << msg;
  }
  Tensor ok = ones({4}, {DType::f32, Device::cuda()});  // the allocator still works afterwards
  EXPECT_EQ(values(ok), (std::vector<double>{1, 1, 1, 1}));
}

TEST(CudaAllocator, CudaTensorWithoutDeviceSaysWhy) {
  auto q = cuda::query_devices();
  if (!q.devices.empty()) GTEST_SKIP() << "a GPU is visible: nothing to refuse";
  try {
    Tensor t = empty({4}, {DType::f32, Device::cuda()});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no CUDA device is usable on this machine"), std::string::npos) << e.what();
  }
}
