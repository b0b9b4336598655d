#include "models/predictor_loading.hpp"

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tensor/error.hpp"
#include "models/predictor_checkpoint.hpp"
#include "tensor/io/load.hpp"

namespace cj::models {
namespace {

const std::string kAnchorKey = "mask_token";

// The first value under any of `keys`, searched depth-first through nested objects (a config may be
// flat, {"heads": 16}, or nested like the reference's YAML, {"predictor": {"heads": 16}}).
const nlohmann::json* find_key(const nlohmann::json& j, const std::vector<std::string>& keys) {
  if (!j.is_object()) return nullptr;
  for (const auto& k : keys)
    if (j.contains(k) && j.at(k).is_number()) return &j.at(k);
  for (const auto& item : j.items())
    if (const nlohmann::json* hit = find_key(item.value(), keys)) return hit;
  return nullptr;
}

std::optional<int64_t> config_int(const nlohmann::json& j, const std::vector<std::string>& keys) {
  const nlohmann::json* v = find_key(j, keys);
  return v && v->is_number_integer() ? std::optional<int64_t>(v->get<int64_t>()) : std::nullopt;
}

// The prefix in front of "mask_token": the one given, else the only predictor in the file.
std::string find_prefix(const std::string& path, const io::TensorMap& tensors, const std::string& given) {
  if (given.empty()) return find_predictor_prefix(tensors, "'" + path + "'");
  CJ_CHECK(tensors.count(given + kAnchorKey), path, ": no tensor '", given + kAnchorKey,
           "' (the predictor's mask token under prefix '", given, "')");
  return given;
}

const Tensor& need(const std::string& path, const nn::StateDict& dict, const std::string& key, int64_t dims) {
  auto it = dict.find(key);
  CJ_CHECK(it != dict.end(), path, ": the predictor has no '", key, "' tensor");
  CJ_CHECK(it->second.dim() == dims, path, ": '", key, "' has shape ", it->second.shape(), ", expected ", dims,
           " dimensions");
  return it->second;
}

}  // namespace

LoadedPredictor load_predictor(const std::string& path, const PredictorWeightsOptions& options) {
  io::LoadedFile file = io::load_file(path);
  LoadedPredictor out;
  nlohmann::json config = nlohmann::json::object();
  const bool is_checkpoint = file.metadata.count("checkpoint") > 0;
  out.kind = is_checkpoint ? "cjepa checkpoint" : "state dict";
  if (file.metadata.count("config")) {
    out.config_json = file.metadata.at("config");
    try {
      config = nlohmann::json::parse(out.config_json);
    } catch (const std::exception& e) {
      fail(path, ": its \"config\" metadata is not JSON: ", e.what());
    }
  }
  out.prefix = find_prefix(path, file.tensors, options.prefix);
  // the predictor's tensors under their full names (load_predictor_state strips the prefix and casts)
  nn::StateDict dict;
  for (const auto& [name, t] : file.tensors)
    if (name.rfind(out.prefix, 0) == 0) dict[name] = t;
  const std::string& p = out.prefix;

  CjepaPredictorConfig c;
  const Tensor& mask_token = need(path, dict, p + "mask_token", 3);
  const Tensor& time_pe = need(path, dict, p + "time_pos_embed", 4);
  c.dim = mask_token.shape()[2];
  const int64_t total = time_pe.shape()[1];
  c.depth = 0;
  while (dict.count(p + "transformer.layers." + std::to_string(c.depth) + ".0.in_proj_weight")) ++c.depth;
  CJ_CHECK(c.depth >= 1, path, ": the predictor has no transformer.layers.0.0.in_proj_weight");
  c.ffn = need(path, dict, p + "transformer.layers.0.1.1.weight", 2).shape()[0];
  c.heads = options.heads ? *options.heads : config_int(config, {"predictor.heads", "heads"}).value_or(16);
  c.history = options.history ? *options.history : config_int(config, {"dinowm.history_size", "history_size", "history"}).value_or(6);
  CJ_CHECK(c.history >= 1 && c.history < total, path, ": history ", c.history, " does not fit its time_pos_embed of ",
           total, " rows (history + predictions)");
  c.preds = total - c.history;
  CJ_CHECK(c.dim % c.heads == 0, path, ": slot dim ", c.dim, " is not a multiple of ", c.heads, " heads");
  c.dropout = 0.0;
  out.model = std::make_shared<MaskedSlotPredictor>(c);
  load_predictor_state(*out.model, dict, "'" + path + "'");
  out.model->eval();
  if (const nlohmann::json* lr = find_key(config, {"predictor_lr", "lr"})) out.lr = lr->get<double>();
  out.masked_slots = config_int(config, {"num_masked_slots", "masked_slots"});
  out.frameskip = config_int(config, {"frameskip"});
  return out;
}

}  // namespace cj::models
