#include "tensor/tensor.hpp"

#include <sstream>

#include "tensor/dispatch.hpp"
#include "tensor/ops/views.hpp"

namespace cj {

struct Tensor::Impl {
  std::shared_ptr<Storage> storage;
  DType dtype = DType::f32;
  Shape shape, strides;
  int64_t offset = 0;
  std::shared_ptr<AutogradMeta> autograd;
};

namespace {
const Tensor::Impl& checked(const std::shared_ptr<Tensor::Impl>& impl) {
  CJ_CHECK(impl != nullptr, "tensor: operation on an undefined tensor");
  return *impl;
}
}  // namespace

Tensor Tensor::make(std::shared_ptr<Storage> storage, DType dtype, Shape shape, Shape strides, int64_t offset) {
  CJ_CHECK(storage != nullptr, "tensor: null storage");
  CJ_CHECK(shape.size() == strides.size(), "tensor: shape ", shape, " and strides ", strides, " differ in length");
  CJ_CHECK(offset >= 0, "tensor: negative storage offset ", offset);
  int64_t lo = offset, hi = offset;  // element range the view can reach
  bool empty = false;
  for (size_t i = 0; i < shape.size(); ++i) {
    CJ_CHECK(shape[i] >= 0, "tensor: negative size in shape ", shape);
    if (shape[i] == 0) empty = true;
    int64_t reach = (shape[i] - 1) * strides[i];
    (reach < 0 ? lo : hi) += reach;
  }
  if (!empty) {
    int64_t capacity = static_cast<int64_t>(storage->nbytes() / dtype_size(dtype));
    CJ_CHECK(lo >= 0 && hi < capacity, "tensor: view with shape ", shape, ", strides ", strides, " and offset ",
             offset, " reaches elements ", lo, "..", hi, " of a storage holding ", capacity, " ",
             dtype_name(dtype), " elements");
  }
  Tensor t;
  t.impl_ = std::make_shared<Impl>();
  t.impl_->storage = std::move(storage);
  t.impl_->dtype = dtype;
  t.impl_->shape = std::move(shape);
  t.impl_->strides = std::move(strides);
  t.impl_->offset = offset;
  return t;
}

Tensor Tensor::empty(const Shape& shape, TensorOptions options) {
  for (int64_t s : shape) CJ_CHECK(s >= 0, "empty: negative size in shape ", shape);
  auto storage = Storage::allocate(shape_numel(shape) * dtype_size(options.dtype), options.device);
  return make(std::move(storage), options.dtype, shape, contiguous_strides(shape), 0);
}

DType Tensor::dtype() const { return checked(impl_).dtype; }
Device Tensor::device() const { return checked(impl_).storage->device(); }
const Shape& Tensor::shape() const { return checked(impl_).shape; }
const Shape& Tensor::strides() const { return checked(impl_).strides; }
int64_t Tensor::offset() const { return checked(impl_).offset; }
int64_t Tensor::dim() const { return static_cast<int64_t>(shape().size()); }
int64_t Tensor::numel() const { return shape_numel(shape()); }
int64_t Tensor::size(int64_t d) const { return shape()[wrap_dim(d, dim(), "size")]; }
int64_t Tensor::stride(int64_t d) const { return strides()[wrap_dim(d, dim(), "stride")]; }
const std::shared_ptr<Storage>& Tensor::storage() const { return checked(impl_).storage; }

bool Tensor::is_contiguous() const {
  const auto& sh = shape();
  const auto& st = strides();
  int64_t expected = 1;
  for (int64_t i = int64_t(sh.size()) - 1; i >= 0; --i) {
    if (sh[i] == 1) continue;  // a size-1 dim's stride never matters, as in PyTorch
    if (sh[i] == 0) return true;
    if (st[i] != expected) return false;
    expected *= sh[i];
  }
  return true;
}

void* Tensor::data_ptr() const {
  const auto& impl = checked(impl_);
  return static_cast<char*>(impl.storage->data()) + impl.offset * static_cast<int64_t>(dtype_size(impl.dtype));
}

double Tensor::at(const std::vector<int64_t>& index) const {
  CJ_CHECK(is_cpu(), "at: tensor is on ", device().str(), ", expected cpu");
  CJ_CHECK(int64_t(index.size()) == dim(), "at: index ", index, " has ", index.size(), " entries for a tensor of shape ",
           shape());
  int64_t off = 0;
  for (size_t i = 0; i < index.size(); ++i) {
    int64_t k = index[i] < 0 ? index[i] + shape()[i] : index[i];
    CJ_CHECK(k >= 0 && k < shape()[i], "at: index ", index, " out of range for shape ", shape());
    off += k * strides()[i];
  }
  return dispatch_all(dtype(), "at", [&](auto tag) {
    using T = typename decltype(tag)::type;
    return cast_value<double>(static_cast<const T*>(data_ptr())[off]);
  });
}

template <typename T>
T Tensor::item() const {
  CJ_CHECK(numel() == 1, "item: expected a one-element tensor, got shape ", shape());
  if (!is_cpu()) return ops::to(*this, Device::cpu()).item<T>();  // a device scalar: one copy to the host
  return cast_value<T>(at(std::vector<int64_t>(dim(), 0)));
}
template double Tensor::item<double>() const;
template float Tensor::item<float>() const;
template int64_t Tensor::item<int64_t>() const;
template int32_t Tensor::item<int32_t>() const;
template bool Tensor::item<bool>() const;

std::string Tensor::describe() const {
  if (!defined()) return "Tensor(undefined)";
  std::ostringstream os;
  os << "Tensor" << shape() << " " << dtype_name(dtype()) << " " << device().str();
  return os.str();
}

// ---- autograd state ------------------------------------------------------------------------

AutogradMeta* Tensor::autograd_meta() const { return checked(impl_).autograd.get(); }

AutogradMeta& Tensor::ensure_autograd_meta() const {
  checked(impl_);
  if (!impl_->autograd) impl_->autograd = std::make_shared<AutogradMeta>();
  return *impl_->autograd;
}

bool Tensor::requires_grad() const {
  auto* m = autograd_meta();
  return m && m->requires_grad;
}

Tensor& Tensor::requires_grad_(bool requires) {
  CJ_CHECK(!requires || is_floating(dtype()), "requires_grad_: only floating tensors can require grad, got ",
           dtype_name(dtype()));
  CJ_CHECK(is_leaf(), "requires_grad_: can only change requires_grad of a leaf tensor (this one was produced by an op)");
  ensure_autograd_meta().requires_grad = requires;
  return *this;
}

Tensor Tensor::grad() const {
  auto* m = autograd_meta();
  return m && m->grad ? *m->grad : Tensor();
}

void Tensor::set_grad(const Tensor& g) const {
  auto& m = ensure_autograd_meta();
  if (!g.defined()) {
    m.grad.reset();
    return;
  }
  CJ_CHECK(g.shape() == shape(), "set_grad: gradient of shape ", g.shape(), " for a tensor of shape ", shape());
  m.grad = std::make_shared<Tensor>(g);
}

const std::shared_ptr<Node>& Tensor::grad_fn() const {
  static const std::shared_ptr<Node> none;
  auto* m = autograd_meta();
  return m ? m->grad_fn : none;
}

void Tensor::set_grad_fn(std::shared_ptr<Node> node, uint32_t output_nr) const {
  auto& m = ensure_autograd_meta();
  m.requires_grad = node != nullptr;
  m.grad_fn = std::move(node);
  m.output_nr = output_nr;
}

uint32_t Tensor::output_nr() const {
  auto* m = autograd_meta();
  return m ? m->output_nr : 0;
}

uint64_t Tensor::version() const { return storage()->version(); }
void Tensor::bump_version() const { storage()->bump_version(); }

// ---- devices -------------------------------------------------------------------------------

Device Device::parse(const std::string& s) {
  if (s == "cpu") return cpu();
  if (s == "cuda") return cuda(0);
  if (s.rfind("cuda:", 0) == 0) {
    std::string idx = s.substr(5);
    CJ_CHECK(!idx.empty() && idx.find_first_not_of("0123456789") == std::string::npos,
             "device: bad device index in '", s, "' (expected cuda:N)");
    return cuda(std::stoi(idx));
  }
  fail("device: unknown device '", s, "' (expected cpu, cuda or cuda:N)");
}

std::string Device::str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }

}  // namespace cj
