#include "nn/checkpoint.hpp"

#include <nlohmann/json.hpp>

#include "tensor/io/safetensors.hpp"
#include "tensor/ops/views.hpp"

namespace cj::nn {

namespace {

constexpr const char* kFormat = "cjepa-checkpoint";
constexpr const char* kModelPrefix = "model.";
constexpr const char* kOptimPrefix = "optim.";
constexpr const char* kScalerPrefix = "scaler.";

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

CheckpointInfo parse_info(const std::string& path, const io::Metadata& metadata) {
  auto it = metadata.find("checkpoint");
  CJ_CHECK(it != metadata.end(), path, ": not a cjepa checkpoint (no \"checkpoint\" metadata)");
  CheckpointInfo info;
  try {
    auto j = nlohmann::json::parse(it->second);
    CJ_CHECK(j.value("format", "") == kFormat, path, ": checkpoint metadata has format '", j.value("format", ""),
             "', expected '", kFormat, "'");
    CJ_CHECK(j.at("version").get<int>() == 1, path, ": checkpoint version ", j.at("version").get<int>(),
             " is not supported (expected 1)");
    info.step = j.at("step").get<int64_t>();
    info.rng_seed = j.at("rng_seed").get<uint64_t>();
    info.rng_offset = j.at("rng_offset").get<uint64_t>();
  } catch (const nlohmann::json::exception& e) {
    fail(path, ": malformed checkpoint metadata: ", e.what());
  }
  auto config = metadata.find("config");
  info.config = config == metadata.end() ? "{}" : config->second;
  return info;
}

}  // namespace

void save_checkpoint(const std::string& path, const Module& model, const Optimizer* optimizer, int64_t step,
                     const Generator& rng, const std::string& config, const GradScaler* scaler) {
  CJ_CHECK(step >= 0, "save_checkpoint: step must be >= 0, got ", step);
  CJ_CHECK(nlohmann::json::accept(config), "save_checkpoint: config is not valid JSON: ", config.substr(0, 200));
  // Saved from CPU copies, so a file is the same whichever device trained it (and loads onto any).
  io::TensorMap tensors;
  auto put = [&tensors](const std::string& key, const Tensor& t) { tensors[key] = ops::to(t, Device::cpu()); };
  for (const auto& [name, t] : model.state_dict()) put(kModelPrefix + name, t);
  if (optimizer)
    for (const auto& [key, t] : optimizer->state_dict()) put(kOptimPrefix + key, t);
  if (scaler)
    for (const auto& [key, t] : scaler->state_dict()) put(kScalerPrefix + key, t);
  nlohmann::json meta = {{"format", kFormat}, {"version", 1},          {"step", step},
                         {"rng_seed", rng.seed()}, {"rng_offset", rng.offset()}, {"has_optimizer", optimizer != nullptr}};
  io::write_safetensors(path, tensors, {{"checkpoint", meta.dump()}, {"config", config}});
}

CheckpointInfo read_checkpoint_info(const std::string& path) {
  auto file = io::read_safetensors(path);
  return parse_info(path, file.metadata);
}

CheckpointInfo load_checkpoint(const std::string& path, Module& model, Optimizer* optimizer, Generator* rng,
                               GradScaler* scaler) {
  auto file = io::read_safetensors(path);
  CheckpointInfo info = parse_info(path, file.metadata);
  StateDict weights, optim_state, scaler_state;
  for (auto& [key, t] : file.tensors) {
    if (starts_with(key, kModelPrefix)) weights[key.substr(std::string(kModelPrefix).size())] = t;
    else if (starts_with(key, kOptimPrefix)) optim_state[key.substr(std::string(kOptimPrefix).size())] = t;
    else if (starts_with(key, kScalerPrefix)) scaler_state[key.substr(std::string(kScalerPrefix).size())] = t;
    else fail(path, ": unexpected tensor '", key, "' in checkpoint (expected model.*, optim.* or scaler.*)");
  }
  try {
    model.load_state_dict(weights, /*strict=*/true);
    if (optimizer) {
      CJ_CHECK(!optim_state.empty(), "the checkpoint holds no optimizer state");
      optimizer->load_state_dict(optim_state);
    }
    if (scaler) {
      CJ_CHECK(!scaler_state.empty(), "the checkpoint holds no GradScaler state");
      scaler->load_state_dict(scaler_state);
    }
  } catch (const Error& e) {
    fail(path, ": ", e.what());
  }
  if (rng) rng->set_state(info.rng_seed, info.rng_offset);
  return info;
}

}  // namespace cj::nn
