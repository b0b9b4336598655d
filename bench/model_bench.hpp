#pragma once
// Shared by the whole-model bench programs (bench_predictor, bench_dinov2): their command-line
// flags, a warm-up + median-of-N timer, and the one-line JSON result that bench/model_table.py
// reads next to PyTorch's numbers. These programs time whole training steps or forwards, so they
// use their own loop rather than Google Benchmark's (one iteration is 0.1-10 s).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "tensor/cpu/gemm.hpp"
#include "tensor/error.hpp"
#include "tensor/ops/views.hpp"
#include "tensor/storage.hpp"

#ifdef CJ_WITH_CUDA  // the CUDA backend is linked (bench/CMakeLists.txt): its allocator's peak
#include "cuda/allocator.hpp"
#endif

#ifdef CJ_BENCH_HAS_AUTOCAST  // set by bench/CMakeLists.txt when autograd/autocast.hpp exists
#include "autograd/autocast.hpp"
#endif

namespace cj::bench {

struct ModelBenchArgs {
  std::string device = "cpu";  // cpu | cuda | cuda:N
  std::string dtype = "f32";   // f32 | bf16 (bf16: autocast, as torch.autocast on the PyTorch side)
  int64_t batch = 0;           // 0: the program's default
  int warmup = 2;
  int iters = 5;
  std::string json;            // where to write the result line ("" = stdout only)
  std::map<std::string, std::string> extra;  // --key=value flags a program reads itself
};

// Parses --device=, --dtype=, --batch=, --warmup=, --iters=, --json= (also "--flag value"); any
// other --key=value lands in `extra`. Throws cj::Error naming the flag on bad input.
inline ModelBenchArgs parse_model_bench_args(int argc, char** argv) {
  ModelBenchArgs a;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i], key, value;
    CJ_CHECK(arg.rfind("--", 0) == 0, "bench: unexpected argument '", arg, "' (flags are --key=value)");
    const auto eq = arg.find('=');
    if (eq != std::string::npos) {
      key = arg.substr(2, eq - 2);
      value = arg.substr(eq + 1);
    } else {
      key = arg.substr(2);
      CJ_CHECK(i + 1 < argc, "bench: flag --", key, " needs a value");
      value = argv[++i];
    }
    auto as_int = [&](int64_t lo) {
      char* end = nullptr;
      const long long v = std::strtoll(value.c_str(), &end, 10);
      CJ_CHECK(end && *end == '\0' && v >= lo, "bench: --", key, " must be an integer >= ", lo, ", got '", value, "'");
      return int64_t(v);
    };
    if (key == "device") a.device = value;
    else if (key == "dtype") a.dtype = value;
    else if (key == "batch") a.batch = as_int(1);
    else if (key == "warmup") a.warmup = int(as_int(0));
    else if (key == "iters") a.iters = int(as_int(1));
    else if (key == "json") a.json = value;
    else a.extra[key] = value;
  }
  try {
    Device::parse(a.device);
  } catch (const Error&) {
    fail("bench: --device must be cpu, cuda or cuda:N, got '", a.device, "'");
  }
  CJ_CHECK(a.dtype == "f32" || a.dtype == "bf16", "bench: --dtype must be f32 or bf16, got '", a.dtype, "'");
  return a;
}

// Seconds per call of fn: `warmup` untimed calls, then the median of `iters` timed ones.
struct Timing {
  double median_s = 0, min_s = 0;
};
inline Timing time_calls(const std::function<void()>& fn, int warmup, int iters) {
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<double> t;
  for (int i = 0; i < iters; ++i) {
    const auto start = std::chrono::steady_clock::now();
    fn();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(t.begin(), t.end());
  return {t[t.size() / 2], t.front()};
}

// One JSON object per line: {"name": ..., "key": value, ...}; numbers unquoted.
inline void emit_result(const ModelBenchArgs& a, const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string line = "{";
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i) line += ", ";
    line += "\"" + fields[i].first + "\": " + fields[i].second;
  }
  line += "}";
  std::printf("%s\n", line.c_str());
  if (!a.json.empty()) {
    std::ofstream out(a.json, std::ios::app);
    CJ_CHECK(out.good(), "bench: cannot write ", a.json);
    out << line << "\n";
  }
}
inline std::string quoted(const std::string& s) { return "\"" + s + "\""; }

inline Device device_of(const ModelBenchArgs& a) { return Device::parse(a.device); }

// What keeps a flag combination from running here, or "" when it can run: a device this build or
// machine lacks (the engine's one error saying which), bf16 without autocast.
inline std::string unsupported_reason(const ModelBenchArgs& a) {
  try {
    require_device(device_of(a));
  } catch (const Error& e) {
    return e.what();
  }
#ifndef CJ_BENCH_HAS_AUTOCAST
  if (a.dtype == "bf16") return "bf16 needs autograd/autocast.hpp (branch autocast), which this build lacks";
#endif
  return "";
}

using ResultRow = std::vector<std::pair<std::string, std::string>>;

// The fields every result of ours starts with.
inline ResultRow result_row(const std::string& bench, const ModelBenchArgs& a) {
  return {{"bench", quoted(bench)},      {"impl", quoted("cjepa")},
          {"device", quoted(a.device)},  {"dtype", quoted(a.dtype)},
          {"batch", std::to_string(a.batch)}, {"threads", std::to_string(cpu::num_threads())}};
}

// When the flags cannot run here: says why on stderr and as the row's "error" (for the table),
// emits the row and returns true.
inline bool report_unsupported(const char* program, const ModelBenchArgs& a, ResultRow row) {
  const std::string why = unsupported_reason(a);
  if (why.empty()) return false;
  std::fprintf(stderr, "%s: cannot run --device=%s --dtype=%s: %s\n", program, a.device.c_str(), a.dtype.c_str(),
               why.c_str());
  row.push_back({"error", quoted(why)});
  emit_result(a, row);
  return true;
}

// Waits until t has been computed: reading one element back to the CPU queues behind every kernel
// (the backend runs one stream), so device timings cover the work, not just its launch.
inline void wait_for(const Tensor& t) {
  if (!t.is_cpu() && t.numel() > 0) (void)ops::to(ops::as_strided(t, {}, {}, t.offset()), Device::cpu());
}

// Resets / reads the peak of bytes handed out, as torch.cuda.max_memory_allocated: the CUDA
// allocator's on a GPU, CPU storage on the CPU (the same autograd graph saves the same tensors on
// either, so a CPU run foretells most of the GPU peak).
inline void reset_peak_memory() {
  reset_cpu_peak_memory();
#ifdef CJ_WITH_CUDA
  cuda::cuda_allocator().reset_peak();
#endif
}

// Runs body() under bf16 autocast when asked (and available).
template <typename F>
void with_dtype(const ModelBenchArgs& a, F&& body) {
#ifdef CJ_BENCH_HAS_AUTOCAST
  AutocastGuard amp(DType::bf16, a.dtype == "bf16");
#endif
  body();
}

inline std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

inline void add_peak_memory(const ModelBenchArgs& a, std::vector<std::pair<std::string, std::string>>& row) {
  double peak = double(cpu_memory_stats().peak_allocated);
#ifdef CJ_WITH_CUDA
  if (device_of(a).is_cuda()) peak = double(cuda::memory_stats().peak_allocated);
#endif
  row.push_back({"peak_mib", number(peak / (1 << 20))});
}

}  // namespace cj::bench
