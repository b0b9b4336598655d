// PyTorch zip archives and plain pickles: every fixture against its safetensors twin, strides,
// offsets and shared storages, Lightning checkpoints, whole pickled modules and numpy slot files.
#include <gtest/gtest.h>

#include "tensor/io/load.hpp"
#include "tensor/io/mapped_file.hpp"
#include "tensor/io/safetensors.hpp"
#include "tensor/io/torch_file.hpp"
#include "tensor/ops/creation.hpp"
#include "tests/io/io_test_util.hpp"

using namespace cj;
using namespace cj::io;
using test::expect_error;
using test::fixture;

namespace {
TensorMap twin(const std::string& name) { return read_safetensors(fixture(name)).tensors; }
}  // namespace

TEST(TorchFile, EveryFixtureMatchesItsSafetensorsTwinExactly) {
  const std::pair<const char*, const char*> cases[] = {
      {"state_dict.pt", "state_dict.safetensors"},
      {"state_dict_zip64.pt", "state_dict.safetensors"},
      {"lightning.ckpt", "lightning.safetensors"},
      {"sequential_module.pt", "sequential_module.safetensors"},
      {"custom_module.pt", "custom_module.safetensors"},
      {"slots_p2_numpy_core.pkl", "slots.safetensors"},
      {"slots_p2_numpy__core.pkl", "slots.safetensors"},
      {"slots_p5_numpy_core.pkl", "slots.safetensors"},
      {"slots_p5_numpy__core.pkl", "slots.safetensors"},
  };
  for (const auto& [file, st] : cases) test::expect_same_tensors(load_tensors(fixture(file)), twin(st), file);
}

TEST(TorchFile, FormatIsSniffedFromContent) {
  EXPECT_EQ(detect_format(fixture("state_dict.pt")), FileFormat::torch_zip);
  EXPECT_EQ(detect_format(fixture("lightning.ckpt")), FileFormat::torch_zip);
  EXPECT_EQ(detect_format(fixture("slots_p5_numpy__core.pkl")), FileFormat::pickle);
  EXPECT_EQ(detect_format(fixture("slots.safetensors")), FileFormat::safetensors);
  test::expect_same_tensors(load_tensors(fixture("state_dict.safetensors")), twin("state_dict.safetensors"), "st");
}

TEST(TorchFile, StridesOffsetsAndSharedStoragesAreHonoured) {
  auto t = load_tensors(fixture("state_dict.pt"));
  const Tensor& tr = t.at("transposed");  // torch.randn(4, 5).t()
  EXPECT_EQ(tr.shape(), (Shape{5, 4}));
  EXPECT_EQ(tr.strides(), (Shape{1, 5}));
  EXPECT_FALSE(tr.is_contiguous());
  const Tensor& a = t.at("shared_a");  // base[2:8].view(2, 3)
  const Tensor& b = t.at("shared_b");  // base[6:12]
  EXPECT_EQ(a.offset(), 2);
  EXPECT_EQ(b.offset(), 6);
  EXPECT_EQ(a.storage(), b.storage());  // one storage, as in the file
  EXPECT_EQ(to_vector<float>(a), (std::vector<float>{1, 1.5, 2, 2.5, 3, 3.5}));
  a.data<float>()[4] = 100;  // element 6 of the shared storage is b[0]
  EXPECT_EQ(to_vector<float>(b)[0], 100);
  // Storages borrow the file's mapping (torch.save aligns records to 64 bytes).
  EXPECT_EQ(a.storage()->nbytes(), 12u * 4);
}

