#pragma once
// The per-case parameters that tools/fixtures/tensor_ops.py stores as JSON in a fixture's metadata.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/tensor/fixture_reader.hpp"

namespace cj::test {

inline std::vector<nlohmann::json> fixture_cases(const FixtureFile& file) {
  std::vector<nlohmann::json> cases;
  for (auto& c : nlohmann::json::parse(file.meta("cases"))) cases.push_back(c);
  return cases;
}

}  // namespace cj::test
