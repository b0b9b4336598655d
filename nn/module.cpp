#include "nn/module.hpp"

#include <algorithm>
#include <set>
#include <sstream>

#include "tensor/ops/views.hpp"

namespace cj::nn {

std::string join_name(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}

std::string LoadReport::str() const {
  std::ostringstream os;
  auto list = [&os](const char* what, const std::vector<std::string>& keys) {
    if (keys.empty()) return;
    os << "\n  " << what << " (" << keys.size() << "):";
    for (const auto& k : keys) os << "\n    " << k;
  };
  list("missing keys", missing);
  list("unexpected keys", unexpected);
  list("mismatched", mismatched);
  return os.str();
}

Tensor Module::register_parameter(const std::string& name, Tensor t, bool requires_grad) {
  CJ_CHECK(t.defined(), "register_parameter: '", name, "' is undefined");
  CJ_CHECK(name.find('.') == std::string::npos && !name.empty(), "register_parameter: bad name '", name, "'");
  for (const auto& [n, _] : params_) CJ_CHECK(n != name, "register_parameter: '", name, "' registered twice");
  if (requires_grad) t.requires_grad_(true);
  params_.emplace_back(name, t);
  return t;
}

Tensor Module::register_buffer(const std::string& name, Tensor t, bool persistent) {
  CJ_CHECK(name.find('.') == std::string::npos && !name.empty(), "register_buffer: bad name '", name, "'");
  buffers_.emplace_back(name, t);
  if (!persistent) non_persistent_.push_back(name);
  return t;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> m) {
  CJ_CHECK(m != nullptr, "register_module: '", name, "' is null");
  for (const auto& [n, _] : children_) CJ_CHECK(n != name, "register_module: '", name, "' registered twice");
  children_.emplace_back(name, std::move(m));
}

void Module::collect(const std::string& prefix, bool params, bool recurse, bool persistent_only,
                     NamedTensors& out) const {
  for (const auto& [name, t] : params ? params_ : buffers_) {
    if (!params && persistent_only &&
        std::find(non_persistent_.begin(), non_persistent_.end(), name) != non_persistent_.end())
      continue;
    out.emplace_back(join_name(prefix, name), t);
  }
  if (!recurse) return;
  for (const auto& [name, child] : children_) child->collect(join_name(prefix, name), params, true, persistent_only, out);
}

NamedTensors Module::named_parameters(bool recurse) const {
  NamedTensors out;
  collect("", true, recurse, false, out);
  return out;
}

NamedTensors Module::named_buffers(bool recurse) const {
  NamedTensors out;
  collect("", false, recurse, false, out);
  return out;
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [_, t] : named_parameters(recurse)) out.push_back(t);
  return out;
}

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_modules() const {
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> out;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> stack;
  for (auto it = children_.rbegin(); it != children_.rend(); ++it) stack.push_back(*it);
  while (!stack.empty()) {
    auto [name, m] = stack.back();
    stack.pop_back();
    out.emplace_back(name, m);
    const auto& kids = m->children_;
    for (auto it = kids.rbegin(); it != kids.rend(); ++it) stack.emplace_back(join_name(name, it->first), it->second);
  }
  return out;
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (const auto& t : parameters()) n += t.numel();
  return n;
}

StateDict Module::state_dict() const {
  NamedTensors all;
  collect("", true, true, false, all);
  collect("", false, true, true, all);
  return StateDict(all.begin(), all.end());
}

LoadReport Module::load_state_dict(const StateDict& dict, bool strict) {
  NamedTensors own;
  collect("", true, true, false, own);
  collect("", false, true, true, own);
  LoadReport report;
  std::set<std::string> seen;
  std::vector<std::pair<Tensor, Tensor>> to_copy;  // (dst, src), copied only after validation
  for (const auto& [name, dst] : own) {
    seen.insert(name);
    auto it = dict.find(name);
    if (it == dict.end()) {
      report.missing.push_back(name);
      continue;
    }
    const Tensor& src = it->second;
    if (src.shape() != dst.shape() || src.dtype() != dst.dtype()) {
      std::ostringstream os;
      os << name << ": module " << dst.shape() << " " << dtype_name(dst.dtype()) << " vs dict " << src.shape() << " "
         << dtype_name(src.dtype());
      report.mismatched.push_back(os.str());
      continue;
    }
    to_copy.emplace_back(dst, src);
  }
  for (const auto& [name, _] : dict)
    if (!seen.count(name)) report.unexpected.push_back(name);
  CJ_CHECK(!strict || report.ok(), "load_state_dict: the state dict does not fit the module:", report.str());
  // Writing into parameters is not an op to record: copy_ is a raw kernel, no graph is built.
  for (auto& [dst, src] : to_copy) ops::copy_(dst, src);
  return report;
}

Module& Module::to(Device device) { return convert(device, std::nullopt); }
Module& Module::to(DType dtype) { return convert(std::nullopt, dtype); }
Module& Module::to(Device device, DType dtype) { return convert(device, dtype); }

Module& Module::convert(std::optional<Device> device, std::optional<DType> dtype) {
  CJ_CHECK(!dtype || is_floating(*dtype), "Module::to: dtype must be floating (the cast applies to floating ",
           "parameters and buffers), got ", dtype_name(*dtype));
  if (device) require_device(*device);
  // Cast first, then move: the cast runs where the data is, and the transfer carries the final dtype.
  auto converted = [&](const Tensor& t) {
    Tensor out = dtype && is_floating(t.dtype()) ? ops::to(t, *dtype) : t;
    return device ? ops::to(out, *device) : out;
  };
  NamedTensors all;
  collect("", true, true, false, all);
  collect("", false, true, false, all);
  std::vector<Tensor> done;  // a tensor registered under two names (shared weights) converts once
  for (auto& [name, t] : all) {
    if (!t.defined() || std::any_of(done.begin(), done.end(), [&](const Tensor& d) { return d.is_same(t); })) continue;
    done.push_back(t);
    Tensor moved = converted(t);
    if (moved.is_same(t)) continue;
    Tensor grad = t.grad();
    t.set_data(moved);
    if (grad.defined()) t.set_grad(converted(grad));
  }
  return *this;
}

Device Module::device() const {
  NamedTensors all;
  collect("", true, true, false, all);
  collect("", false, true, false, all);
  for (const auto& [_, t] : all)
    if (t.defined()) return t.device();
  return Device::cpu();
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [_, child] : children_) child->train(on);
}

void Module::zero_grad() {
  for (auto& t : parameters()) t.set_grad(Tensor());
}

}  // namespace cj::nn
