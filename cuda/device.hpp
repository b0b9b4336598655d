#pragma once
// CUDA device queries. Safe to call on a machine without a GPU or driver: they report why no
// device is visible instead of failing.
#include <cstddef>
#include <string>
#include <vector>

namespace cj::cuda {

struct DeviceProps {
  int index = 0;
  std::string name;
  int major = 0, minor = 0;       // compute capability
  std::size_t total_memory = 0;   // bytes
  int multiprocessors = 0;
};

struct DeviceQuery {
  std::vector<DeviceProps> devices;
  std::string why_none;  // set when devices is empty: "no CUDA driver", "no CUDA device", ...
};

DeviceQuery query_devices();

// Versions of what the backend was compiled and linked with, e.g. "CUDA runtime 13.0".
std::vector<std::string> library_versions();

// Runs a tiny kernel (y = a*x + y on n floats) and returns the max abs error against the host
// result; throws cj::Error naming the failing CUDA call when no device works.
double selftest_saxpy(int n);

}  // namespace cj::cuda
