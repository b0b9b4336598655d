#pragma once
// Host <-> device copies of contiguous bytes, staged through one pinned host buffer (pageable
// memory cannot be DMA'd directly; the driver would stage it anyway, more slowly). Both calls
// return when the bytes have arrived.
#include <cstddef>

namespace cj::cuda {

void copy_host_to_device(void* device_dst, const void* host_src, std::size_t nbytes);
void copy_device_to_host(void* host_dst, const void* device_src, std::size_t nbytes);

}  // namespace cj::cuda
