// DINOv2 (models/dinov2) against transformers 5.24.0's Dinov2Model / Dinov2WithRegistersModel
// (tests/fixtures/models/dinov2/, written by tools/fixtures/dinov2.py): last_hidden_state, the keys of
// a block and every hidden state must agree to 1e-4 (max|a-b| / max|b|) at sizes that use the position
// table as it is and sizes that resample it; timm-named and hub-named (.pth) copies of the weights must
// give the same outputs; gradients w.r.t. pixels and parameters agree with PyTorch's. Plus the patch
// GEMM against conv2d, and the errors for bad files and bad inputs.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "tests/temp_path.hpp"
#include "autograd/ops.hpp"
#include "models/dinov2.hpp"
#include "tensor/error.hpp"
#include "tensor/io/safetensors.hpp"
#include "tests/tensor/op_test_util.hpp"  // error_message

using namespace cj;
using cj::models::Dinov2;
using cj::models::Dinov2Outputs;
using cj::models::Dinov2Request;
using cj::models::load_dinov2;

namespace {

constexpr double kTol = 1e-4;

std::string fixture(const std::string& name) { return std::string(CJ_FIXTURE_DIR) + "/models/dinov2/" + name; }

struct Io {
  std::map<std::string, Tensor> tensors;
  const Tensor& at(const std::string& key) const {
    auto it = tensors.find(key);
    if (it == tensors.end()) fail("dinov2 fixture has no tensor '", key, "'");
    return it->second;
  }
};

const Io& s14_io() {
  static const Io io{io::read_safetensors(fixture("s14_io.safetensors")).tensors};
  return io;
}
const Io& tiny_io() {
  static const Io io{io::read_safetensors(fixture("tiny_io.safetensors")).tensors};
  return io;
}

double rel_error(const Tensor& got, const Tensor& want) {
  EXPECT_TRUE(got.defined());
  if (!got.defined()) return 1.0;
  EXPECT_EQ(got.shape(), want.shape());
  if (got.shape() != want.shape()) return 1.0;
  return max_rel_error(got, want);
}

Dinov2Outputs run(Dinov2& model, const Tensor& pixels, int64_t keys_of_block, bool hidden = true) {
  NoGradGuard no_grad;
  Dinov2Request request;
  request.all_hidden_states = hidden;
  request.keys_of_block = keys_of_block;
  return model.forward(pixels, request);
}

using cj::test::error_message;

const char* kTinySizes[] = {"84x84", "56x56", "42x98", "56x126"};

// Checks a tiny model (tag "tiny" or "reg") against the fixture at every size: last, keys of both
// blocks, all hidden states. Returns the worst relative error.
double check_tiny(Dinov2& model, const std::string& tag) {
  const Io& io = tiny_io();
  double worst = 0;
  for (const char* size : kTinySizes) {
    SCOPED_TRACE(tag + " at " + size);
    const Tensor& x = io.at(std::string("input.") + size);
    Dinov2Outputs out = run(model, x, 1);
    worst = std::max(worst, rel_error(out.last_hidden_state, io.at(tag + ".last." + size)));
    worst = std::max(worst, rel_error(out.keys, io.at(tag + ".keys1." + size)));
    EXPECT_EQ(out.hidden_states.size(), 3u);
    for (std::size_t i = 0; i < out.hidden_states.size(); ++i)
      worst = std::max(worst, rel_error(out.hidden_states[i], io.at(tag + ".hidden." + size + "." + std::to_string(i))));
    Dinov2Outputs out2 = run(model, x, 2, /*hidden=*/false);
    EXPECT_TRUE(out2.hidden_states.empty());
    worst = std::max(worst, rel_error(out2.keys, io.at(tag + ".keys2." + size)));
    worst = std::max(worst, rel_error(out2.last_hidden_state, io.at(tag + ".last." + size)));
  }
  EXPECT_LE(worst, kTol) << tag;
  return worst;
}

std::map<std::string, Tensor> read_map(const std::string& name) { return io::read_safetensors(fixture(name)).tensors; }

}  // namespace

