// load_dinov2: Hugging Face, timm and facebookresearch/dinov2 hub checkpoints onto the HF-named model.
#include <cmath>
#include <set>
#include <sstream>
#include <string>
#include <utility>

#include "autograd/ops.hpp"
#include "models/dinov2.hpp"
#include "tensor/error.hpp"
#include "tensor/io/load.hpp"

namespace cj::models {

namespace {

enum class Layout { huggingface, timm_or_hub };

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

bool has_key_starting(const std::map<std::string, Tensor>& tensors, const std::string& prefix) {
  auto it = tensors.lower_bound(prefix);
  return it != tensors.end() && starts_with(it->first, prefix);
}

std::string some_keys(const std::map<std::string, Tensor>& tensors) {
  std::ostringstream os;
  std::size_t i = 0;
  for (const auto& kv : tensors) {
    if (i == 6) { os << ", ... (" << tensors.size() << " in all)"; break; }
    os << (i++ ? ", " : "") << kv.first;
  }
  return tensors.empty() ? "none" : os.str();
}

// "blocks.12.attn.qkv.weight" with prefix "blocks." -> (12, "attn.qkv.weight"); false when not numbered.
bool split_block_key(const std::string& key, const std::string& prefix, int64_t& index, std::string& rest) {
  if (!starts_with(key, prefix)) return false;
  const std::size_t start = prefix.size(), dot = key.find('.', start);
  if (dot == std::string::npos || dot == start || dot - start > 6) return false;
  for (std::size_t i = start; i < dot; ++i)
    if (key[i] < '0' || key[i] > '9') return false;
  index = std::stoll(key.substr(start, dot - start));
  rest = key.substr(dot + 1);
  return true;
}

// The checkpoint translated to the model's (HF) names; `source` remembers each name's key in the file.
struct Translated {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> source;
  std::vector<std::string> unknown;
  std::string clash;  // "'a' and 'b' both name X", for a file that spells one tensor two ways
  void put(const std::string& name, const Tensor& t, const std::string& from) {
    auto it = source.find(name);
    if (it != source.end() && it->second != from && clash.empty())
      clash = "'" + it->second + "' and '" + from + "' both give the model's " + name;
    tensors[name] = t;
    source[name] = from;
  }
};

// HF checkpoint names (and transformers 5's in-memory q/k/v/o_proj spellings) -> the model's.
Translated from_huggingface(const std::map<std::string, Tensor>& in) {
  static const std::vector<std::pair<std::string, std::string>> renames = {
      {"attention.q_proj.", "attention.attention.query."}, {"attention.k_proj.", "attention.attention.key."},
      {"attention.v_proj.", "attention.attention.value."}, {"attention.o_proj.", "attention.output.dense."}};
  Translated out;
  for (const auto& [key, t] : in) {
    std::string name = key;
    for (const auto& [from, to] : renames) {
      const std::size_t at = name.find(from);
      if (at != std::string::npos) name.replace(at, from.size(), to);
    }
    out.put(name, t, key);
  }
  return out;
}

// timm/hub name inside blocks.N. -> HF name inside encoder.layer.N. (qkv is split separately).
const std::map<std::string, std::string> kBlockRenames = {
    {"norm1.weight", "norm1.weight"}, {"norm1.bias", "norm1.bias"},
    {"norm2.weight", "norm2.weight"}, {"norm2.bias", "norm2.bias"},
    {"attn.proj.weight", "attention.output.dense.weight"}, {"attn.proj.bias", "attention.output.dense.bias"},
    {"ls1.gamma", "layer_scale1.lambda1"}, {"ls2.gamma", "layer_scale2.lambda1"},
    {"mlp.fc1.weight", "mlp.fc1.weight"}, {"mlp.fc1.bias", "mlp.fc1.bias"},
    {"mlp.fc2.weight", "mlp.fc2.weight"}, {"mlp.fc2.bias", "mlp.fc2.bias"}};
// timm/hub top-level name -> HF name (pos_embed is handled separately).
const std::map<std::string, std::string> kTopRenames = {
    {"cls_token", "embeddings.cls_token"}, {"mask_token", "embeddings.mask_token"},
    {"register_tokens", "embeddings.register_tokens"}, {"reg_token", "embeddings.register_tokens"},
    {"patch_embed.proj.weight", "embeddings.patch_embeddings.projection.weight"},
    {"patch_embed.proj.bias", "embeddings.patch_embeddings.projection.bias"},
    {"norm.weight", "layernorm.weight"}, {"norm.bias", "layernorm.bias"}};

// The name a timm/hub file would use for the model's tensor `name` (for messages).
std::string timm_name_of(const std::string& name) {
  int64_t index = 0;
  std::string rest;
  if (split_block_key(name, "encoder.layer.", index, rest)) {
    const std::string prefix = "blocks." + std::to_string(index) + ".";
    for (const char* part : {"query", "key", "value"})
      for (const char* kind : {"weight", "bias"})
        if (rest == std::string("attention.attention.") + part + "." + kind) return prefix + "attn.qkv." + kind;
    for (const auto& [from, to] : kBlockRenames)
      if (to == rest) return prefix + from;
  }
  if (name == "embeddings.position_embeddings") return "pos_embed";
  for (const auto& [from, to] : kTopRenames)
    if (to == name) return from;
  return name;
}

// timm / hub names -> HF names. The fused qkv (3C, C) splits into query, key, value row blocks.
// pos_embed without a CLS row (timm's no_embed_class register models, whose cls_token already holds
// the hub's cls + pos[0]) gets a zero CLS row, which is the same computation.
Translated from_timm_or_hub(const std::map<std::string, Tensor>& in, const std::string& path) {
  Translated out;
  for (const auto& [key, t] : in) {
    int64_t index = 0;
    std::string rest;
    if (split_block_key(key, "blocks.", index, rest)) {
      const std::string prefix = "encoder.layer." + std::to_string(index) + ".";
      if (rest == "attn.qkv.weight" || rest == "attn.qkv.bias") {
        const bool weight = rest == "attn.qkv.weight";
        CJ_CHECK(t.dim() == (weight ? 2 : 1) && t.size(0) % 3 == 0 && (!weight || t.size(0) == 3 * t.size(1)),
                 "load_dinov2: ", path, ": '", key, "' has shape ", t.shape(), ", expected ",
                 weight ? "(3*C, C)" : "(3*C)", " (query, key and value stacked)");
        const int64_t c = t.size(0) / 3;
        const char* parts[] = {"query", "key", "value"};
        for (int64_t j = 0; j < 3; ++j)
          out.put(prefix + "attention.attention." + parts[j] + (weight ? ".weight" : ".bias"),
                  cj::contiguous(cj::narrow(t, 0, j * c, c)), key);
        continue;
      }
      auto it = kBlockRenames.find(rest);
      if (it != kBlockRenames.end()) out.put(prefix + it->second, t, key);
      else out.unknown.push_back(key);
      continue;
    }
    if (key == "pos_embed") {
      CJ_CHECK(t.dim() == 3 && t.size(0) == 1, "load_dinov2: ", path, ": 'pos_embed' has shape ", t.shape(),
               ", expected (1, [1 +] G*G, C)");
      const auto g = int64_t(std::llround(std::sqrt(double(t.size(1)))));
      Tensor table = t;
      if (g * g == t.size(1)) table = cj::cat({zeros({1, 1, t.size(2)}, t.dtype()), t}, 1);
      out.put("embeddings.position_embeddings", table, key);
      continue;
    }
    auto it = kTopRenames.find(key);
    if (it != kTopRenames.end()) out.put(it->second, t, key);
    else out.unknown.push_back(key);
  }
  return out;
}

struct Loader {
  std::string path;
  Layout layout;
  Translated tr;

