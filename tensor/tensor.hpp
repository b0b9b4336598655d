#pragma once
// Tensor: a view (dtype, shape, element strides, offset) onto a shared Storage, with reference
// semantics like torch.Tensor: copying a Tensor copies the handle, not the data.
//
// This header holds the data model only. Raw (non-differentiable) kernels are free functions in
// namespace cj::ops (tensor/ops/*.hpp); the differentiable API that models use lives in autograd/.
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "tensor/device.hpp"
#include "tensor/dtype.hpp"
#include "tensor/error.hpp"
#include "tensor/half.hpp"
#include "tensor/shape.hpp"
#include "tensor/storage.hpp"

namespace cj {

class Tensor;
struct Node;          // a recorded op in the autograd graph (defined in autograd/)
struct AutogradMeta;  // per-tensor autograd state (defined below)

// A number that is not (yet) a tensor, remembering whether it was written as a float, an integer
// or a bool, because PyTorch's type promotion treats those differently (i32 tensor + 2 stays i32,
// i32 tensor + 2.5 becomes f32).
struct Scalar {
  enum class Kind : unsigned char { floating, integral, boolean } kind = Kind::floating;
  double f = 0;
  int64_t i = 0;
  Scalar(double v) : kind(Kind::floating), f(v), i(static_cast<int64_t>(v)) {}  // NOLINT
  Scalar(float v) : Scalar(static_cast<double>(v)) {}                             // NOLINT
  Scalar(int v) : kind(Kind::integral), f(v), i(v) {}                             // NOLINT
  Scalar(long v) : kind(Kind::integral), f(double(v)), i(v) {}                    // NOLINT
  Scalar(long long v) : kind(Kind::integral), f(double(v)), i(v) {}              // NOLINT
  Scalar(bool v) : kind(Kind::boolean), f(v), i(v) {}                             // NOLINT
  template <typename T> T to() const;
};

struct TensorOptions {
  DType dtype = DType::f32;
  Device device = Device::cpu();
  TensorOptions() = default;
  TensorOptions(DType d) : dtype(d) {}  // NOLINT: lets cj::zeros({2}, DType::i64) read naturally
  TensorOptions(DType d, Device dev) : dtype(d), device(dev) {}
  TensorOptions(Device dev) : device(dev) {}  // NOLINT
};

class Tensor {
 public:
  Tensor() = default;  // undefined: holds nothing

  // Builds a view; checks that every reachable element lies inside the storage.
  static Tensor make(std::shared_ptr<Storage> storage, DType dtype, Shape shape, Shape strides,
                     int64_t offset);
  // Fresh contiguous tensor with uninitialised contents.
  static Tensor empty(const Shape& shape, TensorOptions options = {});

  bool defined() const { return impl_ != nullptr; }
  DType dtype() const;
  Device device() const;
  const Shape& shape() const;
  const Shape& strides() const;
  int64_t offset() const;  // in elements
  int64_t dim() const;
  int64_t numel() const;
  int64_t size(int64_t d) const;    // negative d counts from the end
  int64_t stride(int64_t d) const;
  std::size_t element_size() const { return dtype_size(dtype()); }
  bool is_contiguous() const;
  bool is_cpu() const { return device().is_cpu(); }
  bool is_cuda() const { return device().is_cuda(); }
  const std::shared_ptr<Storage>& storage() const;

  // Address of the first element of the view.
  void* data_ptr() const;
  // Typed pointer to the first element; throws cj::Error unless T matches dtype().
  template <typename T> T* data() const;
  // The single element of a one-element tensor (any shape), converted to T.
  template <typename T = double> T item() const;

  // One element by multi-index (CPU), converted to double; for tests and printing.
  double at(const std::vector<int64_t>& index) const;

  bool is_same(const Tensor& other) const { return impl_ == other.impl_; }

  // PyTorch's `t.data = src`: this handle and every copy of it (a module's member, an optimizer's
  // list) now view src's storage, dtype, shape and strides, while the autograd identity stays
  // (same leaf, same requires_grad, same .grad: the caller moves that). How nn::Module::to moves
  // parameters in place. Only for leaves; a floating src when this tensor requires grad.
  void set_data(const Tensor& src) const;
  std::string str() const;  // PyTorch-like printing: tensor([[1., 2.], ...], dtype=...)
  std::string describe() const;  // "Tensor[2, 3] float32 cpu"

  // ---- autograd state (the logic lives in autograd/) ---------------------------------------
  bool requires_grad() const;
  // Marks a leaf as requiring grad; only floating dtypes may.
  Tensor& requires_grad_(bool requires = true);
  Tensor grad() const;                 // undefined until a backward pass reaches this leaf
  void set_grad(const Tensor& g) const;
  const std::shared_ptr<Node>& grad_fn() const;
  void set_grad_fn(std::shared_ptr<Node> node, uint32_t output_nr) const;
  uint32_t output_nr() const;
  bool is_leaf() const { return grad_fn() == nullptr; }
  AutogradMeta* autograd_meta() const;  // null when the tensor never took part in autograd
  AutogradMeta& ensure_autograd_meta() const;

  // In-place writes go through this so autograd can detect a saved tensor that was modified.
  uint64_t version() const;
  void bump_version() const;

  struct Impl;  // defined in tensor.cpp only

 private:
  std::shared_ptr<Impl> impl_;
};

struct AutogradMeta {
  bool requires_grad = false;
  std::shared_ptr<Tensor> grad;   // accumulated gradient of a leaf
  std::shared_ptr<Node> grad_fn;  // the op that produced this tensor (null for leaves)
  uint32_t output_nr = 0;         // which output of grad_fn this tensor is
  // A leaf's gradient sink, shared by every op that uses the leaf so its gradients meet in one
  // node; weak so that the leaf does not keep a graph alive.
  std::weak_ptr<Node> grad_accumulator;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

// ---- element-type mapping used by kernels and typed accessors -------------------------------
template <typename T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::f32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::f64; };
template <> struct dtype_of<bf16> { static constexpr DType value = DType::bf16; };
template <> struct dtype_of<f16> { static constexpr DType value = DType::f16; };
template <> struct dtype_of<int32_t> { static constexpr DType value = DType::i32; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::i64; };
template <> struct dtype_of<uint8_t> { static constexpr DType value = DType::u8; };
template <> struct dtype_of<bool> { static constexpr DType value = DType::b8; };

template <typename T>
T* Tensor::data() const {
  CJ_CHECK(defined(), "data<", dtype_name(dtype_of<T>::value), ">: tensor is undefined");
  CJ_CHECK(dtype() == dtype_of<T>::value, "data<", dtype_name(dtype_of<T>::value), ">: tensor has dtype ",
           dtype_name(dtype()));
  return static_cast<T*>(data_ptr());
}

template <typename T>
T Scalar::to() const {
  if constexpr (std::is_same_v<T, bool>) return kind == Kind::floating ? f != 0 : i != 0;
  else if constexpr (std::is_integral_v<T>) return kind == Kind::floating ? static_cast<T>(f) : static_cast<T>(i);
  else return kind == Kind::floating ? static_cast<T>(f) : static_cast<T>(static_cast<double>(i));
}

}  // namespace cj
