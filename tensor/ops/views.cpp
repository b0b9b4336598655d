#include "tensor/ops/views.hpp"

#include <algorithm>
#include <atomic>

#include "tensor/backend.hpp"
#include "tensor/cpu/strided_loop.hpp"
#include "tensor/dispatch.hpp"

namespace cj::ops {

namespace {

Tensor restride(const Tensor& t, Shape shape, Shape strides, int64_t offset) {
  return Tensor::make(t.storage(), t.dtype(), std::move(shape), std::move(strides), offset);
}

// Resolves one -1 in `shape` against numel, as torch.view does.
Shape infer_size(const Shape& shape, int64_t numel, const char* op) {
  Shape out = shape;
  int64_t known = 1, infer_at = -1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      CJ_CHECK(infer_at < 0, op, ": only one dimension can be -1, got ", shape);
      infer_at = int64_t(i);
    } else {
      CJ_CHECK(out[i] >= 0, op, ": invalid size ", out[i], " in shape ", shape);
      known *= out[i];
    }
  }
  if (infer_at >= 0) {
    CJ_CHECK(known != 0 && numel % known == 0, op, ": shape ", shape, " is invalid for input of ", numel, " elements");
    out[infer_at] = numel / known;
  }
  CJ_CHECK(shape_numel(out) == numel, op, ": shape ", shape, " is invalid for input of ", numel, " elements");
  return out;
}

