#pragma once
// Splitting a loop across the OpenMP threads the CPU kernels share.
#include <omp.h>

#include <algorithm>
#include <cstdint>

namespace cj::cpu {

// How many chunks parallel_chunks will use for n items of at least `grain` items each. Depends only
// on n, grain and the thread count, so per-chunk partial sums combine in a reproducible order.
inline int64_t chunk_count(int64_t n, int64_t grain) {
  if (n <= 0) return 0;
  const int64_t by_size = (n + std::max<int64_t>(grain, 1) - 1) / std::max<int64_t>(grain, 1);
  return std::max<int64_t>(1, std::min<int64_t>(omp_get_max_threads(), by_size));
}

// fn(chunk, begin, end) on chunk_count(n, grain) contiguous pieces of [0, n), one per thread.
template <typename F>
void parallel_chunks(int64_t n, int64_t grain, F&& fn) {
  const int64_t chunks = chunk_count(n, grain);
  if (chunks <= 1) {
    if (n > 0) fn(int64_t(0), int64_t(0), n);
    return;
  }
#pragma omp parallel for schedule(static, 1)
  for (int64_t c = 0; c < chunks; ++c) fn(c, n * c / chunks, n * (c + 1) / chunks);
}

// fn(begin, end) over [0, n) in parallel pieces of at least `grain` items.
template <typename F>
void parallel_for(int64_t n, int64_t grain, F&& fn) {
  parallel_chunks(n, grain, [&](int64_t, int64_t begin, int64_t end) { fn(begin, end); });
}

}  // namespace cj::cpu