TEST(Dinov2, ViTS14WidthMatchesTransformersAt196And224) {
  auto model = load_dinov2(fixture("s14_hf.safetensors"));
  const auto& c = model->config();
  EXPECT_EQ(c.dim, 384);
  EXPECT_EQ(c.heads, 6);
  EXPECT_EQ(c.depth, 1);
  EXPECT_EQ(c.mlp_hidden, 384);
  EXPECT_EQ(c.patch, 14);
  EXPECT_EQ(c.pos_grid, 37);
  EXPECT_EQ(c.registers, 0);
  EXPECT_TRUE(c.layerscale);
  const Io& io = s14_io();
  for (int size : {196, 224}) {
    const std::string s = std::to_string(size);
    Dinov2Outputs out = run(*model, io.at("input." + s), 1);
    const int64_t tokens = 1 + (size / 14) * (size / 14);
    EXPECT_EQ(out.last_hidden_state.shape(), Shape({1, tokens, 384}));
    const double last = rel_error(out.last_hidden_state, io.at("last_hidden_state." + s));
    const double keys = rel_error(out.keys, io.at("keys." + s));
    EXPECT_LE(last, kTol) << size;
    EXPECT_LE(keys, kTol) << size;
    ASSERT_EQ(out.hidden_states.size(), 2u);
    std::printf("[dinov2] ViT-S width %dx%d: last_hidden_state %.2e, keys %.2e\n", size, size, last, keys);
    if (size != 196) continue;  // the fixture keeps the hidden states of one size
    double hidden = 0;
    for (std::size_t i = 0; i < 2; ++i)
      hidden = std::max(hidden, rel_error(out.hidden_states[i], io.at("hidden.196." + std::to_string(i))));
    EXPECT_LE(hidden, kTol);
    std::printf("[dinov2] ViT-S width 196x196: hidden states %.2e\n", hidden);
  }
}

TEST(Dinov2, TinyAndRegistersMatchTransformersAtEverySize) {
  auto tiny = load_dinov2(fixture("tiny_hf.safetensors"));
  EXPECT_EQ(tiny->config().heads, 2);
  EXPECT_EQ(tiny->config().mlp_hidden, 256);
  EXPECT_EQ(tiny->config().pos_grid, 6);
  auto reg = load_dinov2(fixture("reg_hf.safetensors"));
  EXPECT_EQ(reg->config().registers, 4);
  EXPECT_TRUE(reg->config().pos_antialias_on());
  EXPECT_FALSE(tiny->config().pos_antialias_on());
  std::printf("[dinov2] tiny: %.2e, registers: %.2e (worst over 4 sizes, last/keys/hidden)\n", check_tiny(*tiny, "tiny"),
              check_tiny(*reg, "reg"));
  // 84x84 has the table's own 6x6 grid, batch 2; registers sit after CLS.
  Dinov2Outputs out = run(*reg, tiny_io().at("input.84x84"), 0, false);
  EXPECT_EQ(out.last_hidden_state.shape(), Shape({2, 1 + 4 + 36, 128}));
  EXPECT_FALSE(out.keys.defined());
}

TEST(Dinov2, TimmAndHubNamesLoadTheSameModel) {
  for (const char* tag : {"tiny", "reg"}) {
    for (const char* form : {"_timm.safetensors", "_hub.pth"}) {
      SCOPED_TRACE(std::string(tag) + form);
      auto model = load_dinov2(fixture(std::string(tag) + form));
      EXPECT_EQ(model->config().depth, 2);
      EXPECT_EQ(model->config().registers, std::string(tag) == "reg" ? 4 : 0);
      std::printf("[dinov2] %s%s: %.2e\n", tag, form, check_tiny(*model, tag));
    }
  }
}

