#include "apps/predictor_config.hpp"

#include <fstream>
#include <functional>
#include <sstream>
#include <type_traits>
#include <variant>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "tensor/device.hpp"
#include "tensor/error.hpp"

namespace cj::app {
namespace {

using Value = std::variant<int64_t TrainerConfig::*, double TrainerConfig::*, std::string TrainerConfig::*,
                           bool TrainerConfig::*>;
struct Field {
  const char* key;
  Value member;
};

const std::vector<Field>& fields() {
  using C = TrainerConfig;
  static const std::vector<Field> table = {
      {"dataset_name", &C::dataset_name},
      {"embedding_dir", &C::embedding_dir},
      {"action_dir", &C::action_dir},
      {"proprio_dir", &C::proprio_dir},
      {"state_dir", &C::state_dir},
      {"output_model_name", &C::output_model_name},
      {"trainer.max_epochs", &C::max_epochs},
      {"trainer.precision", &C::precision},
      {"trainer.log_every_n_steps", &C::log_every_n_steps},
      {"batch_size", &C::batch_size},
      {"seed", &C::seed},
      {"frameskip", &C::frameskip},
      {"dinowm.history_size", &C::history_size},
      {"dinowm.num_preds", &C::num_preds},
      {"dinowm.proprio_dim", &C::proprio_dim},
      {"dinowm.proprio_embed_dim", &C::proprio_embed_dim},
      {"dinowm.action_dim", &C::action_dim},
      {"dinowm.action_embed_dim", &C::action_embed_dim},
      {"num_masked_slots", &C::num_masked_slots},
      {"predictor.depth", &C::depth},
      {"predictor.heads", &C::heads},
      {"predictor.mlp_dim", &C::mlp_dim},
      {"predictor.dim_head", &C::dim_head},
      {"predictor.dropout", &C::dropout},
      {"predictor.emb_dropout", &C::emb_dropout},
      {"videosaur.NUM_SLOTS", &C::num_slots},
      {"videosaur.SLOT_DIM", &C::slot_dim},
      {"predictor_lr", &C::predictor_lr},
      {"proprio_encoder_lr", &C::proprio_encoder_lr},
      {"action_encoder_lr", &C::action_encoder_lr},
      {"use_hungarian_matching", &C::use_hungarian_matching},
      {"cjepa.out_dir", &C::out_dir},
      {"cjepa.mask", &C::mask},
      {"cjepa.lr_schedule", &C::lr_schedule},
      {"cjepa.weight_decay", &C::weight_decay},
      {"cjepa.checkpoint_every_n_steps", &C::checkpoint_every_n_steps},
      {"cjepa.max_steps", &C::max_steps},
      {"cjepa.val_batch_size", &C::val_batch_size},
      {"cjepa.progress", &C::progress},
      {"cjepa.device", &C::device},
  };
  return table;
}

// The reference's keys that predictor training does not use: accepted and ignored. A trailing '.'
// accepts the whole subtree (the Push-T yaml carries the VideoSAUR encoder's config under model.*).
const std::vector<std::string>& ignored_keys() {
  static const std::vector<std::string> keys = {
      "defaults", "hydra.", "wandb.", "rollout.", "model.", "dummy_optimizer.", "dummy_trainer.", "videosaur.",
      "cache_dir", "num_workers", "image_size", "patch_size", "n_steps", "training_type", "dump_object",
      "hungarian_cost_type", "trainer.strategy", "trainer.devices", "trainer.accelerator", "log_every_n_epochs"};
  return keys;
}

const Field* find_field(const std::string& key) {
  for (const auto& f : fields())
    if (key == f.key) return &f;
  return nullptr;
}

bool has_field_under(const std::string& prefix) {
  for (const auto& f : fields())
    if (std::string(f.key).rfind(prefix, 0) == 0) return true;
  return false;
}

bool is_ignored(const std::string& key) {
  for (const auto& k : ignored_keys())
    if (k.back() == '.' ? key.rfind(k, 0) == 0 : key == k) return true;
  return false;
}

// Sets one key from its text; null / ~ clears a string (the reference's `embedding_dir: null`).
void set_value(TrainerConfig& config, const std::string& key, const std::string& text, const std::string& source) {
  const Field* field = find_field(key);
  if (!field) {
    CJ_CHECK(is_ignored(key), source, ": unknown config key '", key, "' (see `cjepa train-predictor --help` for the ",
             "keys)");
    return;
  }
  auto bad = [&](const char* expected) { fail(source, ": config key '", key, "' expects ", expected, ", got '", text, "'"); };
  std::visit(
      [&](auto member) {
        using T = std::decay_t<decltype(config.*member)>;
        if constexpr (std::is_same_v<T, std::string>) {
          config.*member = (text == "null" || text == "~") ? std::string() : text;
        } else if constexpr (std::is_same_v<T, bool>) {
          if (text == "true" || text == "True") config.*member = true;
          else if (text == "false" || text == "False") config.*member = false;
          else bad("true or false");
        } else {
          std::istringstream is(text);
          T value{};
          is >> value;
          if (is.fail() || !is.eof()) bad(std::is_same_v<T, int64_t> ? "an integer" : "a number");
          config.*member = value;
        }
      },
      field->member);
}

void walk(TrainerConfig& config, const YAML::Node& node, const std::string& prefix, const std::string& source) {
  for (const auto& entry : node) {
    const std::string key = prefix + entry.first.as<std::string>();
    const YAML::Node& value = entry.second;
    if (value.IsMap()) {
      if (is_ignored(key + ".") && !has_field_under(key + ".")) continue;
      walk(config, value, key + ".", source);
    } else if (value.IsSequence()) {
      CJ_CHECK(!find_field(key), source, ": config key '", key, "' expects a single value, got a list");
      CJ_CHECK(is_ignored(key), source, ": unknown config key '", key, "'");
    } else {
      set_value(config, key, value.IsNull() ? std::string("null") : value.Scalar(), source);
    }
  }
}

const char* const kClevrerPreset = R"(
dataset_name: clevrer
batch_size: 256
seed: 42
frameskip: 2
trainer: {max_epochs: 30, precision: "32"}
dinowm: {history_size: 6, num_preds: 10}
num_masked_slots: 4
predictor: {depth: 6, heads: 16, mlp_dim: 2048, dim_head: 64, dropout: 0.1}
videosaur: {NUM_SLOTS: 7, SLOT_DIM: 128}
predictor_lr: 5e-4
cjepa: {lr_schedule: constant, weight_decay: 0.01, mask: fixed}
)";

const char* const kPushTPreset = R"(
dataset_name: pusht_expert
batch_size: 256
seed: 42
frameskip: 5
trainer: {max_epochs: 30, precision: "32"}
dinowm: {history_size: 3, num_preds: 1, proprio_dim: 4, proprio_embed_dim: 128, action_dim: 2, action_embed_dim: 128}
num_masked_slots: 1
predictor: {depth: 6, heads: 16, mlp_dim: 2048, dim_head: 64, dropout: 0.1}
videosaur: {NUM_SLOTS: 4, SLOT_DIM: 128}
predictor_lr: 5e-4
proprio_encoder_lr: 1e-4
action_encoder_lr: 5e-4
cjepa: {lr_schedule: cosine, weight_decay: 0.01, mask: fixed}
)";

}  // namespace

