#pragma once
// Runs the built cjepa binary and captures what it printed and how it exited.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace cj::test {

struct CliResult {
  int exit_code = -1;
  std::string out;  // stdout and stderr together
};

inline CliResult run_cjepa(const std::string& args) {
  CliResult r;
  std::string cmd = std::string(CJ_CJEPA_BIN) + " " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.out.append(buf.data(), n);
  int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace cj::test
