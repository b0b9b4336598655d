#pragma once
// PyTorch parity fixtures of tests/fixtures/nn (written by tools/fixtures/nn_layers.py): named
// tensors plus the layer's constructor arguments as JSON, and the comparisons the tests use.
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "tensor/tensor.hpp"

namespace cj::test {

struct Fixture {
  std::string name;
  std::map<std::string, Tensor> tensors;
  nlohmann::json config;  // metadata "config"

  // The tensor stored under key; fails the calling test with the fixture's name if absent.
  const Tensor& at(const std::string& key) const;
  bool has(const std::string& key) const { return tensors.count(key) != 0; }
  // Every "<prefix><rest>" entry as rest -> tensor (e.g. prefix "param." gives a state dict).
  std::map<std::string, Tensor> with_prefix(const std::string& prefix) const;
};

// Loads tests/fixtures/nn/<name>.safetensors.
Fixture load_fixture(const std::string& name);

// max |a - b| / max |b| (computed in f64 on the host); shapes must match.
double rel_error(const Tensor& actual, const Tensor& expected);

}  // namespace cj::test