bool TrainerConfig::bf16() const {
  if (precision == "32" || precision == "32-true" || precision == "fp32") return false;
  if (precision == "bf16" || precision == "bf16-mixed" || precision == "16-mixed") return true;
  fail("config key 'trainer.precision': expected 32, 32-true, fp32, bf16, bf16-mixed or 16-mixed (run as bf16), got '",
       precision, "'");
}

void TrainerConfig::validate() const {
  (void)bf16();
  auto positive = [](const char* key, int64_t v) { CJ_CHECK(v >= 1, "config key '", key, "' must be >= 1, got ", v); };
  positive("trainer.max_epochs", max_epochs);
  positive("trainer.log_every_n_steps", log_every_n_steps);
  positive("batch_size", batch_size);
  positive("frameskip", frameskip);
  positive("dinowm.history_size", history_size);
  positive("dinowm.num_preds", num_preds);
  positive("predictor.depth", depth);
  positive("predictor.heads", heads);
  positive("predictor.mlp_dim", mlp_dim);
  positive("videosaur.NUM_SLOTS", num_slots);
  positive("videosaur.SLOT_DIM", slot_dim);
  CJ_CHECK(embedding_dir != "", "config key 'embedding_dir' (the slot file) is not set");
  CJ_CHECK(slot_dim % heads == 0, "config: videosaur.SLOT_DIM (", slot_dim, ") must be a multiple of predictor.heads (",
           heads, ")");
  CJ_CHECK(num_masked_slots >= 0 && num_masked_slots <= num_slots, "config key 'num_masked_slots' must lie in [0, ",
           num_slots, "] (videosaur.NUM_SLOTS), got ", num_masked_slots);
  CJ_CHECK(dropout >= 0 && dropout < 1, "config key 'predictor.dropout' must lie in [0, 1), got ", dropout);
  CJ_CHECK(emb_dropout == 0, "config key 'predictor.emb_dropout': only 0 is supported (the reference never uses it), got ",
           emb_dropout);
  CJ_CHECK(!use_hungarian_matching, "config key 'use_hungarian_matching': the Hungarian-matched loss is not ",
           "implemented (the released setting is false)");
  CJ_CHECK(mask == "fixed" || mask == "random", "config key 'cjepa.mask' must be fixed or random, got '", mask, "'");
  CJ_CHECK(lr_schedule == "constant" || lr_schedule == "cosine", "config key 'cjepa.lr_schedule' must be constant or ",
           "cosine, got '", lr_schedule, "'");
  CJ_CHECK(predictor_lr > 0 && proprio_encoder_lr > 0 && action_encoder_lr > 0 && weight_decay >= 0,
           "config: learning rates must be > 0 and cjepa.weight_decay >= 0");
  CJ_CHECK(checkpoint_every_n_steps >= 0 && max_steps >= 0 && val_batch_size >= 0,
           "config: cjepa.checkpoint_every_n_steps, cjepa.max_steps and cjepa.val_batch_size must be >= 0");
  CJ_CHECK(!out_dir.empty(), "config key 'cjepa.out_dir' is empty");
  try {
    Device::parse(device);
  } catch (const Error&) {
    fail("config key 'cjepa.device' must be cpu, cuda or cuda:N, got '", device, "'");
  }
  if (pusht())
    CJ_CHECK(!action_dir.empty() && !proprio_dir.empty(), "config: the Push-T variant (dataset_name '", dataset_name,
             "') needs action_dir and proprio_dir");
}