TEST(TorchFile, ValueTreeKeepsParametersAndNonTensorValues) {
  PickleTree tree = load_pickle_tree(fixture("state_dict.pt"));
  const Value& root = tree.root();
  EXPECT_EQ(root.kind, Value::Kind::dict);
  EXPECT_EQ(root.text, "OrderedDict");
  EXPECT_TRUE(root.at("param").requires_grad);
  EXPECT_FALSE(root.at("linear.weight").requires_grad);
  EXPECT_EQ(root.entries.front().first->text, "linear.weight");  // insertion order kept

  PickleTree ckpt = load_pickle_tree(fixture("lightning.ckpt"));
  EXPECT_EQ(ckpt.root().at("epoch").integer, 3);
  EXPECT_EQ(ckpt.root().at("hyper_parameters").at("name").text, "tiny");
  const Value& opt = *ckpt.root().at("optimizer_states").items.at(0);
  EXPECT_DOUBLE_EQ(opt.at("param_groups").items[0]->find("lr")->floating, 1e-3);
  EXPECT_EQ(opt.at("state").entries[0].first->integer, 0);
  // load_tensors takes the weights only.
  auto weights = load_tensors(fixture("lightning.ckpt"));
  EXPECT_EQ(weights.size(), 3u);
  EXPECT_TRUE(weights.count("model.encoder.weight"));
  std::string outline = ckpt.summary();
  EXPECT_NE(outline.find("'epoch': 3"), std::string::npos) << outline;
  EXPECT_NE(outline.find("tensor float32 [5, 3]"), std::string::npos) << outline;
}

TEST(TorchFile, WholeModulePicklesBecomeRecordsNotObjects) {
  PickleTree seq = load_pickle_tree(fixture("sequential_module.pt"));
  EXPECT_EQ(seq.root().kind, Value::Kind::object);
  EXPECT_EQ(seq.root().text, "torch.nn.modules.container.Sequential");
  EXPECT_TRUE(seq.root().is_module_record());
  const Value& norm = seq.root().at("_modules").at("1");
  EXPECT_EQ(norm.text, "torch.nn.modules.normalization.LayerNorm");
  EXPECT_DOUBLE_EQ(norm.at("eps").floating, 1e-5);
  auto names = flatten_module_record(seq.root());
  std::vector<std::string> keys;
  for (const auto& [k, v] : names) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"0.bias", "0.weight", "1.bias", "1.weight"}));

  PickleTree tiny = load_pickle_tree(fixture("custom_module.pt"));
  EXPECT_EQ(tiny.root().text, "__main__.TinyPredictor");
  EXPECT_EQ(tiny.root().at("depth").integer, 2);
  auto persistent = flatten_module_record(tiny.root());
  EXPECT_FALSE(persistent.count("scratch"));  // registered with persistent=False, as state_dict() skips it
  EXPECT_TRUE(persistent.count("blocks.1.0.weight"));
  EXPECT_TRUE(persistent.count("time_pos"));
  auto all = flatten_module_record(tiny.root(), /*include_non_persistent_buffers=*/true);
  EXPECT_EQ(all.size(), persistent.size() + 1);
  EXPECT_EQ(to_vector<float>(all.at("scratch")), (std::vector<float>{1, 1}));
  expect_error([&] { flatten_module_record(tiny.root().at("depth")); }, {"expected a pickled nn.Module record"});
}

TEST(TorchFile, NumpySlotFilesKeepSplitsVideosAndLayouts) {
  for (const char* name : {"slots_p2_numpy_core.pkl", "slots_p5_numpy__core.pkl"}) {
    PickleTree tree = load_pickle_tree(fixture(name));
    const Value& video = tree.root().at("train").at("video_00000.mp4");
    ASSERT_EQ(video.kind, Value::Kind::tensor) << name;
    EXPECT_EQ(video.tensor.shape(), (Shape{3, 2, 8})) << name;
    EXPECT_EQ(video.tensor.dtype(), DType::f32);
    const Tensor& fortran = tree.root().at("val").at("fortran.mp4").tensor;  // np.asfortranarray
    EXPECT_EQ(fortran.strides(), (Shape{1, 3})) << name;
    EXPECT_EQ(tree.root().at("val").at("half.mp4").tensor.dtype(), DType::f16);
    EXPECT_EQ(to_vector<int64_t>(tree.root().at("val").at("ids.mp4").tensor),
              (std::vector<int64_t>{1, -5, int64_t(1) << 33}));
  }
}

