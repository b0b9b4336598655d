#pragma once
// The command-line layer of `cjepa`: a registry of subcommands and a small flag parser that gives
// every subcommand `--help`, typed options, and one-line errors with exit code 2 on misuse.
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "tensor/device.hpp"

namespace cj::app {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;  // the command ran and failed (bad file, bad value, ...)
constexpr int kExitUsage = 2;    // the command line itself is wrong

// Misuse of the command line: printed as one line followed by the usage, exit code 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Args {
 public:
  Args(std::string command, std::string summary);

  Args& flag(const std::string& name, const std::string& help);  // --name (boolean)
  Args& option(const std::string& name, const std::string& metavar, const std::string& help,
               std::optional<std::string> default_value = std::nullopt);
  Args& repeated(const std::string& name, const std::string& metavar, const std::string& help);
  Args& positional(const std::string& name, const std::string& help, bool required = true);
  Args& epilog(const std::string& text);

  // Parses argv (without the program and subcommand names). Returns false when --help was given
  // (the usage has then been printed). Throws UsageError on unknown flags or missing values.
  bool parse(const std::vector<std::string>& argv);

  bool has(const std::string& name) const;        // given on the command line (or has a default)
  bool enabled(const std::string& flag_name) const;
  std::string get(const std::string& name) const;  // throws UsageError if absent
  std::vector<std::string> get_all(const std::string& name) const;
  long long get_int(const std::string& name) const;
  double get_double(const std::string& name) const;
  // The standard --device option (default cpu) and its value: a bad spelling is a UsageError; a
  // device this build or machine lacks is one cj::Error saying which of the two.
  Args& device_option(const std::string& what);
  Device get_device() const;

  std::string usage() const;
  const std::string& command() const { return command_; }

 private:
  struct Spec {
    std::string name, metavar, help;
    bool is_flag = false, is_repeated = false, is_positional = false, required = false;
    std::optional<std::string> default_value;
  };
  const Spec* find(const std::string& name) const;
  void declare(Spec spec);

  std::string command_, summary_, epilog_;
  std::vector<Spec> specs_;
  std::map<std::string, std::vector<std::string>> values_;
};

struct Subcommand {
  std::string name;
  std::string summary;
  std::function<int(const std::vector<std::string>&)> run;
};

// Subcommands register themselves from their own file: `static Registration r({...});`.
std::vector<Subcommand>& subcommands();
struct Registration {
  explicit Registration(Subcommand c);
};

std::string program_usage();

}  // namespace cj::app