// transformers 5 keeps query/key/value/output.dense as q/k/v/o_proj in memory; a state dict saved
// from there (torch.save(model.state_dict())) uses those names.
TEST(Dinov2, TransformersInMemoryNamesLoadTheSameModel) {
  std::map<std::string, Tensor> renamed;
  const std::vector<std::pair<std::string, std::string>> renames = {
      {"attention.attention.query.", "attention.q_proj."}, {"attention.attention.key.", "attention.k_proj."},
      {"attention.attention.value.", "attention.v_proj."}, {"attention.output.dense.", "attention.o_proj."}};
  int changed = 0;
  for (const auto& [key, t] : read_map("reg_hf.safetensors")) {
    std::string name = key;
    for (const auto& [from, to] : renames)
      if (name.find(from) != std::string::npos) name.replace(name.find(from), from.size(), to), ++changed;
    renamed[name] = t;
  }
  EXPECT_EQ(changed, 16);
  auto model = load_dinov2(renamed, "in-memory");
  EXPECT_LE(check_tiny(*model, "reg"), kTol);
}

// The fixture's loss and gradients for one 56x56 image; with `replicas` copies of it in the batch
// the pixel gradient of each copy is the fixture's and a parameter's gradient is `replicas` times it.
void check_gradients(int64_t replicas) {
  const Io& io = tiny_io();
  for (const char* tag_c : {"tiny", "reg"}) {
    const std::string tag = tag_c;
    auto model = load_dinov2(fixture(tag + "_hf.safetensors"));
    const Tensor& one = io.at("input.56x56");
    Tensor x = cj::contiguous(ops::expand(one, {replicas, one.size(1), one.size(2), one.size(3)})).requires_grad_(true);
    Dinov2Request request;
    request.keys_of_block = 2;
    Dinov2Outputs out = model->forward(x, request);
    auto weight = [&](const std::string& key) {  // the fixture's (1, ...) loss weights for every copy
      const Tensor& r = io.at(key);
      Shape shape = r.shape();
      shape[0] = replicas;
      return ops::expand(r, shape);
    };
    Tensor loss = cj::add(cj::sum(cj::mul(out.last_hidden_state, weight(tag + ".grad.r1"))),
                          cj::sum(cj::mul(out.keys, weight(tag + ".grad.r2"))));
    backward(loss);
    double worst = 0;
    for (int64_t i = 0; i < replicas; ++i) worst = std::max(worst, rel_error(ops::narrow(x.grad(), 0, i, 1), io.at(tag + ".grad.pixels")));
    const auto params = model->named_parameters();
    int checked = 0;
    for (const auto& [name, p] : params) {
      auto it = io.tensors.find(tag + ".grad.param." + name);
      if (it == io.tensors.end()) continue;
      SCOPED_TRACE(name);
      worst = std::max(worst, rel_error(ops::div(p.grad(), Scalar(double(replicas))), it->second));
      ++checked;
    }
    EXPECT_EQ(checked, tag == "reg" ? 9 : 8);
    EXPECT_LE(worst, kTol) << tag;
    std::printf("[dinov2] %s gradients (pixels + %d parameters), batch of %lld: %.2e\n", tag.c_str(), checked,
                static_cast<long long>(replicas), worst);
  }
}

TEST(Dinov2, GradientsMatchPyTorch) { check_gradients(1); }

// 32 copies make 544 rows (672 with the 4 registers), at least the 256 (reg: 128) inputs of fc2 and
// the 128 of out_proj, where one image's 17 (21) rows are fewer: LayerScale is folded into out_proj's
// and fc2's weights (models/dinov2.cpp scaled_linear) instead of scaling their outputs; the same
// gradients, lambda's included, must come out.
TEST(Dinov2, GradientsMatchPyTorchWithLayerScaleFoldedIntoTheWeights) { check_gradients(32); }

