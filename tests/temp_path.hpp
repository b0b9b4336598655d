#pragma once
// A path in the system temp folder unique to this process: test binaries of several build trees
// (CI's plain and sanitizer runs, engineers' trees) may run the same test at once.
#include <unistd.h>

#include <filesystem>
#include <string>

namespace cj::test {

inline std::filesystem::path unique_temp_path(const std::string& name) {
  return std::filesystem::temp_directory_path() / (name + "_" + std::to_string(::getpid()));
}

}  // namespace cj::test
