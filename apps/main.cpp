// cjepa: dispatches to one subcommand per pipeline stage (apps/cmd_*.cpp).
#include <iostream>
#include <string>
#include <vector>

#include "apps/build_info.hpp"
#include "apps/cli.hpp"
#include "tensor/error.hpp"

using namespace cj::app;

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::cerr << program_usage();
    return kExitUsage;
  }
  const std::string& first = args[0];
  if (first == "--help" || first == "-h" || first == "help") {
    std::cout << program_usage();
    return kExitOk;
  }
  if (first == "--version" || first == "-V") {
    std::cout << "cjepa " << CJ_VERSION << " (" << CJ_GIT_REVISION << ")\n";
    return kExitOk;
  }
  for (const auto& cmd : subcommands()) {
    if (cmd.name != first) continue;
    std::vector<std::string> rest(args.begin() + 1, args.end());
    try {
      return cmd.run(rest);
    } catch (const UsageError& e) {
      std::cerr << "cjepa " << cmd.name << ": " << e.what() << "\n";
      std::cerr << "Run 'cjepa " << cmd.name << " --help' for usage.\n";
      return kExitUsage;
    } catch (const cj::Error& e) {
      std::cerr << "cjepa " << cmd.name << ": error: " << e.what() << "\n";
      return kExitFailure;
    } catch (const std::exception& e) {
      std::cerr << "cjepa " << cmd.name << ": internal error: " << e.what() << "\n";
      return kExitFailure;
    }
  }
  std::cerr << "cjepa: " << (first[0] == '-' ? "unknown option '" : "unknown command '") << first << "'\n";
  std::cerr << program_usage();
  return kExitUsage;
}
