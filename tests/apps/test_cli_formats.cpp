// cjepa convert / inspect: conversion of every input format, --prefix/--rename/--manifest, and how
// failures are reported.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tensor/io/load.hpp"
#include "tensor/io/mapped_file.hpp"
#include "tensor/io/safetensors.hpp"
#include "tests/apps/run_cli.hpp"
#include "tests/io/io_test_util.hpp"

using namespace cj;
using cj::test::fixture;
using cj::test::run_cjepa;
using cj::test::ScratchFile;

TEST(CliConvert, PtToSafetensorsWithManifestMatchesHashlib) {
  ScratchFile out("convert.safetensors"), manifest("convert.manifest.json");
  auto r = run_cjepa("convert " + fixture("state_dict.pt") + " " + out.path() + " --manifest " + manifest.path());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("wrote 15 tensors"), std::string::npos) << r.out;
  auto converted = io::read_safetensors(out.path());
  test::expect_same_tensors(converted.tensors, io::read_safetensors(fixture("state_dict.safetensors")).tensors, "convert");
  EXPECT_EQ(converted.metadata.at("converted_from"), "state_dict.pt");
  EXPECT_EQ(nlohmann::json::parse(io::read_file_bytes(manifest.path())),
            nlohmann::json::parse(io::read_file_bytes(fixture("state_dict.manifest.json"))));
}

TEST(CliConvert, PrefixAndRenameSelectAndRewriteNames) {
  ScratchFile out("prefix.safetensors");
  auto r = run_cjepa("convert " + fixture("lightning.ckpt") + " " + out.path() +
                     " --prefix model. --rename encoder.=enc. --rename head=out_head");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto t = io::read_safetensors(out.path()).tensors;
  std::vector<std::string> names;
  for (const auto& [k, v] : t) names.push_back(k);
  EXPECT_EQ(names, (std::vector<std::string>{"enc.bias", "enc.weight", "out_head.weight"}));
  auto original = io::load_tensors(fixture("lightning.ckpt"));
  EXPECT_EQ(test::tensor_bytes(t.at("enc.weight")), test::tensor_bytes(original.at("model.encoder.weight")));
}

TEST(CliConvert, ModulePicklesAndNumpySlotFilesConvert) {
  ScratchFile out("module.safetensors");
  ASSERT_EQ(run_cjepa("convert " + fixture("custom_module.pt") + " " + out.path()).exit_code, 0);
  test::expect_same_tensors(io::read_safetensors(out.path()).tensors,
                            io::read_safetensors(fixture("custom_module.safetensors")).tensors, "module");
  ASSERT_EQ(run_cjepa("convert " + fixture("slots_p5_numpy__core.pkl") + " " + out.path() + " --prefix train.").exit_code, 0);
  EXPECT_EQ(io::read_safetensors(out.path()).tensors.at("video_00000.mp4").shape(), (Shape{3, 2, 8}));
}

TEST(CliConvert, FailuresAreOneLineErrorsWithExitOne) {
  ScratchFile out("fail.safetensors");
  auto hostile = run_cjepa("convert " + fixture("hostile_os_system.pkl") + " " + out.path());
  EXPECT_EQ(hostile.exit_code, 1);
  EXPECT_EQ(hostile.out.rfind("cjepa convert: error: ", 0), 0u) << hostile.out;
  EXPECT_NE(hostile.out.find("posix.system"), std::string::npos) << hostile.out;
  EXPECT_NE(access(out.path().c_str(), F_OK), 0);  // nothing written

  auto prefix = run_cjepa("convert " + fixture("lightning.ckpt") + " " + out.path() + " --prefix nope.");
  EXPECT_EQ(prefix.exit_code, 1);
  EXPECT_NE(prefix.out.find("no tensor name starts with 'nope.'"), std::string::npos) << prefix.out;

  auto collide = run_cjepa("convert " + fixture("lightning.ckpt") + " " + out.path() + " --rename model.encoder.=model.head.");
  EXPECT_EQ(collide.exit_code, 1);
  EXPECT_NE(collide.out.find("two tensors would be named 'model.head.weight'"), std::string::npos) << collide.out;

  auto usage = run_cjepa("convert " + fixture("lightning.ckpt") + " " + out.path() + " --rename nonsense");
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_NE(usage.out.find("--rename expects FROM=TO"), std::string::npos) << usage.out;

  auto missing = run_cjepa("convert /nonexistent/in.pt " + out.path());
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.out.find("/nonexistent/in.pt: cannot open"), std::string::npos) << missing.out;
  EXPECT_EQ(run_cjepa("convert " + fixture("lightning.ckpt")).exit_code, 2);  // missing <out>
}

TEST(CliInspect, ListsTensorsAndTheValueTree) {
  auto r = run_cjepa("inspect " + fixture("lightning.ckpt"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  for (const char* want : {"format:  pytorch-zip", "tensors: 3", "model.encoder.weight", "float32", "[5, 3]",
                           "value tree:", "'epoch': 3", "'hyper_parameters'"})
    EXPECT_NE(r.out.find(want), std::string::npos) << "missing '" << want << "' in:\n" << r.out;
  auto st = run_cjepa("inspect " + fixture("state_dict.safetensors"));
  ASSERT_EQ(st.exit_code, 0) << st.out;
  for (const char* want : {"format:  safetensors", "bfloat16", "metadata:", "format: pt"})
    EXPECT_NE(st.out.find(want), std::string::npos) << "missing '" << want << "' in:\n" << st.out;
}

TEST(CliInspect, JsonIsOneObject) {
  auto r = run_cjepa("inspect --json " + fixture("sequential_module.pt"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["format"], "pytorch-zip");
  ASSERT_EQ(j["tensors"].size(), 4u);
  EXPECT_EQ(j["tensors"][0]["name"], "0.bias");
  EXPECT_EQ(j["tensors"][1]["shape"], nlohmann::json::array({3, 4}));
  EXPECT_NE(j["tree"].get<std::string>().find("torch.nn.modules.container.Sequential"), std::string::npos);
}

TEST(CliInspect, BadFilesExitOneAndNameTheFile) {
  ScratchFile junk("junk.bin");
  junk.write("this is not a tensor file");
  auto r = run_cjepa("inspect " + junk.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out.rfind("cjepa inspect: error: " + junk.path(), 0), 0u) << r.out;
  auto help = run_cjepa("inspect --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("usage: cjepa inspect"), std::string::npos);
}
