// cjepa generate <kind> [options]: dispatches to the generators registered in generate_kinds().
#include "apps/cmd_generate.hpp"

#include <algorithm>
#include <iostream>
#include <sstream>

#include "apps/cli.hpp"

namespace cj::app {

std::vector<GenerateKind>& generate_kinds() {
  static std::vector<GenerateKind> kinds;
  return kinds;
}

GenerateKindRegistration::GenerateKindRegistration(GenerateKind kind) { generate_kinds().push_back(std::move(kind)); }

namespace {

std::string kinds_table() {
  auto kinds = generate_kinds();
  std::sort(kinds.begin(), kinds.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  std::ostringstream os;
  os << "kinds:\n";
  for (const auto& k : kinds) os << "  " << k.name << "  " << k.summary << "\n";
  os << "\nRun 'cjepa generate <kind> --help' for a kind's options.";
  return os.str();
}

int run_generate(const std::vector<std::string>& argv) {
  if (argv.empty() || argv[0] == "--help" || argv[0] == "-h") {
    Args args("generate", "Generate a data set of the given kind.");
    args.positional("kind", "what to generate").epilog(kinds_table());
    if (argv.empty()) throw UsageError("missing argument <kind>");
    args.parse(argv);
    return kExitOk;
  }
  for (const auto& kind : generate_kinds())
    if (kind.name == argv[0]) return kind.run({argv.begin() + 1, argv.end()});
  std::string names;
  for (const auto& k : generate_kinds()) names += (names.empty() ? "" : ", ") + k.name;
  throw UsageError("unknown kind '" + argv[0] + "' (expected one of: " + names + ")");
}

Registration reg({"generate", "generate data sets (generate <kind>; see generate --help)", run_generate});

}  // namespace
}  // namespace cj::app
