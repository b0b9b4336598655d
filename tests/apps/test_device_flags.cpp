// --device on features, rollout, demo (and cjepa.device for train-predictor): a bad spelling is a
// usage error (exit 2); a CUDA request this build or machine cannot serve is one error saying
// which of the two (exit 1), before any work is done.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <unistd.h>

#include "tests/temp_path.hpp"
#include "tests/apps/run_cli.hpp"

using cj::test::run_cjepa;

namespace {

std::string scratch(const std::string& name) {
  return cj::test::unique_temp_path("cj_device_flags_" + name).string();
}

// The commands with a --device option, each otherwise complete enough to reach the device check.
std::vector<std::string> commands_with(const std::string& device) {
  return {"features --weights w.safetensors --input in.mp4 --out f.safetensors --device " + device,
          "rollout slots.pkl --weights w.safetensors --device " + device,
          "demo --quick --out " + scratch("demo") + " --device " + device,
          "train-predictor --preset clevrer --slots slots.pkl --out " + scratch("train") + " --device " + device};
}

bool machine_has_gpu() { return run_cjepa("info --json").out.find("\"cuda:0\"") != std::string::npos; }

}  // namespace

TEST(DeviceFlags, BadSpellingIsRejectedNamingTheFlag) {
  for (const auto& cmd : commands_with("tpu")) {
    auto r = run_cjepa(cmd);
    EXPECT_NE(r.exit_code, 0) << cmd;
    const bool named = r.out.find("option '--device' must be cpu, cuda or cuda:N, got 'tpu'") != std::string::npos ||
                       r.out.find("config key 'cjepa.device' must be cpu, cuda or cuda:N, got 'tpu'") != std::string::npos;
    EXPECT_TRUE(named) << cmd << "\n" << r.out;
  }
}

TEST(DeviceFlags, CudaWithoutOneSaysWhetherTheBuildOrTheMachineLacksIt) {
  if (machine_has_gpu()) GTEST_SKIP() << "this machine has a GPU";
  for (const auto& cmd : commands_with("cuda")) {
    auto r = run_cjepa(cmd);
    EXPECT_EQ(r.exit_code, 1) << cmd << "\n" << r.out;
    const bool build = r.out.find("this build has no CUDA backend") != std::string::npos;
    const bool machine = r.out.find("no CUDA device is usable on this machine") != std::string::npos;
    EXPECT_TRUE(build != machine) << cmd << "\n" << r.out;  // exactly one of the two reasons
  }
}