TEST(TorchFile, RefusesCompressedLegacyAndHostileFiles) {
  expect_error([] { load_tensors(fixture("state_dict_deflated.pt")); },
               {fixture("state_dict_deflated.pt"), "data.pkl", "compressed"});
  expect_error([] { load_tensors(fixture("legacy_format.pt")); }, {fixture("legacy_format.pt"), "legacy"});
  for (const char* name : {"hostile_os_system.pkl", "hostile_os_system.pt"})
    expect_error([&] { load_tensors(fixture(name)); }, {fixture(name), "posix.system", "refusing", "nothing was executed"});
  EXPECT_NE(access("/tmp/cjepa_pwned", F_OK), 0);
}

TEST(TorchFile, MissingStorageRecordIsNamed) {
  // Rename the record of storage "0" (in both zip headers) so data.pkl refers to a record that is gone.
  std::string bytes = read_file_bytes(fixture("state_dict.pt"));
  std::string from = "state_dict/data/0", to = "state_dict/data/Z";
  std::size_t replaced = 0;
  for (std::size_t at = bytes.find(from); at != std::string::npos; at = bytes.find(from, at + 1), ++replaced)
    bytes.replace(at, from.size(), to);
  ASSERT_EQ(replaced, 2u);
  test::ScratchFile file("missing_record.pt");
  file.write(bytes);
  expect_error([&] { load_tensors(file.path()); }, {file.path(), "missing record 'state_dict/data/0'"});
}

TEST(TorchFile, TruncatedArchivesAndPicklesAreOneClearError) {
  test::ScratchFile file("truncated");
  for (const char* name : {"state_dict.pt", "state_dict_zip64.pt", "slots_p2_numpy_core.pkl", "slots_p5_numpy__core.pkl",
                           "sequential_module.pt"}) {
    const std::string bytes = read_file_bytes(fixture(name));
    const std::size_t step = bytes.size() > 2000 ? 7 : 1;
    for (std::size_t len = 0; len < bytes.size(); len += (len + 200 < bytes.size() ? step : 1)) {
      file.write(bytes.substr(0, len));
      try {
        load_tensors(file.path());
        ADD_FAILURE() << name << " truncated to " << len << " bytes loaded without error";
      } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(file.path()), std::string::npos) << e.what();
      }
    }
  }
}

TEST(TorchFile, CorruptedBytesNeverCrash) {
  // Flipping any single byte either still loads or throws cj::Error; nothing else may happen.
  test::ScratchFile file("corrupt");
  for (const char* name : {"slots_p5_numpy__core.pkl", "sequential_module.pt"}) {
    const std::string bytes = read_file_bytes(fixture(name));
    int errors = 0;
    for (std::size_t i = 0; i < bytes.size(); i += 3) {
      std::string damaged = bytes;
      damaged[i] = char(damaged[i] ^ 0x5a);
      file.write(damaged);
      try {
        load_tensors(file.path());
      } catch (const Error&) {
        ++errors;
      }
    }
    EXPECT_GT(errors, 0) << name;
  }
}

TEST(TorchFile, LenientModeRecordsUnknownCallsButStillRefusesDangerousOnes) {
  const std::string path = fixture("lightning_partial.ckpt");  // hyper_parameters hold functools.partial(AdamW)
  expect_error([&] { load_tensors(path); }, {path, "calls 'functools.partial'", "nothing was executed"});
  ReadOptions lenient;
  lenient.unknown_calls_as_records = true;
  PickleTree tree = load_pickle_tree(path, lenient);
  const Value& partial = tree.root().at("hyper_parameters").at("optimizer");
  EXPECT_EQ(partial.kind, Value::Kind::object);
  EXPECT_EQ(partial.text, "functools.partial");
  EXPECT_TRUE(partial.from_call);
  EXPECT_EQ(partial.args->items.at(0)->text, "torch.optim.adamw.AdamW");
  test::expect_same_tensors(load_tensors(path, lenient), twin("lightning.safetensors"), "lenient");
  for (const char* name : {"hostile_os_system.pkl", "hostile_os_system.pt"})
    expect_error([&] { load_tensors(fixture(name), lenient); }, {"posix.system", "refusing"});
}