TEST(Dinov2, PatchGemmEqualsStridedConvolution) {
  auto model = load_dinov2(fixture("tiny_hf.safetensors"));
  NoGradGuard no_grad;
  const Tensor& x = tiny_io().at("input.42x98");
  Tensor got = model->embed_patches(x);  // (1, 21, 128)
  Conv2dParams p;
  p.stride_h = p.stride_w = 14;
  Tensor conv = cj::conv2d(x, model->patch_weight, model->patch_bias, p);  // (1, 128, 3, 7)
  Tensor want = cj::transpose(cj::flatten(conv, 2), 1, 2);
  EXPECT_LE(rel_error(got, want), 1e-5);
}

TEST(Dinov2, PositionTableKeptWhenGridAndSquareMatch) {
  auto model = load_dinov2(fixture("tiny_hf.safetensors"));
  NoGradGuard no_grad;
  EXPECT_EQ(model->position_embeddings_for(6, 6, true).data_ptr(), model->position_embeddings.data_ptr());
  // 4x9 has the table's 36 patches but is not square: resampled (HF's rule), so a new tensor.
  Tensor resampled = model->position_embeddings_for(4, 9, false);
  EXPECT_EQ(resampled.shape(), Shape({1, 37, 128}));
  EXPECT_NE(resampled.data_ptr(), model->position_embeddings.data_ptr());
}

TEST(Dinov2, BadInputsAreClearErrors) {
  auto model = load_dinov2(fixture("tiny_hf.safetensors"));
  NoGradGuard no_grad;
  std::string msg = error_message([&] { model->forward(zeros({1, 3, 200, 196})); });
  EXPECT_NE(msg.find("200x196"), std::string::npos) << msg;
  EXPECT_NE(msg.find("multiple of the patch size 14"), std::string::npos) << msg;
  msg = error_message([&] { model->forward(zeros({1, 3, 10, 10})); });
  EXPECT_NE(msg.find("patch size 14"), std::string::npos) << msg;
  msg = error_message([&] { model->forward(zeros({1, 4, 56, 56})); });
  EXPECT_NE(msg.find("(B, 3, H, W)"), std::string::npos) << msg;
  msg = error_message([&] { model->forward(zeros({3, 56, 56})); });
  EXPECT_NE(msg.find("(B, 3, H, W)"), std::string::npos) << msg;
  msg = error_message([&] { model->forward(zeros({1, 3, 56, 56}, DType::i64)); });
  EXPECT_NE(msg.find("floating point"), std::string::npos) << msg;
  Dinov2Request request;
  request.keys_of_block = 3;
  msg = error_message([&] { model->forward(zeros({1, 3, 56, 56}), request); });
  EXPECT_NE(msg.find("keys_of_block 3"), std::string::npos) << msg;
}