  // How the file's own layout spells the model's tensor `name`.
  std::string file_name_of(const std::string& name) const {
    return layout == Layout::huggingface ? name : timm_name_of(name);
  }

  const Tensor& need(const std::string& name, int64_t dims) const {
    auto it = tr.tensors.find(name);
    CJ_CHECK(it != tr.tensors.end(), "load_dinov2: ", path, ": missing tensor '", file_name_of(name), "'");
    CJ_CHECK(it->second.dim() == dims, "load_dinov2: ", path, ": '", tr.source.at(name), "' has shape ",
             it->second.shape(), ", expected ", dims, " dimensions");
    return it->second;
  }

  Dinov2Config infer_config() const {
    Dinov2Config k;
    const Tensor& pw = need("embeddings.patch_embeddings.projection.weight", 4);
    CJ_CHECK(pw.size(1) == 3 && pw.size(2) == pw.size(3), "load_dinov2: ", path, ": '",
             tr.source.at("embeddings.patch_embeddings.projection.weight"), "' has shape ", pw.shape(),
             ", expected (C, 3, p, p)");
    k.dim = pw.size(0);
    k.patch = pw.size(2);
    CJ_CHECK(k.dim % 64 == 0, "load_dinov2: ", path, ": hidden size ", k.dim,
             " (from the patch projection) is not a multiple of the head width 64");
    k.heads = k.dim / 64;
    int64_t depth = 0;
    while (tr.tensors.count("encoder.layer." + std::to_string(depth) + ".norm1.weight")) ++depth;
    CJ_CHECK(depth >= 1, "load_dinov2: ", path, ": no transformer blocks (missing '",
             file_name_of("encoder.layer.0.norm1.weight"), "')");
    k.depth = depth;
    const std::string fc1 = "encoder.layer.0.mlp.fc1.weight";
    CJ_CHECK(tr.tensors.count(fc1), "load_dinov2: ", path, ": missing tensor '", file_name_of(fc1),
             "' (SwiGLU MLPs, as in ViT-g/14, are not supported)");
    k.mlp_hidden = need(fc1, 2).size(0);
    const Tensor& pos = need("embeddings.position_embeddings", 3);
    const auto g = int64_t(std::llround(std::sqrt(double(pos.size(1) - 1))));
    CJ_CHECK(pos.size(0) == 1 && g >= 1 && g * g + 1 == pos.size(1), "load_dinov2: ", path, ": '",
             tr.source.at("embeddings.position_embeddings"), "' has shape ", pos.shape(),
             ", expected (1, 1 + G*G, C) for a square G x G table");
    k.pos_grid = g;
    auto reg = tr.tensors.find("embeddings.register_tokens");
    if (reg != tr.tensors.end()) k.registers = need("embeddings.register_tokens", 3).size(1);
    k.layerscale = tr.tensors.count("encoder.layer.0.layer_scale1.lambda1") > 0;
    return k;
  }
};

}  // namespace

std::shared_ptr<Dinov2> load_dinov2(const std::map<std::string, Tensor>& tensors, const std::string& path) {
  Layout layout;
  if (tensors.count("embeddings.patch_embeddings.projection.weight") || has_key_starting(tensors, "encoder.layer."))
    layout = Layout::huggingface;
  else if (tensors.count("patch_embed.proj.weight") || has_key_starting(tensors, "blocks."))
    layout = Layout::timm_or_hub;
  else
    fail("load_dinov2: ", path, " is not a DINOv2 checkpoint: expected Hugging Face names (",
         "embeddings.patch_embeddings.projection.weight, encoder.layer.N.*) or timm/hub names (patch_embed.proj.weight, ",
         "pos_embed, blocks.N.attn.qkv.weight), found ", some_keys(tensors));

  Loader loader{path, layout, layout == Layout::huggingface ? from_huggingface(tensors) : from_timm_or_hub(tensors, path)};
  CJ_CHECK(loader.tr.clash.empty(), "load_dinov2: ", path, ": ", loader.tr.clash);
  Dinov2Config config = loader.infer_config();
  // Checkpoints without a mask token (timm) keep the model's zeros; it is unused at inference.
  if (!loader.tr.tensors.count("embeddings.mask_token"))
    loader.tr.put("embeddings.mask_token", zeros({1, config.dim}), "(none)");

  auto model = std::make_shared<Dinov2>(config);
  nn::StateDict dict;
  std::set<std::string> expected;
  for (const auto& [name, param] : model->state_dict()) {
    expected.insert(name);
    auto it = loader.tr.tensors.find(name);
    CJ_CHECK(it != loader.tr.tensors.end(), "load_dinov2: ", path, ": missing tensor '", loader.file_name_of(name),
             "' (a ", config.depth, "-block, width-", config.dim, " model needs it)");
    const Tensor& t = it->second;
    CJ_CHECK(t.shape() == param.shape(), "load_dinov2: ", path, ": '", loader.tr.source.at(name), "' has shape ",
             t.shape(), ", expected ", param.shape(), " (width ", config.dim, ", mlp ", config.mlp_hidden, ", patch ",
             config.patch, ", ", config.registers, " registers, inferred from the file)");
    CJ_CHECK(is_floating(t.dtype()), "load_dinov2: ", path, ": '", loader.tr.source.at(name), "' has dtype ",
             dtype_name(t.dtype()), ", expected a floating-point tensor");
    dict[name] = cj::to(t, param.dtype());
  }
  for (const auto& [name, t] : loader.tr.tensors)
    if (!expected.count(name)) loader.tr.unknown.push_back(loader.tr.source.at(name));
  if (!loader.tr.unknown.empty()) {
    std::ostringstream os;
    for (std::size_t i = 0; i < loader.tr.unknown.size() && i < 8; ++i) os << (i ? ", " : "") << "'" << loader.tr.unknown[i] << "'";
    if (loader.tr.unknown.size() > 8) os << ", ... (" << loader.tr.unknown.size() << " in all)";
    fail("load_dinov2: ", path, ": unexpected tensors for a ", config.depth, "-block DINOv2 (",
         layout == Layout::huggingface ? "Hugging Face" : "timm/hub", " names): ", os.str());
  }
  NoGradGuard no_grad;
  model->load_state_dict(dict, /*strict=*/true);
  model->eval();
  return model;
}

std::shared_ptr<Dinov2> load_dinov2(const std::string& path) {
  io::TensorMap tensors;
  try {
    tensors = io::load_tensors(path);
  } catch (const Error& e) {
    fail("load_dinov2: ", e.what());  // the reader's message names the file and what is wrong with it
  }
  return load_dinov2(tensors, path);
}

}  // namespace cj::models
