#pragma once
// What the predictor tests share: a PyTorch fixture file (tensors + JSON config in its metadata),
// the relative error they are judged by, and catching the cj::Error a bad call throws.
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "autograd/ops.hpp"
#include "models/cjepa_predictor.hpp"
#include "models/cjepa_predictor_pusht.hpp"
#include "nn/module.hpp"
#include "nn/optim/optimizer.hpp"
#include "tensor/error.hpp"
#include "tensor/io/safetensors.hpp"
#include "tensor/ops.hpp"

namespace cj::test {

constexpr double kOutputTol = 1e-5, kGradTol = 1e-4;

struct PredictorFixture {
  std::string file;
  std::map<std::string, Tensor> tensors;
  io::Metadata metadata;

  const Tensor& at(const std::string& key) const {
    auto it = tensors.find(key);
    if (it == tensors.end()) fail(file, " has no tensor '", key, "'");
    return it->second;
  }
  nlohmann::json json(const std::string& key = "config") const { return nlohmann::json::parse(metadata.at(key)); }
  // The entries whose name starts with prefix, with the prefix stripped ("param.x" -> "x").
  nn::StateDict with_prefix(const std::string& prefix) const {
    nn::StateDict out;
    for (const auto& [k, v] : tensors)
      if (k.rfind(prefix, 0) == 0) out[k.substr(prefix.size())] = v;
    return out;
  }
};

// name: a file under tests/fixtures/models/
inline PredictorFixture load_predictor_fixture(const std::string& name) {
  PredictorFixture f;
  f.file = std::string(CJ_FIXTURE_DIR) + "/models/" + name;
  auto file = io::read_safetensors(f.file);
  f.tensors = std::move(file.tensors);
  f.metadata = std::move(file.metadata);
  return f;
}

// max|a - b| / max|b|, with a shape check.
inline double rel_error(const Tensor& actual, const Tensor& expected) {
  EXPECT_EQ(actual.shape(), expected.shape());
  return ops::max_rel_error(actual, expected);
}

inline std::vector<int64_t> to_indices(const Tensor& t) {
  std::vector<int64_t> out;
  for (int64_t i = 0; i < t.numel(); ++i) out.push_back(ops::select(t, 0, i).item<int64_t>());
  return out;
}

// The model configs a fixture's JSON describes ({"depth", "heads", "dim", "ffn", "history", "preds"}
// plus {"slots", "proprio", "action"} for Push-T). Fixtures run without dropout.
inline models::CjepaPredictorConfig predictor_config_of(const nlohmann::json& c, double dropout = 0.0) {
  models::CjepaPredictorConfig config;
  config.depth = c.at("depth");
  config.heads = c.at("heads");
  config.dim = c.at("dim");
  config.ffn = c.at("ffn");
  config.history = c.at("history");
  config.preds = c.at("preds");
  config.dropout = dropout;
  return config;
}

inline models::PushTPredictorConfig pusht_config_of(const nlohmann::json& c) {
  models::PushTPredictorConfig config;
  config.predictor = predictor_config_of(c);
  config.object_slots = c.at("slots");
  config.proprio_dim = c.at("proprio");
  config.action_dim = c.at("action");
  return config;
}

// Each named output against the fixture's "<prefix><name>" to kOutputTol; returns the worst error.
inline double expect_outputs_match(const std::map<std::string, Tensor>& outputs, const PredictorFixture& f,
                                   const std::string& prefix) {
  double worst = 0;
  for (const auto& [name, got] : outputs) {
    const double err = rel_error(got, f.at(prefix + name));
    EXPECT_LE(err, kOutputTol) << prefix << name;
    worst = std::max(worst, err);
  }
  return worst;
}

// Every parameter's .grad against the fixture's "grad_param.<name>" to kGradTol (and every fixture
// gradient has its parameter); returns the worst error.
inline double expect_gradients_match(const nn::Module& model, const PredictorFixture& f) {
  double worst = 0;
  int checked = 0;
  for (const auto& [name, p] : model.named_parameters()) {
    if (!p.grad().defined()) {
      ADD_FAILURE() << "no gradient reached " << name;
      continue;
    }
    const double err = rel_error(p.grad(), f.at("grad_param." + name));
    EXPECT_LE(err, kGradTol) << "grad of " << name;
    worst = std::max(worst, err);
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(f.with_prefix("grad_param.").size()));
  return worst;
}

// Runs `body` and returns the cj::Error message it threw ("" and a test failure if none).
template <typename F>
std::string error_of(F&& body) {
  try {
    body();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a cj::Error";
  return "";
}

inline void expect_has(const std::string& message, const std::string& piece) {
  EXPECT_NE(message.find(piece), std::string::npos) << "message: " << message;
}

// Attention is invariant to the key bias (it adds the same logit to a whole softmax row), so its
// gradient is float noise around 0 (~1e-9 here), which Adam's g / (sqrt(v) + eps) turns into
// noise-sized updates on either side. The fixtures zero it before each step, and so do the tests.
inline void zero_key_bias_grads(nn::Module& model) {
  for (const auto& [name, p] : model.named_parameters()) {
    const std::string suffix = "in_proj_bias";
    if (name.size() < suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) continue;
    const int64_t dim = p.numel() / 3;  // rows: query, key, value
    if (p.grad().defined()) ops::zero_(ops::slice(p.grad(), 0, dim, 2 * dim));
  }
}

// Three optimizer steps on loss_fn() against the fixture's "adamw.loss.<k>" (the loss before step k)
// and "adamw.param.<name>" (the weights after the third step), both to kOutputTol.
template <typename LossFn>
void expect_adamw_steps_match(nn::Module& model, nn::Optimizer& optimizer, const PredictorFixture& f, LossFn&& loss_fn) {
  for (int step = 0; step < 3; ++step) {
    optimizer.zero_grad();
    Tensor loss = loss_fn();
    EXPECT_LE(rel_error(loss, f.at("adamw.loss." + std::to_string(step))), kOutputTol) << "loss before step " << step;
    cj::backward(loss);
    zero_key_bias_grads(model);
    optimizer.step();
  }
  double worst_weight = 0, worst_update = 0;
  int checked = 0;
  for (const auto& [name, p] : model.named_parameters()) {
    const Tensor& want = f.at("adamw.param." + name);
    const Tensor& before = f.at("param." + name);
    const double weight_err = rel_error(p, want);
    EXPECT_LE(weight_err, kOutputTol) << name;
    worst_weight = std::max(worst_weight, weight_err);
    worst_update = std::max(worst_update, rel_error(ops::sub(p, before), ops::sub(want, before)));
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(f.with_prefix("adamw.param.").size()));
  // The update's own error is reported, not bounded: Adam divides by sqrt(v), so an element whose
  // gradient is ~eps amplifies the gradients' 1e-7-level differences.
  std::cout << "[" << f.file.substr(f.file.rfind('/') + 1) << "] after 3 AdamW steps: worst weight rel error "
            << worst_weight << " (update rel error " << worst_update << ")\n";
}

}  // namespace cj::test
