#pragma once
// The CUDA caching allocator. cudaMalloc/cudaFree are slow and synchronise the device, so freed
// blocks are kept and reused: small requests (<= 1 MiB, rounded to 512 B) are carved out of 2 MiB
// segments, large ones are rounded to 2 MiB and get their own segment or a cached free block.
// Free neighbours in one segment are merged again, so a segment can be given back whole by
// empty_cache().
//
// Streams: every kernel runs on the single default stream for now, so a block freed by the host
// may be handed to the next op at once: that op's kernels queue behind the ones that used it.
//
// The pooling logic is written against RawMemory so the tests can drive it with host memory on a
// machine without a GPU; cuda_allocator() binds it to cudaMalloc.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>

#include "tensor/storage.hpp"

namespace cj::cuda {

constexpr std::size_t kSmallRequest = std::size_t(1) << 20;  // <= 1 MiB goes to the small pool
constexpr std::size_t kSmallSegment = std::size_t(2) << 20;  // small pool segments are 2 MiB
constexpr std::size_t kLargeRounding = std::size_t(2) << 20; // large requests round to 2 MiB
constexpr std::size_t kMinBlock = 512;                       // every block is a multiple of this

// Where segments come from: returns null when the device is out of memory (other failures throw).
class RawMemory {
 public:
  virtual ~RawMemory() = default;
  virtual void* raw_alloc(std::size_t nbytes) = 0;
  virtual void raw_free(void* ptr) = 0;
  virtual std::string name() const = 0;  // "cuda:0", for messages
  virtual std::string device_info() const { return ""; }  // "; device has 1.0 GiB free of 80 GiB"
};

struct AllocatorStats {
  std::size_t allocated = 0;       // bytes in blocks handed out (rounded sizes)
  std::size_t peak_allocated = 0;  // highest `allocated` since start or reset_peak()
  std::size_t cached = 0;          // bytes held in segments (allocated + free-but-kept)
  std::size_t segments = 0;        // segments held
  std::size_t allocations = 0;     // allocate() calls served
  std::size_t raw_allocations = 0; // of which needed a new segment (cudaMalloc)
};
std::string format_stats(const AllocatorStats& s);  // one line: "allocated 1.0 MiB, peak ..."

class CachingAllocator final : public Allocator {
 public:
  explicit CachingAllocator(std::unique_ptr<RawMemory> raw);
  ~CachingAllocator() override;  // returns every segment; blocks still in use are a leak we tolerate

  void* allocate(std::size_t nbytes, int device_index) override;
  void deallocate(void* ptr, std::size_t nbytes, int device_index) override;

  AllocatorStats stats() const;
  void reset_peak();
  void empty_cache();  // gives back every segment that has no block in use

  static std::size_t round_size(std::size_t nbytes);  // the block size a request gets

 private:
  struct Block {
    char* ptr = nullptr;
    std::size_t size = 0;
    bool small = false;      // which pool
    bool in_use = false;
    Block* prev = nullptr;   // neighbours inside the same segment (null at the segment's ends)
    Block* next = nullptr;
  };
  struct BySizeThenAddress {
    bool operator()(const Block* a, const Block* b) const {
      return a->size != b->size ? a->size < b->size : a->ptr < b->ptr;
    }
  };
  using FreeSet = std::set<Block*, BySizeThenAddress>;

  Block* take_cached(FreeSet& pool, std::size_t size);
  Block* new_segment(std::size_t segment_size, bool small);
  void split(Block* b, std::size_t size, FreeSet& pool);
  void release_free_segments();
  [[noreturn]] void out_of_memory(std::size_t nbytes, std::size_t segment_size);

  std::unique_ptr<RawMemory> raw_;
  mutable std::mutex mutex_;
  FreeSet free_small_, free_large_;
  std::unordered_map<void*, Block*> in_use_;
  std::set<Block*> segments_;  // first block of every segment
  AllocatorStats stats_;
};

// The process-wide allocator for CUDA tensors (created on first use, registered at start-up).
CachingAllocator& cuda_allocator();
// Stats of the CUDA allocator, and a one-line summary for `cjepa info`.
AllocatorStats memory_stats();
void empty_cache();

}  // namespace cj::cuda