// Strides for viewing (shape, strides) as new_shape without copying, or empty when impossible
// (PyTorch's computeStride: split/merge only runs of dims that are contiguous among themselves).
bool view_strides(const Shape& shape, const Shape& strides, const Shape& new_shape, Shape& out) {
  out.assign(new_shape.size(), 0);
  if (shape_numel(shape) == 0 || shape.empty()) {  // empty, or a 0-d scalar viewed as [1, ...]
    out = contiguous_strides(new_shape);
    return true;
  }
  int64_t view_d = int64_t(new_shape.size()) - 1;
  int64_t chunk_base_stride = strides.empty() ? 1 : strides.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t d = int64_t(shape.size()) - 1; d >= 0; --d) {
    tensor_numel *= shape[d];
    if (d == 0 || (shape[d - 1] != 1 && strides[d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || new_shape[view_d] == 1)) {
        out[view_d] = view_numel * chunk_base_stride;
        view_numel *= new_shape[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return false;
      if (d > 0) {
        chunk_base_stride = strides[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  return view_d == -1;
}

}  // namespace

Tensor view(const Tensor& t, const Shape& shape) {
  Shape new_shape = infer_size(shape, t.numel(), "view");
  Shape strides;
  CJ_CHECK(view_strides(t.shape(), t.strides(), new_shape, strides), "view: cannot view a tensor of shape ", t.shape(),
           " and strides ", t.strides(), " as ", new_shape, " without copying (use reshape)");
  return restride(t, new_shape, strides, t.offset());
}

Tensor reshape(const Tensor& t, const Shape& shape) {
  Shape new_shape = infer_size(shape, t.numel(), "reshape");
  Shape strides;
  if (view_strides(t.shape(), t.strides(), new_shape, strides)) return restride(t, new_shape, strides, t.offset());
  return view(clone(t), new_shape);
}

Tensor permute(const Tensor& t, const Shape& dims) {
  const int64_t n = t.dim();
  CJ_CHECK(int64_t(dims.size()) == n, "permute: got ", dims.size(), " dims ", dims, " for a tensor of ", n, " dims");
  Shape shape(n), strides(n);
  std::vector<bool> seen(n, false);
  for (int64_t i = 0; i < n; ++i) {
    int64_t d = wrap_dim(dims[i], n, "permute");
    CJ_CHECK(!seen[d], "permute: dim ", d, " repeated in ", dims);
    seen[d] = true;
    shape[i] = t.shape()[d];
    strides[i] = t.strides()[d];
  }
  return restride(t, shape, strides, t.offset());
}

Tensor transpose(const Tensor& t, int64_t dim0, int64_t dim1) {
  const int64_t n = t.dim();
  if (n == 0) return t;
  dim0 = wrap_dim(dim0, n, "transpose");
  dim1 = wrap_dim(dim1, n, "transpose");
  Shape shape = t.shape(), strides = t.strides();
  std::swap(shape[dim0], shape[dim1]);
  std::swap(strides[dim0], strides[dim1]);
  return restride(t, shape, strides, t.offset());
}

Tensor narrow(const Tensor& t, int64_t dim, int64_t start, int64_t length) {
  dim = wrap_dim(dim, t.dim(), "narrow");
  int64_t size = t.shape()[dim];
  if (start < 0) start += size;
  CJ_CHECK(start >= 0 && length >= 0 && start + length <= size, "narrow: range [", start, ", ", start + length,
           ") out of bounds for dim ", dim, " of size ", size);
  Shape shape = t.shape();
  shape[dim] = length;
  return restride(t, shape, t.strides(), t.offset() + start * t.strides()[dim]);
}

Tensor slice(const Tensor& t, int64_t dim, int64_t start, int64_t end, int64_t step) {
  dim = wrap_dim(dim, t.dim(), "slice");
  CJ_CHECK(step > 0, "slice: step must be positive, got ", step);
  int64_t size = t.shape()[dim];
  auto clamp_index = [size](int64_t i) { return std::clamp<int64_t>(i < 0 ? i + size : i, 0, size); };
  start = clamp_index(start);
  end = std::max(clamp_index(end), start);
  Shape shape = t.shape(), strides = t.strides();
  shape[dim] = (end - start + step - 1) / step;
  strides[dim] *= step;
  return restride(t, shape, strides, t.offset() + start * t.strides()[dim]);
}

Tensor select(const Tensor& t, int64_t dim, int64_t index) {
  dim = wrap_dim(dim, t.dim(), "select");
  int64_t size = t.shape()[dim];
  CJ_CHECK(index >= -size && index < size, "select: index ", index, " out of range for dim ", dim, " of size ", size);
  if (index < 0) index += size;
  Shape shape = t.shape(), strides = t.strides();
  int64_t offset = t.offset() + index * strides[dim];
  shape.erase(shape.begin() + dim);
  strides.erase(strides.begin() + dim);
  return restride(t, shape, strides, offset);
}

Tensor expand(const Tensor& t, const Shape& shape) {
  CJ_CHECK(shape.size() >= size_t(t.dim()), "expand: target ", shape, " has fewer dims than the input ", t.shape());
  size_t lead = shape.size() - t.dim();
  Shape out_shape(shape.size()), strides(shape.size(), 0);
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i < lead) {
      CJ_CHECK(shape[i] >= 0, "expand: -1 is not allowed in a new leading dim, got ", shape);
      out_shape[i] = shape[i];
      continue;
    }
    int64_t in = t.shape()[i - lead];
    int64_t want = shape[i] == -1 ? in : shape[i];
    CJ_CHECK(in == want || in == 1, "expand: cannot expand ", t.shape(), " to ", shape, " (dim ", i, ": ", in, " vs ",
             want, ")");
    out_shape[i] = want;
    strides[i] = in == want ? t.strides()[i - lead] : 0;
  }
  return restride(t, out_shape, strides, t.offset());
}

Tensor squeeze(const Tensor& t) {
  Shape shape, strides;
  for (int64_t i = 0; i < t.dim(); ++i)
    if (t.shape()[i] != 1) {
      shape.push_back(t.shape()[i]);
      strides.push_back(t.strides()[i]);
    }
  return restride(t, shape, strides, t.offset());
}

Tensor squeeze(const Tensor& t, int64_t dim) {
  if (t.dim() == 0) return t;
  dim = wrap_dim(dim, t.dim(), "squeeze");
  if (t.shape()[dim] != 1) return t;  // torch leaves other sizes alone
  Shape shape = t.shape(), strides = t.strides();
  shape.erase(shape.begin() + dim);
  strides.erase(strides.begin() + dim);
  return restride(t, shape, strides, t.offset());
}

Tensor unsqueeze(const Tensor& t, int64_t dim) {
  dim = wrap_dim(dim, t.dim() + 1, "unsqueeze");
  Shape shape = t.shape(), strides = t.strides();
  int64_t stride = dim < t.dim() ? shape[dim] * strides[dim] : 1;
  shape.insert(shape.begin() + dim, 1);
  strides.insert(strides.begin() + dim, stride);
  return restride(t, shape, strides, t.offset());
}

Tensor flatten(const Tensor& t, int64_t start_dim, int64_t end_dim) {
  if (t.dim() == 0) return reshape(t, {1});
  start_dim = wrap_dim(start_dim, t.dim(), "flatten");
  end_dim = wrap_dim(end_dim, t.dim(), "flatten");
  CJ_CHECK(start_dim <= end_dim, "flatten: start_dim ", start_dim, " is after end_dim ", end_dim);
  Shape shape(t.shape().begin(), t.shape().begin() + start_dim);
  int64_t merged = 1;
  for (int64_t i = start_dim; i <= end_dim; ++i) merged *= t.shape()[i];
  shape.push_back(merged);
  shape.insert(shape.end(), t.shape().begin() + end_dim + 1, t.shape().end());
  return reshape(t, shape);
}

Tensor unflatten(const Tensor& t, int64_t dim, const Shape& sizes) {
  dim = wrap_dim(dim, t.dim(), "unflatten");
  Shape inner = infer_size(sizes, t.shape()[dim], "unflatten");
  Shape shape(t.shape().begin(), t.shape().begin() + dim);
  shape.insert(shape.end(), inner.begin(), inner.end());
  shape.insert(shape.end(), t.shape().begin() + dim + 1, t.shape().end());
  return view(t, shape);
}

Tensor as_strided(const Tensor& t, const Shape& shape, const Shape& strides, int64_t offset) {
  return restride(t, shape, strides, offset);
}

namespace {
std::atomic<int64_t> g_host_device_copies{0};
}  // namespace

int64_t host_device_copies() { return g_host_device_copies.load(); }

void copy_(const Tensor& dst, const Tensor& src) {
  if (!dst.is_cpu() || !src.is_cpu()) {  // device <-> device and host <-> device copies live in the backend
    if (dst.is_cpu() != src.is_cpu()) g_host_device_copies.fetch_add(1);
    DeviceType where = dst.is_cpu() ? src.device().type : dst.device().type;
    return backend::lookup<decltype(copy_)>(where, "copy_")(dst, src);
  }
  Shape src_strides = cpu::broadcast_byte_strides(src.shape(), src.strides(), src.element_size(), dst.shape());
  Shape dst_strides = dst.strides();
  for (auto& s : dst_strides) s *= static_cast<int64_t>(dst.element_size());
  std::array<const Shape*, 2> strides{&dst_strides, &src_strides};
  std::array<char*, 2> base{static_cast<char*>(dst.data_ptr()), static_cast<char*>(src.data_ptr())};
  dispatch_all(dst.dtype(), "copy_", [&](auto dtag) {
    using To = typename decltype(dtag)::type;
    dispatch_all(src.dtype(), "copy_", [&](auto stag) {
      using From = typename decltype(stag)::type;
      cpu::strided_loop<2>(dst.shape(), strides, base, [](std::array<char*, 2> p, int64_t n, std::array<int64_t, 2> s) {
        if (s[0] == int64_t(sizeof(To)) && s[1] == int64_t(sizeof(From))) {  // contiguous fast path
          To* d = reinterpret_cast<To*>(p[0]);
          const From* f = reinterpret_cast<const From*>(p[1]);
          for (int64_t i = 0; i < n; ++i) d[i] = cast_value<To>(f[i]);
        } else {
          for (int64_t i = 0; i < n; ++i)
            *reinterpret_cast<To*>(p[0] + i * s[0]) = cast_value<To>(*reinterpret_cast<const From*>(p[1] + i * s[1]));
        }
      });
    });
  });
  dst.bump_version();
}

Tensor clone(const Tensor& t) {
  Tensor out = Tensor::empty(t.shape(), {t.dtype(), t.device()});
  copy_(out, t);
  return out;
}

Tensor contiguous(const Tensor& t) { return t.is_contiguous() ? t : clone(t); }

Tensor to(const Tensor& t, DType dtype) {
  if (t.dtype() == dtype) return t;
  Tensor out = Tensor::empty(t.shape(), {dtype, t.device()});
  copy_(out, t);
  return out;
}

Tensor to(const Tensor& t, Device device) {
  if (t.device() == device) return t;
  Tensor out = Tensor::empty(t.shape(), {t.dtype(), device});  // fails clearly when the device is unavailable
  copy_(out, t);
  return out;
}

}  // namespace cj::ops
