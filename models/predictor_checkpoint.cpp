#include "models/predictor_checkpoint.hpp"

#include <algorithm>
#include <sstream>
#include <vector>

#include "tensor/error.hpp"
#include "tensor/io/load.hpp"
#include "tensor/ops.hpp"

namespace cj::models {

namespace {

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string describe(const CjepaPredictorConfig& c) {
  std::ostringstream os;
  os << "depth " << c.depth << ", dim " << c.dim << ", ffn " << c.ffn << ", history " << c.history << ", preds "
     << c.preds;
  return os.str();
}

// The entries of `state` under each of `children` (e.g. "predictor.") below `prefix`, with `prefix`
// stripped: {"model.predictor.mask_token" -> "predictor.mask_token"} for prefix "model.".
nn::StateDict entries_under(const nn::StateDict& state, const std::string& prefix,
                            const std::vector<std::string>& children) {
  nn::StateDict out;
  for (const auto& [key, value] : state) {
    if (!starts_with(key, prefix)) continue;
    const std::string rest = key.substr(prefix.size());
    for (const auto& child : children)
      if (starts_with(rest, child)) out[rest] = value;
  }
  return out;
}

// Checks every tensor of `picked` (keys relative to `prefix`) against the model's own and loads them
// strictly; one cj::Error lists every missing, unexpected or differently shaped key by its full
// checkpoint name. Floating tensors stored in another precision are converted to the model's dtype.
void load_checked(nn::Module& model, const nn::StateDict& picked, const std::string& prefix, const char* op,
                  const std::string& source, const std::string& config_text) {
  const nn::StateDict own = model.state_dict();
  std::vector<std::string> problems;
  nn::StateDict converted;
  for (const auto& [name, mine] : own) {
    auto it = picked.find(name);
    std::ostringstream os;
    if (it == picked.end()) {
      os << "'" << prefix << name << "' is missing (expected shape " << mine.shape() << ")";
    } else if (it->second.shape() != mine.shape()) {
      os << "'" << prefix << name << "' has shape " << it->second.shape() << ", the model expects " << mine.shape();
      if (ends_with(name, "time_pos_embed")) os << " (dim 1 = history + preds time steps)";
    } else if (it->second.dtype() != mine.dtype() && !(is_floating(it->second.dtype()) && is_floating(mine.dtype()))) {
      os << "'" << prefix << name << "' has dtype " << dtype_name(it->second.dtype()) << ", the model expects "
         << dtype_name(mine.dtype());
    } else {
      converted[name] = ops::to(it->second, mine.dtype());
      continue;
    }
    problems.push_back(os.str());
  }
  for (const auto& [name, _] : picked)
    if (!own.count(name)) problems.push_back("unexpected key '" + prefix + name + "'");
  if (!problems.empty()) {
    std::ostringstream os;
    const std::size_t shown = std::min<std::size_t>(problems.size(), 8);
    for (std::size_t i = 0; i < shown; ++i) os << (i ? "; " : "") << problems[i];
    if (problems.size() > shown) os << "; and " << problems.size() - shown << " more";
    fail(op, ": ", source, " does not fit the model (", config_text, "): ", os.str());
  }
  model.load_state_dict(converted, /*strict=*/true);
}

const char* const kPredictorChild = "predictor.";
const char* const kActionKey = "action_encoder.patch_embed.weight";

// The world-model prefix above a predictor prefix ("model.predictor." -> "model."), or none when the
// predictor is not a child named "predictor".
bool world_prefix_of(const std::string& predictor_prefix, std::string& world) {
  if (!ends_with(predictor_prefix, kPredictorChild)) return false;
  world = predictor_prefix.substr(0, predictor_prefix.size() - std::string(kPredictorChild).size());
  return true;
}

}  // namespace

std::string find_predictor_prefix(const nn::StateDict& state, const std::string& source) {
  std::vector<std::string> found;
  for (const auto& [key, _] : state) {
    if (!ends_with(key, "mask_token")) continue;
    const std::string prefix = key.substr(0, key.size() - std::string("mask_token").size());
    if (!prefix.empty() && prefix.back() != '.') continue;
    if (state.count(prefix + "time_pos_embed") && state.count(prefix + "id_projector.weight") &&
        state.count(prefix + "to_out.weight"))
      found.push_back(prefix);
  }
  if (found.size() == 1) return found.front();
  std::ostringstream os;
  if (found.empty()) {
    os << "no C-JEPA predictor in " << source << ": no '<prefix>mask_token' with time_pos_embed, "
       << "id_projector.weight and to_out.weight beside it among its " << state.size() << " tensors";
    std::size_t shown = 0;
    for (auto it = state.begin(); it != state.end() && shown < 5; ++it, ++shown) os << (shown ? ", " : " (e.g. ") << it->first;
    if (shown) os << ")";
  } else {
    os << source << " holds " << found.size() << " C-JEPA predictors, under";
    for (const auto& p : found) os << " '" << p << "'";
  }
  fail("find_predictor_prefix: ", os.str());
}

void load_predictor_state(MaskedSlotPredictor& model, const nn::StateDict& state, const std::string& source) {
  const std::string prefix = find_predictor_prefix(state, source);
  std::string world;
  if (world_prefix_of(prefix, world) && state.count(world + kActionKey))
    fail("load_predictor_state: ", source, " holds a Push-T AP world model ('", world + kActionKey,
         "' beside the predictor), not the CLEVRER predictor: load it with PushTWorldModel / load_pusht_state");
  nn::StateDict picked;
  for (const auto& [key, value] : state)
    if (starts_with(key, prefix)) picked[key.substr(prefix.size())] = value;
  load_checked(model, picked, prefix, "load_predictor_state", source, describe(model.config()));
}

void load_pusht_state(PushTWorldModel& model, const nn::StateDict& state, const std::string& source) {
  const std::string prefix = find_predictor_prefix(state, source);
  std::string world;
  if (!world_prefix_of(prefix, world))
    fail("load_pusht_state: ", source, " holds a bare C-JEPA predictor (keys under '", prefix,
         "', not a world model's 'predictor.' child) with no proprio/action encoders: the CLEVRER variant, load it "
         "with MaskedSlotPredictor / load_predictor_state");
  if (!state.count(world + kActionKey))
    fail("load_pusht_state: ", source, " has a predictor under '", prefix, "' but no '", world + kActionKey,
         "' beside it: not a Push-T AP world model (the CLEVRER variant?), load it with load_predictor_state");
  const nn::StateDict picked = entries_under(state, world, {kPredictorChild, "action_encoder.", "proprio_encoder."});
  const PushTPredictorConfig& c = model.config();
  load_checked(model, picked, world, "load_pusht_state", source,
               describe(c.predictor) + ", " + std::to_string(c.object_slots) + " slots, proprio " +
                   std::to_string(c.proprio_dim) + ", action " + std::to_string(c.action_dim));
}

void load_predictor_file(MaskedSlotPredictor& model, const std::string& path) {
  io::ReadOptions options;
  options.unknown_calls_as_records = true;  // Lightning hyper-parameters, partials: inert, never executed
  load_predictor_state(model, io::load_tensors(path, options), "'" + path + "'");
}

void load_pusht_file(PushTWorldModel& model, const std::string& path) {
  io::ReadOptions options;
  options.unknown_calls_as_records = true;
  load_pusht_state(model, io::load_tensors(path, options), "'" + path + "'");
}

}  // namespace cj::models
