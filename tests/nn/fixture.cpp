#include "fixture.hpp"

#include <gtest/gtest.h>

#include "tensor/io/safetensors.hpp"
#include "tests/tensor/numeric_check.hpp"

namespace cj::test {

Fixture load_fixture(const std::string& name) {
  auto file = io::read_safetensors(std::string(CJ_FIXTURE_DIR) + "/nn/" + name + ".safetensors");
  Fixture f;
  f.name = name;
  f.tensors = std::move(file.tensors);
  auto it = file.metadata.find("config");
  if (it != file.metadata.end()) f.config = nlohmann::json::parse(it->second);
  return f;
}

const Tensor& Fixture::at(const std::string& key) const {
  auto it = tensors.find(key);
  if (it == tensors.end()) {
    ADD_FAILURE() << "fixture " << name << " has no tensor '" << key << "'";
    fail("fixture ", name, " has no tensor '", key, "'");
  }
  return it->second;
}

std::map<std::string, Tensor> Fixture::with_prefix(const std::string& prefix) const {
  std::map<std::string, Tensor> out;
  for (const auto& [k, v] : tensors)
    if (k.rfind(prefix, 0) == 0) out[k.substr(prefix.size())] = v;
  return out;
}

double rel_error(const Tensor& actual, const Tensor& expected) {
  CJ_CHECK(actual.defined() && expected.defined(), "rel_error: undefined tensor");
  CJ_CHECK(actual.shape() == expected.shape(), "rel_error: shapes differ: ", actual.shape(), " vs ",
           expected.shape());
  return max_rel_error(actual, expected);
}

}  // namespace cj::test