TEST(Dinov2, BadFilesAreClearErrors) {
  // Another model's checkpoint.
  const std::string predictor = std::string(CJ_FIXTURE_DIR) + "/models/cjepa_predictor.safetensors";
  std::string msg = error_message([&] { load_dinov2(predictor); });
  EXPECT_NE(msg.find("cjepa_predictor.safetensors is not a DINOv2 checkpoint"), std::string::npos) << msg;

  // Truncated files, safetensors and torch zip.
  for (const char* name : {"tiny_hf.safetensors", "tiny_hub.pth"}) {
    const std::string truncated = cj::test::unique_temp_path(std::string("dinov2_truncated_") + name).string();
    {
      std::ifstream in(fixture(name), std::ios::binary);
      std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      std::ofstream out(truncated, std::ios::binary);
      out.write(bytes.data(), std::streamsize(bytes.size() / 2));
    }
    msg = error_message([&] { load_dinov2(truncated); });
    EXPECT_EQ(msg.rfind("load_dinov2: ", 0), 0u) << msg;
    EXPECT_NE(msg.find(truncated), std::string::npos) << msg;
    std::remove(truncated.c_str());
  }

  msg = error_message([&] { load_dinov2(fixture("no_such_file.safetensors")); });
  EXPECT_NE(msg.find("no_such_file.safetensors"), std::string::npos) << msg;

  // A missing tensor (HF names, then timm names: the message uses the file's own spelling).
  auto hf = read_map("tiny_hf.safetensors");
  auto missing = hf;
  missing.erase("encoder.layer.1.mlp.fc2.bias");
  msg = error_message([&] { load_dinov2(missing, "hf.safetensors"); });
  EXPECT_NE(msg.find("hf.safetensors: missing tensor 'encoder.layer.1.mlp.fc2.bias'"), std::string::npos) << msg;
  auto timm = read_map("tiny_timm.safetensors");
  timm.erase("blocks.1.attn.qkv.bias");
  msg = error_message([&] { load_dinov2(timm, "timm.safetensors"); });
  EXPECT_NE(msg.find("missing tensor 'blocks.1.attn.qkv.bias'"), std::string::npos) << msg;

  // A misshaped tensor, and a misshaped fused qkv.
  auto misshaped = hf;
  misshaped["encoder.layer.0.mlp.fc2.weight"] = zeros({128, 255});
  msg = error_message([&] { load_dinov2(misshaped, "hf.safetensors"); });
  EXPECT_NE(msg.find("'encoder.layer.0.mlp.fc2.weight' has shape [128, 255], expected [128, 256]"), std::string::npos)
      << msg;
  auto bad_qkv = read_map("tiny_timm.safetensors");
  bad_qkv["blocks.0.attn.qkv.weight"] = zeros({383, 128});
  msg = error_message([&] { load_dinov2(bad_qkv, "timm.safetensors"); });
  EXPECT_NE(msg.find("'blocks.0.attn.qkv.weight' has shape [383, 128]"), std::string::npos) << msg;
  auto bad_pos = hf;
  bad_pos["embeddings.position_embeddings"] = zeros({1, 36, 128});
  msg = error_message([&] { load_dinov2(bad_pos, "hf.safetensors"); });
  EXPECT_NE(msg.find("'embeddings.position_embeddings' has shape [1, 36, 128], expected (1, 1 + G*G, C)"),
            std::string::npos)
      << msg;

  // An unknown extra key, and a block beyond the others' numbering.
  auto extra = hf;
  extra["encoder.layer.0.attention.attention.rel_pos"] = zeros({4});
  msg = error_message([&] { load_dinov2(extra, "hf.safetensors"); });
  EXPECT_NE(msg.find("unexpected tensors"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'encoder.layer.0.attention.attention.rel_pos'"), std::string::npos) << msg;
  auto gap = hf;
  gap["encoder.layer.5.norm1.weight"] = zeros({128});
  msg = error_message([&] { load_dinov2(gap, "hf.safetensors"); });
  EXPECT_NE(msg.find("'encoder.layer.5.norm1.weight'"), std::string::npos) << msg;

  // One tensor spelled two ways (checkpoint and transformers 5 in-memory names).
  auto twice = hf;
  twice["encoder.layer.0.attention.q_proj.weight"] = hf.at("encoder.layer.0.attention.attention.query.weight");
  msg = error_message([&] { load_dinov2(twice, "hf.safetensors"); });
  EXPECT_NE(msg.find("both give the model's encoder.layer.0.attention.attention.query.weight"), std::string::npos)
      << msg;

  // A width that is not a whole number of 64-wide heads.
  auto narrow = hf;
  narrow["embeddings.patch_embeddings.projection.weight"] = zeros({100, 3, 14, 14});
  msg = error_message([&] { load_dinov2(narrow, "hf.safetensors"); });
  EXPECT_NE(msg.find("hidden size 100"), std::string::npos) << msg;

  // Integer weights.
  auto ints = hf;
  ints["layernorm.bias"] = zeros({128}, DType::i64);
  msg = error_message([&] { load_dinov2(ints, "hf.safetensors"); });
  EXPECT_NE(msg.find("'layernorm.bias' has dtype"), std::string::npos) << msg;
}
