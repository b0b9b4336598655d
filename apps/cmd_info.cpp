// cjepa info: what this build is and what it can use on this machine.
#include <chipmunk/chipmunk.h>
#include <nlohmann/json.hpp>
extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libswscale/swscale.h>
}
#include <Eigen/Core>

#include <fstream>
#include <iostream>
#include <string>
#include <thread>

#include "apps/build_info.hpp"
#include "apps/cli.hpp"
#include "tensor/dtype.hpp"
#include "tensor/ops.hpp"
#ifdef CJ_WITH_CUDA
#include "cuda/allocator.hpp"
#include "cuda/device.hpp"
#endif

namespace cj::app {
namespace {

std::string ffmpeg_version(unsigned v) {
  return std::to_string(v >> 16) + "." + std::to_string((v >> 8) & 0xff) + "." + std::to_string(v & 0xff);
}

std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown CPU";
}

#ifdef CJ_WITH_CUDA
// The caching allocator's counters, as numbers and as the one line the text output prints.
nlohmann::json allocator_stats() {
  const cuda::AllocatorStats s = cuda::memory_stats();
  return {{"allocated_bytes", s.allocated},      {"peak_bytes", s.peak_allocated}, {"cached_bytes", s.cached},
          {"segments", s.segments},              {"allocations", s.allocations},
          {"device_allocations", s.raw_allocations}, {"summary", cuda::format_stats(s)}};
}

// --selftest: a kernel, and a 1 MiB tensor there and back through the allocator, so the stats
// show it working. Returns what happened, one line; throws when the copy changed the values.
std::string cuda_selftest() {
  const double err = cuda::selftest_saxpy(1 << 20);
  const Tensor host = full({1 << 18}, 1.5f);                     // 1 MiB of f32
  const Tensor back = ops::to(ops::to(host, Device::cuda()), Device::cpu());
  CJ_CHECK(to_vector<float>(back) == to_vector<float>(host), "info --selftest: a 1 MiB copy to cuda:0 and back ",
           "changed the values");
  return "saxpy max error " + std::to_string(err) + "; 1 MiB round trip exact";
}
#endif

nlohmann::json collect(bool selftest) {
  nlohmann::json j;
  j["version"] = CJ_VERSION;
  j["git"] = CJ_GIT_REVISION;
  j["build"] = {{"type", CJ_BUILD_TYPE},
                {"compiler", CJ_CXX_COMPILER},
                {"sanitizers", std::string(CJ_SANITIZERS).empty() ? "none" : CJ_SANITIZERS}};
  nlohmann::json backends = {{"cpu", "Eigen " + std::to_string(EIGEN_WORLD_VERSION) + "." +
                                         std::to_string(EIGEN_MAJOR_VERSION) + "." +
                                         std::to_string(EIGEN_MINOR_VERSION)}};
#ifdef CJ_WITH_CUDA
  backends["cuda"] = std::string("compiled (nvcc ") + CJ_CUDA_COMPILER + ", archs " + CJ_CUDA_ARCHS +
#ifdef CJ_WITH_CUDNN
                     ", cuDNN)";
#else
                     ", no cuDNN)";
#endif
#else
  backends["cuda"] = "not compiled in (configure with -DCJ_CUDA=ON on a machine with nvcc)";
#endif
  j["backends"] = backends;

  nlohmann::json devices = nlohmann::json::array();
  devices.push_back({{"device", "cpu"}, {"name", cpu_model()},
                     {"threads", std::thread::hardware_concurrency()}});
  std::string cuda_none = "CUDA backend not compiled in";
#ifdef CJ_WITH_CUDA
  auto q = cuda::query_devices();
  for (const auto& d : q.devices)
    devices.push_back({{"device", "cuda:" + std::to_string(d.index)},
                       {"name", d.name},
                       {"compute_capability", std::to_string(d.major) + "." + std::to_string(d.minor)},
                       {"memory_gib", d.total_memory / double(1 << 30)},
                       {"multiprocessors", d.multiprocessors}});
  cuda_none = q.why_none;
  if (!q.devices.empty()) {
    if (selftest) j["cuda_selftest"] = cuda_selftest();
    j["cuda_allocator"] = allocator_stats();
  } else {
    j["cuda_allocator"] = {{"summary", "unused: no CUDA device"}};
  }
#else
  (void)selftest;
#endif
  j["devices"] = devices;
  if (!cuda_none.empty()) j["cuda_devices"] = cuda_none;

  nlohmann::json dtypes = nlohmann::json::array();
  for (int i = 0; i < kNumDTypes; ++i) dtypes.push_back(dtype_name(static_cast<DType>(i)));
  j["dtypes"] = dtypes;

  nlohmann::json libs = {
      {"Eigen", backends["cpu"].get<std::string>().substr(6)},
      {"libavformat", ffmpeg_version(avformat_version())},
      {"libavcodec", ffmpeg_version(avcodec_version())},
      {"libswscale", ffmpeg_version(swscale_version())},
      {"Chipmunk2D", cpVersionString},
      {"nlohmann_json", std::to_string(NLOHMANN_JSON_VERSION_MAJOR) + "." +
                            std::to_string(NLOHMANN_JSON_VERSION_MINOR) + "." +
                            std::to_string(NLOHMANN_JSON_VERSION_PATCH)},
      {"yaml-cpp", CJ_YAML_CPP_VERSION},
  };
#ifdef CJ_WITH_CUDA
  for (const auto& v : cuda::library_versions()) libs["cuda"].push_back(v);
#endif
  j["libraries"] = libs;
  return j;
}

void print_text(const nlohmann::json& j) {
  std::cout << "cjepa " << j["version"].get<std::string>() << " (" << j["git"].get<std::string>() << ")\n";
  const auto& b = j["build"];
  std::cout << "build:     " << b["type"].get<std::string>() << ", " << b["compiler"].get<std::string>()
            << ", sanitizers: " << b["sanitizers"].get<std::string>() << "\n";
  std::cout << "backends:  cpu: " << j["backends"]["cpu"].get<std::string>() << "\n"
            << "           cuda: " << j["backends"]["cuda"].get<std::string>() << "\n";
  std::cout << "devices:\n";
  for (const auto& d : j["devices"]) {
    std::cout << "  " << d["device"].get<std::string>() << "  " << d["name"].get<std::string>();
    if (d.contains("threads")) std::cout << ", " << d["threads"].get<unsigned>() << " threads";
    if (d.contains("memory_gib"))
      std::cout << ", sm_" << d["compute_capability"].get<std::string>() << ", "
                << static_cast<int>(d["memory_gib"].get<double>() + 0.5) << " GiB";
    std::cout << "\n";
  }
  if (j.contains("cuda_devices")) std::cout << "  cuda: " << j["cuda_devices"].get<std::string>() << "\n";
  if (j.contains("cuda_selftest")) std::cout << "cuda selftest: " << j["cuda_selftest"].get<std::string>() << "\n";
  if (j.contains("cuda_allocator"))
    std::cout << "cuda allocator: " << j["cuda_allocator"]["summary"].get<std::string>() << "\n";
  std::cout << "dtypes:    ";
  for (const auto& d : j["dtypes"]) std::cout << d.get<std::string>() << " ";
  std::cout << "\nlibraries:\n";
  for (const auto& [name, v] : j["libraries"].items()) {
    if (v.is_array()) {
      for (const auto& s : v) std::cout << "  " << s.get<std::string>() << "\n";
    } else {
      std::cout << "  " << name << " " << v.get<std::string>() << "\n";
    }
  }
}

int run_info(const std::vector<std::string>& argv) {
  Args args("info", "Show the build, the compiled-in backends, visible devices, dtypes and library versions.");
  args.flag("json", "print the same facts as one JSON object")
      .flag("selftest", "on a GPU: run a kernel and a 1 MiB round trip, then show the allocator's stats");
  if (!args.parse(argv)) return kExitOk;
  auto j = collect(args.enabled("selftest"));
  if (args.enabled("json"))
    std::cout << j.dump(2) << "\n";
  else
    print_text(j);
  return kExitOk;
}

Registration reg({"info", "show build, backends, devices, dtypes and library versions", run_info});

}  // namespace
}  // namespace cj::app
