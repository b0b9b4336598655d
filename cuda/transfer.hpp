#pragma once
// Host <-> device copies of contiguous bytes, staged through pinned host memory (pageable memory
// cannot be DMA'd directly; the driver would stage it anyway, more slowly, and may wait for the
// stream to drain).
// - An upload returns once the bytes are in the pinned ring: the copy itself is queued on the
//   stream, after the work queued before it, so the host can prepare the next batch meanwhile.
//   The host waits only when the ring (64 MiB) laps a copy still in flight.
// - A download returns when the bytes have arrived (the host reads them).
#include <cstddef>

namespace cj::cuda {

void copy_host_to_device(void* device_dst, const void* host_src, std::size_t nbytes);
void copy_device_to_host(void* host_dst, const void* device_src, std::size_t nbytes);

}  // namespace cj::cuda