std::string TrainerConfig::to_json() const {
  nlohmann::json j;
  for (const auto& f : fields()) std::visit([&](auto member) { j[f.key] = this->*member; }, f.member);
  return j.dump();
}

TrainerConfig preset_config(const std::string& name) {
  TrainerConfig config;
  if (name == "clevrer") apply_yaml(config, kClevrerPreset, "preset clevrer");
  else if (name == "pusht") apply_yaml(config, kPushTPreset, "preset pusht");
  else fail("unknown preset '", name, "' (expected clevrer or pusht)");
  return config;
}

std::vector<std::string> preset_names() { return {"clevrer", "pusht"}; }

void apply_yaml(TrainerConfig& config, const std::string& yaml_text, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    fail(source, ": not valid YAML: ", e.what());
  }
  if (root.IsNull()) return;
  CJ_CHECK(root.IsMap(), source, ": expected a mapping of config keys at the top level");
  walk(config, root, "", source);
}

void apply_yaml_file(TrainerConfig& config, const std::string& path) {
  std::ifstream in(path);
  CJ_CHECK(in.good(), "cannot read config file ", path);
  std::stringstream text;
  text << in.rdbuf();
  apply_yaml(config, text.str(), path);
}

void apply_override(TrainerConfig& config, const std::string& assignment) {
  const auto eq = assignment.find('=');
  CJ_CHECK(eq != std::string::npos && eq > 0, "override '", assignment, "': expected key=value");
  std::string value = assignment.substr(eq + 1);
  if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front())
    value = value.substr(1, value.size() - 2);
  set_value(config, assignment.substr(0, eq), value, "override '" + assignment + "'");
}

std::vector<std::string> config_keys() {
  std::vector<std::string> keys;
  for (const auto& f : fields()) keys.push_back(f.key);
  return keys;
}

}  // namespace cj::app
