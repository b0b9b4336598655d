// copy_ (device <-> device with any dtype pair and broadcasting; host <-> device through the
// pinned staging buffer) and fill_.
#include <cstring>

#include "cuda/launch.cuh"
#include "cuda/ops.hpp"
#include "cuda/transfer.hpp"
#include "tensor/dispatch.hpp"
#include "tensor/ops/views.hpp"

namespace cj::cuda {

namespace {

template <typename To, typename From>
__global__ void copy_strided_kernel(int64_t n, OffsetCalculator<2> oc, To* dst, const From* src) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(blockDim.x) * gridDim.x) {
    int64_t off[2];
    oc.get(i, off);
    dst[off[0]] = cast_to<To>(src[off[1]]);
  }
}

template <typename To, typename From, int VEC>
__global__ void copy_contiguous_kernel(int64_t n, To* dst, const From* src) {
  const int64_t start = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  const int64_t step = int64_t(blockDim.x) * gridDim.x;
  const int64_t nvec = n / VEC;
  for (int64_t v = start; v < nvec; v += step) {
    Vec<From, VEC> a = reinterpret_cast<const Vec<From, VEC>*>(src)[v];
    Vec<To, VEC> o;
#pragma unroll
    for (int j = 0; j < VEC; ++j) o.v[j] = cast_to<To>(a.v[j]);
    reinterpret_cast<Vec<To, VEC>*>(dst)[v] = o;
  }
  for (int64_t i = nvec * VEC + start; i < n; i += step) dst[i] = cast_to<To>(src[i]);
}

// Both tensors on the GPU; src already checked to broadcast to dst's shape.
void device_copy(const Tensor& dst, const Tensor& src) {
  const int64_t n = dst.numel();
  if (n == 0) return;
  cudaStream_t stream = current_stream();
  const bool contiguous = dst.is_contiguous() && src.is_contiguous() && src.shape() == dst.shape();
  if (contiguous && dst.dtype() == src.dtype()) {
    CJ_CUDA_CHECK(cudaMemcpyAsync(dst.data_ptr(), src.data_ptr(), n * dst.element_size(), cudaMemcpyDeviceToDevice,
                                  stream));
    return;
  }
  dispatch_all(dst.dtype(), "copy_", [&](auto dtag) {
    using To = device_t<typename decltype(dtag)::type>;
    dispatch_all(src.dtype(), "copy_", [&](auto stag) {
      using From = device_t<typename decltype(stag)::type>;
      To* d = static_cast<To*>(dst.data_ptr());
      const From* s = static_cast<const From*>(src.data_ptr());
      constexpr int kVec = 4;
      if (contiguous && aligned_to(d, kVec * sizeof(To)) && aligned_to(s, kVec * sizeof(From))) {
        copy_contiguous_kernel<To, From, kVec><<<grid_for(n / kVec + 1), kThreads, 0, stream>>>(n, d, s);
      } else if (contiguous) {
        copy_contiguous_kernel<To, From, 1><<<grid_for(n), kThreads, 0, stream>>>(n, d, s);
      } else {
        auto oc = make_offset_calculator<2>(dst.shape(), {dst.strides(), broadcast_strides(src, dst.shape())}, "copy_");
        copy_strided_kernel<To, From><<<grid_for(n), kThreads, 0, stream>>>(n, oc, d, s);
      }
    });
  });
  CJ_CUDA_CHECK_LAUNCH("copy_");
}

bool same_layout(const Tensor& dst, const Tensor& src) {
  return dst.is_contiguous() && src.is_contiguous() && dst.dtype() == src.dtype() && dst.shape() == src.shape();
}

template <typename T>
__global__ void fill_kernel(int64_t n, OffsetCalculator<1> oc, T* out, T value) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(blockDim.x) * gridDim.x) {
    int64_t off[1];
    oc.get(i, off);
    out[off[0]] = value;
  }
}

}  // namespace

void copy_(const Tensor& dst, const Tensor& src) {
  CJ_CHECK(broadcast_shapes(src.shape(), dst.shape(), "copy_") == dst.shape(), "copy_: source of shape ", src.shape(),
           " does not broadcast to the destination's shape ", dst.shape());
  CJ_CHECK(dst.is_cuda() || src.is_cuda(), "copy_: cuda backend called with two host tensors");
  if (dst.is_cuda() && src.is_cuda()) {
    device_copy(dst, src);
  } else if (dst.is_cuda()) {  // host -> device: upload src as it is, then cast/broadcast on the GPU
    Tensor host = ops::contiguous(src);
    if (same_layout(dst, host)) {
      copy_host_to_device(dst.data_ptr(), host.data_ptr(), host.numel() * host.element_size());
    } else {
      Tensor staged = Tensor::empty(host.shape(), {host.dtype(), dst.device()});
      copy_host_to_device(staged.data_ptr(), host.data_ptr(), host.numel() * host.element_size());
      device_copy(dst, staged);
    }
  } else {  // device -> host: download src contiguous, then cast/broadcast on the host
    Tensor dev = src.is_contiguous() ? src : ops::contiguous(src);
    if (same_layout(dst, dev)) {
      copy_device_to_host(dst.data_ptr(), dev.data_ptr(), dev.numel() * dev.element_size());
    } else {
      Tensor host = Tensor::empty(dev.shape(), {dev.dtype(), Device::cpu()});
      copy_device_to_host(host.data_ptr(), dev.data_ptr(), dev.numel() * dev.element_size());
      ops::copy_(dst, host);
    }
  }
  dst.bump_version();
}

void fill_(const Tensor& self, Scalar value) {
  check_cuda("fill_", self);
  const int64_t n = self.numel();
  if (n > 0) {
    dispatch_all(self.dtype(), "fill_", [&](auto tag) {
      using H = typename decltype(tag)::type;
      const H host_value = value.to<std::conditional_t<is_float_type_v<H>, double, H>>();
      device_t<H> v;
      std::memcpy(static_cast<void*>(&v), &host_value, sizeof v);  // bf16/f16 share their bits with CUDA's types
      auto oc = make_offset_calculator<1>(self.shape(), {self.strides()}, "fill_");
      fill_kernel<device_t<H>><<<grid_for(n), kThreads, 0, current_stream()>>>(n, oc, static_cast<device_t<H>*>(self.data_ptr()), v);
    });
    CJ_CUDA_CHECK_LAUNCH("fill_");
  }
  self.bump_version();
}

}  // namespace cj::cuda
