#include "apps/cli.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <iostream>
#include <sstream>

#include "tensor/error.hpp"
#include "tensor/storage.hpp"

namespace cj::app {

Args::Args(std::string command, std::string summary)
    : command_(std::move(command)), summary_(std::move(summary)) {}

void Args::declare(Spec spec) {
  if (find(spec.name)) throw std::logic_error("option declared twice: " + spec.name);
  specs_.push_back(std::move(spec));
}

Args& Args::flag(const std::string& name, const std::string& help) {
  Spec s;
  s.name = name;
  s.help = help;
  s.is_flag = true;
  declare(s);
  return *this;
}

Args& Args::option(const std::string& name, const std::string& metavar, const std::string& help,
                   std::optional<std::string> default_value) {
  Spec s;
  s.name = name;
  s.metavar = metavar;
  s.help = help;
  s.default_value = std::move(default_value);
  declare(s);
  return *this;
}

Args& Args::repeated(const std::string& name, const std::string& metavar, const std::string& help) {
  Spec s;
  s.name = name;
  s.metavar = metavar;
  s.help = help;
  s.is_repeated = true;
  declare(s);
  return *this;
}

Args& Args::positional(const std::string& name, const std::string& help, bool required) {
  Spec s;
  s.name = name;
  s.metavar = name;
  s.help = help;
  s.is_positional = true;
  s.required = required;
  declare(s);
  return *this;
}

Args& Args::epilog(const std::string& text) {
  epilog_ = text;
  return *this;
}

const Args::Spec* Args::find(const std::string& name) const {
  for (const auto& s : specs_)
    if (s.name == name) return &s;
  return nullptr;
}

bool Args::parse(const std::vector<std::string>& argv) {
  std::vector<const Spec*> positionals;
  for (const auto& s : specs_)
    if (s.is_positional) positionals.push_back(&s);
  size_t next_positional = 0;
  bool only_positionals = false;

  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (!only_positionals && (a == "--help" || a == "-h")) {
      std::cout << usage();
      return false;
    }
    if (!only_positionals && a == "--") {
      only_positionals = true;
      continue;
    }
    if (!only_positionals && a.size() > 1 && a[0] == '-') {
      std::string name = a.substr(a.rfind('-', 1) == 1 ? 2 : 1);
      std::optional<std::string> inline_value;
      if (auto eq = name.find('='); eq != std::string::npos) {
        inline_value = name.substr(eq + 1);
        name = name.substr(0, eq);
      }
      const Spec* s = find(name);
      if (!s || s->is_positional) throw UsageError("unknown option '" + a + "'");
      if (s->is_flag) {
        if (inline_value) throw UsageError("option '--" + name + "' takes no value");
        values_[name].push_back("1");
        continue;
      }
      std::string value;
      if (inline_value) {
        value = *inline_value;
      } else {
        if (i + 1 >= argv.size()) throw UsageError("option '--" + name + "' needs a value <" + s->metavar + ">");
        value = argv[++i];
      }
      if (!s->is_repeated) values_[name].clear();
      values_[name].push_back(value);
      continue;
    }
    if (next_positional >= positionals.size()) throw UsageError("unexpected argument '" + a + "'");
    values_[positionals[next_positional++]->name].push_back(a);
  }
  for (const auto* p : positionals)
    if (p->required && !values_.count(p->name)) throw UsageError("missing argument <" + p->name + ">");
  return true;
}

bool Args::has(const std::string& name) const {
  const Spec* s = find(name);
  return values_.count(name) || (s && s->default_value);
}

bool Args::enabled(const std::string& flag_name) const { return values_.count(flag_name) > 0; }

std::string Args::get(const std::string& name) const {
  if (auto it = values_.find(name); it != values_.end()) return it->second.back();
  const Spec* s = find(name);
  if (s && s->default_value) return *s->default_value;
  throw UsageError("missing option '--" + name + "'");
}

std::vector<std::string> Args::get_all(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

long long Args::get_int(const std::string& name) const {
  std::string v = get(name);
  char* end = nullptr;
  errno = 0;
  long long x = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno == ERANGE)
    throw UsageError("option '--" + name + "' expects an integer, got '" + v + "'");
  return x;
}

double Args::get_double(const std::string& name) const {
  std::string v = get(name);
  char* end = nullptr;
  errno = 0;
  double x = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || errno == ERANGE)
    throw UsageError("option '--" + name + "' expects a number, got '" + v + "'");
  return x;
}

Args& Args::device_option(const std::string& what) {
  return option("device", "D", "cpu, cuda or cuda:N: where " + what, "cpu");
}

Device Args::get_device() const {
  const std::string v = get("device");
  Device d;
  try {
    d = Device::parse(v);
  } catch (const Error&) {
    throw UsageError("option '--device' must be cpu, cuda or cuda:N, got '" + v + "'");
  }
  require_device(d);
  return d;
}

std::string Args::usage() const {
  std::ostringstream os;
  os << "usage: cjepa " << command_;
  bool any_option = false;
  for (const auto& s : specs_) any_option |= !s.is_positional;
  if (any_option) os << " [options]";
  for (const auto& s : specs_)
    if (s.is_positional) os << (s.required ? " <" : " [") << s.name << (s.required ? ">" : "]");
  os << "\n\n" << summary_ << "\n";
  std::vector<std::pair<std::string, std::string>> rows;
  for (const auto& s : specs_) {
    if (s.is_positional) rows.push_back({"<" + s.name + ">", s.help});
  }
  for (const auto& s : specs_) {
    if (s.is_positional) continue;
    std::string left = "--" + s.name + (s.is_flag ? "" : " <" + s.metavar + ">");
    std::string right = s.help;
    if (s.default_value) right += " (default: " + *s.default_value + ")";
    if (s.is_repeated) right += " (repeatable)";
    rows.push_back({left, right});
  }
  rows.push_back({"-h, --help", "show this help and exit"});
  size_t width = 0;
  for (const auto& r : rows) width = std::max(width, r.first.size());
  os << "\n";
  for (const auto& r : rows) os << "  " << r.first << std::string(width - r.first.size() + 2, ' ') << r.second << "\n";
  if (!epilog_.empty()) os << "\n" << epilog_ << "\n";
  return os.str();
}

std::vector<Subcommand>& subcommands() {
  static std::vector<Subcommand> all;
  return all;
}

Registration::Registration(Subcommand c) { subcommands().push_back(std::move(c)); }

std::string program_usage() {
  auto cmds = subcommands();
  std::sort(cmds.begin(), cmds.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  std::ostringstream os;
  os << "usage: cjepa <command> [options]\n"
     << "       cjepa --help | --version\n\n"
     << "cjepa: the C-JEPA object-centric world model, natively in C++/CUDA.\n\ncommands:\n";
  size_t width = 0;
  for (const auto& c : cmds) width = std::max(width, c.name.size());
  for (const auto& c : cmds) os << "  " << c.name << std::string(width - c.name.size() + 2, ' ') << c.summary << "\n";
  os << "\nRun 'cjepa <command> --help' for a command's options.\n";
  return os.str();
}

}  // namespace cj::app
