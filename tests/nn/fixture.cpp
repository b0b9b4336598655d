// Fixtures are read with the tests' shared safetensors reader (tests/tensor/fixture_reader.hpp)
// until the engine's reader (tensor/io) is merged.
#include "fixture.hpp"

#include <gtest/gtest.h>

#include "tests/tensor/fixture_reader.hpp"
#include "tests/tensor/numeric_check.hpp"

namespace cj::test {

Fixture load_fixture(const std::string& name) {
  FixtureFile file(fixture_path("nn/" + name + ".safetensors"));
  Fixture f;
  f.name = name;
  f.tensors = file.tensors();
  if (file.metadata().count("config")) f.config = nlohmann::json::parse(file.meta("config"));
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
