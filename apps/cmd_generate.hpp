#pragma once
// `cjepa generate <kind>`: one data generator per kind, each registering itself from its own file
// (apps/cmd_generate_<kind>.cpp) with `static GenerateKindRegistration r({...});`.
#include <functional>
#include <string>
#include <vector>

namespace cj::app {

struct GenerateKind {
  std::string name;
  std::string summary;
  std::function<int(const std::vector<std::string>&)> run;  // gets the arguments after the kind
};

std::vector<GenerateKind>& generate_kinds();

struct GenerateKindRegistration {
  explicit GenerateKindRegistration(GenerateKind kind);
};

}  // namespace cj::app
