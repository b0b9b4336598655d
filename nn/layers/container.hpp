#pragma once
// torch.nn.Sequential and torch.nn.ModuleList: children named "0", "1", ... so that state dict
// keys read "layers.0.weight" as in PyTorch.
#include <memory>
#include <vector>

#include "nn/module.hpp"

namespace cj::nn {

// Chains one-tensor modules: forward(x) = m_n(...m_1(x)).
class Sequential : public UnaryModule {
 public:
  Sequential() = default;
  explicit Sequential(std::vector<std::shared_ptr<UnaryModule>> modules);
  void push_back(std::shared_ptr<UnaryModule> module);
  Tensor forward(const Tensor& x) override;
  std::size_t size() const { return modules_.size(); }
  const std::shared_ptr<UnaryModule>& operator[](std::size_t i) const;

 private:
  std::vector<std::shared_ptr<UnaryModule>> modules_;
};

// Holds modules of one type M (any Module) for the caller to run in its own way.
template <typename M = Module>
class ModuleList : public Module {
 public:
  ModuleList() = default;
  explicit ModuleList(std::vector<std::shared_ptr<M>> modules) {
    for (auto& m : modules) push_back(std::move(m));
  }
  void push_back(std::shared_ptr<M> module) {
    register_module(std::to_string(modules_.size()), module);
    modules_.push_back(std::move(module));
  }
  std::size_t size() const { return modules_.size(); }
  const std::shared_ptr<M>& operator[](std::size_t i) const {
    CJ_CHECK(i < modules_.size(), "ModuleList: index ", i, " out of range (size ", modules_.size(), ")");
    return modules_[i];
  }
  auto begin() const { return modules_.begin(); }
  auto end() const { return modules_.end(); }

 private:
  std::vector<std::shared_ptr<M>> modules_;
};

}  // namespace cj::nn
