#pragma once
// Module: a tree of named parameters, buffers and submodules with PyTorch's dotted names
// ("blocks.0.attn.in_proj_weight"), so state dicts saved by PyTorch load by their own keys.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tensor/tensor.hpp"

namespace cj::nn {

using StateDict = std::map<std::string, Tensor>;
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// What load_state_dict found; with strict loading any entry here is an error listing all of them.
struct LoadReport {
  std::vector<std::string> missing;     // in the module, not in the dict
  std::vector<std::string> unexpected;  // in the dict, not in the module
  std::vector<std::string> mismatched;  // "name: module [3, 4] vs dict [4, 3]" (shape or dtype)
  bool ok() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
  std::string str() const;
};

class Module : public std::enable_shared_from_this<Module> {
 public:
  virtual ~Module() = default;

  NamedTensors named_parameters(bool recurse = true) const;
  NamedTensors named_buffers(bool recurse = true) const;
  std::vector<Tensor> parameters(bool recurse = true) const;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const { return children_; }
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_modules() const;  // self first, as ""
  int64_t num_parameters() const;

  // Parameters and persistent buffers by dotted name. The tensors alias the module's own storage.
  StateDict state_dict() const;
  // Copies values into the existing tensors (dtype-converting where the dict's dtype differs only
  // in precision is NOT done: dtypes must match). strict: throws one cj::Error listing every
  // missing, unexpected and mismatched key. Non-strict: loads what matches and returns the report.
  LoadReport load_state_dict(const StateDict& dict, bool strict = true);

  // Moves every parameter and buffer to `device` and/or casts the floating ones to `dtype`, IN
  // PLACE (torch's `param.data = param.data.to(...)`): the handles a model keeps as members and
  // an optimizer holds see the change; parameters stay leaves with their requires_grad, and a
  // .grad moves with its parameter. Tensors already there are left alone (to(cpu) on a CPU model
  // keeps every tensor's identity). Asking for a device this build or machine lacks throws one
  // cj::Error saying which of the two. Optimizer state follows its parameter on the next step
  // (nn/optim/optimizer.hpp), so an optimizer may be built before or after the move.
  Module& to(Device device);
  Module& to(DType dtype);
  Module& to(Device device, DType dtype);
  // Where the first parameter (else buffer) lives: cpu for a module without tensors.
  Device device() const;

  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  void zero_grad();  // drops every parameter's .grad

 protected:
  // Registers a leaf tensor as a trainable parameter (requires_grad set) and returns the handle.
  Tensor register_parameter(const std::string& name, Tensor t, bool requires_grad = true);
  Tensor register_buffer(const std::string& name, Tensor t, bool persistent = true);
  template <typename M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    add_child(name, m);
    return m;
  }

 private:
  void add_child(const std::string& name, std::shared_ptr<Module> m);
  Module& convert(std::optional<Device> device, std::optional<DType> dtype);
  void collect(const std::string& prefix, bool params, bool recurse, bool persistent_only, NamedTensors& out) const;

  NamedTensors params_;
  NamedTensors buffers_;
  std::vector<std::string> non_persistent_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

// A module with one tensor in and one out: what Sequential chains. operator() calls forward.
class UnaryModule : public Module {
 public:
  virtual Tensor forward(const Tensor& x) = 0;
  Tensor operator()(const Tensor& x) { return forward(x); }
};

// An optional parameter (a layer built without bias leaves it undefined) as the ops take it.
inline std::optional<Tensor> if_defined(const Tensor& t) { return t.defined() ? std::optional<Tensor>(t) : std::nullopt; }

// Joins a prefix and a name with a dot ("" + "w" = "w").
std::string join_name(const std::string& prefix, const std::string& name);

}  // namespace cj::nn
