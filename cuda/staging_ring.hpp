#pragma once
// The bookkeeping of the pinned upload buffer (cuda/transfer.cpp), free of CUDA so that
// tests/tensor/test_staging_ring.cpp runs it on the CPU.
//
// A circular buffer of `capacity` bytes handed out in regions. A region stays busy until the copy
// that reads it has finished, which a Fence marks (a CUDA event there, a counter in the test); the
// host waits on a fence only when it is about to overwrite that region, so an upload no longer
// waits for the work queued before it, only for the copy one lap of the ring behind it.
//
// Invariant: the busy regions, oldest first, occupy the buffer in one circular run that ends at
// head_; what follows head_ (circularly) up to the oldest region is free. A region never wraps:
// when the bytes left before the end are too few, that tail is skipped for this lap.
#include <algorithm>
#include <cstddef>
#include <deque>

#include "tensor/error.hpp"

namespace cj::cuda {

template <typename Fence>
class StagingRing {
 public:
  static constexpr std::size_t kAlign = 256;       // region starts stay DMA-friendly
  static constexpr std::size_t kMaxBusy = 1024;    // bounds the fences held by many tiny uploads

  explicit StagingRing(std::size_t capacity) : capacity_(capacity) {}

  std::size_t capacity() const { return capacity_; }
  std::size_t busy_regions() const { return busy_.size(); }

  // The offset of n free bytes (0 < n <= capacity), to be followed by commit(). First the regions
  // whose fence `done` reports finished are released; then wait(fence) is called, oldest first, on
  // every region the new one would overwrite. Both callbacks also receive released fences, so the
  // caller may recycle them.
  template <typename Done, typename Wait>
  std::size_t reserve(std::size_t n, const Done& done, const Wait& wait) {
    CJ_CHECK(n > 0 && n <= capacity_, "staging ring: a region of ", n, " bytes does not fit its ", capacity_, " bytes");
    while (!busy_.empty() && done(busy_.front().fence)) busy_.pop_front();
    while (busy_.size() >= kMaxBusy) release_oldest(wait);
    if (head_ + n > capacity_) {  // skip the tail: first let the previous lap's regions beyond head_ finish
      while (!busy_.empty() && busy_.front().begin >= head_) release_oldest(wait);
      head_ = 0;
    }
    // Busy regions at or after head_ belong to the previous lap and come first, in address order.
    while (!busy_.empty() && busy_.front().begin >= head_ && busy_.front().begin < head_ + n) release_oldest(wait);
    reserved_begin_ = head_;
    reserved_end_ = head_ + n;
    head_ = std::min(capacity_, round_up(reserved_end_));
    return reserved_begin_;
  }

  // The region last reserved is read by the work that `fence` marks.
  void commit(Fence fence) { busy_.push_back({reserved_begin_, reserved_end_, fence}); }

 private:
  struct Busy {
    std::size_t begin, end;
    Fence fence;
  };

  static std::size_t round_up(std::size_t x) { return (x + kAlign - 1) / kAlign * kAlign; }

  template <typename Wait>
  void release_oldest(const Wait& wait) {
    wait(busy_.front().fence);
    busy_.pop_front();
  }

  std::size_t capacity_;
  std::size_t head_ = 0;
  std::size_t reserved_begin_ = 0, reserved_end_ = 0;
  std::deque<Busy> busy_;
};

}  // namespace cj::cuda
