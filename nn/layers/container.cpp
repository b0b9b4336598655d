#include "nn/layers/container.hpp"

#include <string>

namespace cj::nn {

Sequential::Sequential(std::vector<std::shared_ptr<UnaryModule>> modules) {
  for (auto& m : modules) push_back(std::move(m));
}

void Sequential::push_back(std::shared_ptr<UnaryModule> module) {
  register_module(std::to_string(modules_.size()), module);
  modules_.push_back(std::move(module));
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor y = x;
  for (auto& m : modules_) y = m->forward(y);
  return y;
}

const std::shared_ptr<UnaryModule>& Sequential::operator[](std::size_t i) const {
  CJ_CHECK(i < modules_.size(), "Sequential: index ", i, " out of range (size ", modules_.size(), ")");
  return modules_[i];
}

}  // namespace cj::nn
