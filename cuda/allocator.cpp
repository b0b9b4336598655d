#include "cuda/allocator.hpp"

#include <cstdio>
#include <limits>
#include <vector>

#include "tensor/error.hpp"

namespace cj::cuda {

namespace {

std::string human_bytes(std::size_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = double(n);
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

std::size_t round_up(std::size_t n, std::size_t multiple) { return (n + multiple - 1) / multiple * multiple; }

}  // namespace

std::string format_stats(const AllocatorStats& s) {
  return "allocated " + human_bytes(s.allocated) + ", peak " + human_bytes(s.peak_allocated) + ", cached " +
         human_bytes(s.cached) + " in " + std::to_string(s.segments) + " segment" + (s.segments == 1 ? "" : "s");
}

CachingAllocator::CachingAllocator(std::unique_ptr<RawMemory> raw) : raw_(std::move(raw)) {}

CachingAllocator::~CachingAllocator() {
  for (Block* first : segments_) {
    raw_->raw_free(first->ptr);
    for (Block* b = first; b;) {
      Block* next = b->next;
      delete b;
      b = next;
    }
  }
}

std::size_t CachingAllocator::round_size(std::size_t nbytes) {
  if (nbytes <= kSmallRequest) return round_up(nbytes == 0 ? 1 : nbytes, kMinBlock);
  return round_up(nbytes, kLargeRounding);
}

void* CachingAllocator::allocate(std::size_t nbytes, int device_index) {
  CJ_CHECK(device_index == 0, "cuda allocator: only cuda:0 is supported so far, got cuda:", device_index);
  if (nbytes == 0) return nullptr;
  std::lock_guard<std::mutex> lock(mutex_);
  if (nbytes > std::numeric_limits<std::size_t>::max() / 2) out_of_memory(nbytes, nbytes);
  const bool small = nbytes <= kSmallRequest;
  const std::size_t size = round_size(nbytes);
  FreeSet& pool = small ? free_small_ : free_large_;
  Block* b = take_cached(pool, size);
  if (!b) {
    const std::size_t segment_size = small ? kSmallSegment : size;
    b = new_segment(segment_size, small);
    if (!b) {  // give every unused segment back to the driver and try once more
      release_free_segments();
      b = new_segment(segment_size, small);
    }
    if (!b) out_of_memory(nbytes, segment_size);
  }
  split(b, size, pool);
  b->in_use = true;
  in_use_[b->ptr] = b;
  stats_.allocated += b->size;
  if (stats_.allocated > stats_.peak_allocated) stats_.peak_allocated = stats_.allocated;
  ++stats_.allocations;
  return b->ptr;
}

void CachingAllocator::deallocate(void* ptr, std::size_t, int) {
  if (!ptr) return;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = in_use_.find(ptr);
  CJ_CHECK(it != in_use_.end(), "cuda allocator: freeing a pointer it did not hand out (", ptr, ")");
  Block* b = it->second;
  in_use_.erase(it);
  b->in_use = false;
  stats_.allocated -= b->size;
  FreeSet& pool = b->small ? free_small_ : free_large_;
  // Merge with free neighbours; the earlier block always absorbs the later one, so a segment's
  // first block keeps its identity (segments_ points at it).
  if (Block* n = b->next; n && !n->in_use) {
    pool.erase(n);
    b->size += n->size;
    b->next = n->next;
    if (b->next) b->next->prev = b;
    delete n;
  }
  if (Block* p = b->prev; p && !p->in_use) {
    pool.erase(p);
    p->size += b->size;
    p->next = b->next;
    if (p->next) p->next->prev = p;
    delete b;
    b = p;
  }
  pool.insert(b);
}

CachingAllocator::Block* CachingAllocator::take_cached(FreeSet& pool, std::size_t size) {
  Block key;
  key.size = size;
  auto it = pool.lower_bound(&key);  // best fit: the smallest free block that is large enough
  if (it == pool.end()) return nullptr;
  Block* b = *it;
  pool.erase(it);
  return b;
}

CachingAllocator::Block* CachingAllocator::new_segment(std::size_t segment_size, bool small) {
  void* p = raw_->raw_alloc(segment_size);
  if (!p) return nullptr;
  Block* b = new Block;
  b->ptr = static_cast<char*>(p);
  b->size = segment_size;
  b->small = small;
  segments_.insert(b);
  stats_.cached += segment_size;
  ++stats_.segments;
  ++stats_.raw_allocations;
  return b;
}

void CachingAllocator::split(Block* b, std::size_t size, FreeSet& pool) {
  const std::size_t rest = b->size - size;
  // Small blocks split down to 512 B; a large block only when the rest is itself a large block.
  if (rest == 0 || (!b->small && rest <= kSmallRequest)) return;
  Block* r = new Block;
  r->ptr = b->ptr + size;
  r->size = rest;
  r->small = b->small;
  r->prev = b;
  r->next = b->next;
  if (r->next) r->next->prev = r;
  b->next = r;
  b->size = size;
  pool.insert(r);
}

void CachingAllocator::release_free_segments() {
  std::vector<Block*> whole;
  for (Block* first : segments_)
    if (!first->in_use && first->next == nullptr) whole.push_back(first);
  for (Block* b : whole) {
    (b->small ? free_small_ : free_large_).erase(b);
    segments_.erase(b);
    raw_->raw_free(b->ptr);
    stats_.cached -= b->size;
    --stats_.segments;
    delete b;
  }
}

void CachingAllocator::out_of_memory(std::size_t nbytes, std::size_t segment_size) {
  fail("cuda allocator: out of memory on ", raw_->name(), " allocating ", human_bytes(nbytes), " (", nbytes,
       " bytes, segment of ", segment_size, " bytes), even after emptying the cache; ", format_stats(stats_),
       raw_->device_info());
}

AllocatorStats CachingAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

void CachingAllocator::reset_peak() {
  std::lock_guard<std::mutex> lock(mutex_);
  stats_.peak_allocated = stats_.allocated;
}

void CachingAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mutex_);
  release_free_segments();
}

}  // namespace cj::cuda
