#include "nn/optim/optimizer.hpp"

#include <cmath>

#include "tensor/ops/creation.hpp"
#include "tensor/ops/elementwise.hpp"
#include "tensor/ops/views.hpp"

namespace cj::nn {

Optimizer::Optimizer(std::vector<ParamGroup> groups, double default_lr, double default_weight_decay,
                     const char* name)
    : name_(name) {
  CJ_CHECK(!groups.empty(), name, ": no parameter groups given");
  std::vector<Tensor> seen;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    auto& group = groups[g];
    CJ_CHECK(!group.params.empty(), name, ": parameter group ", g, " is empty");
    for (std::size_t i = 0; i < group.params.size(); ++i) {
      const Tensor& p = group.params[i];
      CJ_CHECK(p.defined(), name, ": parameter ", i, " of group ", g, " is undefined");
      CJ_CHECK(is_floating(p.dtype()), name, ": parameter ", i, " of group ", g, " has dtype ",
               dtype_name(p.dtype()), "; only floating parameters can be optimized");
      for (const auto& other : seen)
        CJ_CHECK(!other.is_same(p), name, ": parameter ", i, " of group ", g, " appears more than once (",
                 p.describe(), ")");
      seen.push_back(p);
    }
    double lr = group.lr.value_or(default_lr);
    double wd = group.weight_decay.value_or(default_weight_decay);
    CJ_CHECK(lr >= 0 && std::isfinite(lr), name, ": invalid lr ", lr, " for group ", g);
    CJ_CHECK(wd >= 0 && std::isfinite(wd), name, ": invalid weight_decay ", wd, " for group ", g);
    groups_.push_back(Group{std::move(group.params), lr, wd});
  }
}

void Optimizer::zero_grad() {
  for (auto& group : groups_)
    for (auto& p : group.params) p.set_grad(Tensor());
}

double Optimizer::lr(std::size_t group) const {
  CJ_CHECK(group < groups_.size(), name_, ": group ", group, " out of range (", groups_.size(), " groups)");
  return groups_[group].lr;
}

void Optimizer::set_lr(std::size_t group, double lr) {
  CJ_CHECK(group < groups_.size(), name_, ": group ", group, " out of range (", groups_.size(), " groups)");
  CJ_CHECK(lr >= 0 && std::isfinite(lr), name_, ": invalid lr ", lr, " for group ", group);
  groups_[group].lr = lr;
}

double Optimizer::weight_decay(std::size_t group) const {
  CJ_CHECK(group < groups_.size(), name_, ": group ", group, " out of range (", groups_.size(), " groups)");
  return groups_[group].weight_decay;
}

const std::vector<Tensor>& Optimizer::group_params(std::size_t group) const {
  CJ_CHECK(group < groups_.size(), name_, ": group ", group, " out of range (", groups_.size(), " groups)");
  return groups_[group].params;
}

std::vector<Tensor> Optimizer::all_params() const {
  std::vector<Tensor> out;
  for (const auto& group : groups_) out.insert(out.end(), group.params.begin(), group.params.end());
  return out;
}

StateDict Optimizer::state_dict() const {
  StateDict out;
  for (std::size_t g = 0; g < groups_.size(); ++g)
    out["group." + std::to_string(g) + ".lr"] = scalar_tensor(groups_[g].lr, DType::f64);
  for (const auto& [index, state] : state_)
    for (const auto& [name, t] : state) out["state." + std::to_string(index) + "." + name] = t;
  return out;
}

void Optimizer::load_state_dict(const StateDict& dict) {
  std::vector<Tensor> params = all_params();
  std::map<std::size_t, ParamState> loaded;
  std::vector<double> lrs(groups_.size());
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    std::string key = "group." + std::to_string(g) + ".lr";
    auto it = dict.find(key);
    CJ_CHECK(it != dict.end(), name_, ".load_state_dict: missing '", key, "'");
    CJ_CHECK(it->second.numel() == 1, name_, ".load_state_dict: '", key, "' has shape ", it->second.shape(),
             ", expected one element");
    lrs[g] = it->second.item<double>();
  }
  for (const auto& [key, t] : dict) {
    if (key.rfind("group.", 0) == 0) {
      auto dot = key.find('.', 6);
      std::size_t g = std::stoul(key.substr(6, dot - 6));
      CJ_CHECK(g < groups_.size(), name_, ".load_state_dict: '", key, "' names group ", g, " but there are ",
               groups_.size());
      continue;
    }
    CJ_CHECK(key.rfind("state.", 0) == 0, name_, ".load_state_dict: unexpected key '", key, "'");
    auto dot = key.find('.', 6);
    CJ_CHECK(dot != std::string::npos && dot > 6, name_, ".load_state_dict: malformed key '", key, "'");
    std::size_t index = 0;
    try {
      index = std::stoul(key.substr(6, dot - 6));
    } catch (const std::exception&) {
      fail(name_, ".load_state_dict: malformed key '", key, "'");
    }
    CJ_CHECK(index < params.size(), name_, ".load_state_dict: '", key, "' names parameter ", index,
             " but the optimizer has ", params.size());
    std::string name = key.substr(dot + 1);
    // The step counter is a scalar; moment buffers have their parameter's shape.
    if (name == "step")
      CJ_CHECK(t.numel() == 1, name_, ".load_state_dict: '", key, "' has shape ", t.shape(), ", expected a scalar");
    else
      CJ_CHECK(t.shape() == params[index].shape(), name_, ".load_state_dict: '", key, "' has shape ", t.shape(),
               " but parameter ", index, " has ", params[index].shape());
    loaded[index][name] = ops::clone(t);  // own copy: the dict may alias a read-only file mapping
  }
  for (std::size_t g = 0; g < groups_.size(); ++g) groups_[g].lr = lrs[g];
  state_ = std::move(loaded);
}

void Optimizer::follow_parameter(const Tensor& p, ParamState& state) {
  for (auto& [name, t] : state)
    if (is_floating(t.dtype()) && t.shape() == p.shape() && (t.device() != p.device() || t.dtype() != p.dtype()))
      t = ops::to(ops::to(t, p.dtype()), p.device());
}

void scale_gradients(const std::vector<Tensor>& params, double factor) {
  for (const auto& p : params) {
    Tensor g = p.grad();
    if (g.defined()) ops::mul_(g, factor);
  }
}

}  // namespace cj::nn
