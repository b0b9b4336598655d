#pragma once
// Builds a MaskedSlotPredictor from a weights file, whichever kind it is:
//   - a cjepa checkpoint (nn/checkpoint.hpp: "model.<name>" tensors plus the run config), or
//   - a reference state dict (torch.save(predictor.state_dict()), a Lightning "state_dict", or its
//     conversion to safetensors), by the reference's parameter names, possibly under a prefix
//     ("module.", "predictor.", ...).
// The shape-carrying hyper-parameters (dim, depth, ffn, T_h + T_p) are read off the tensors; the
// number of heads and the history/prediction split cannot be, so they come from the options, else
// from the checkpoint's config, else the reference's CLEVRER values (16 heads, T_h = 6).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "models/cjepa_predictor.hpp"

namespace cj::models {

struct PredictorWeightsOptions {
  std::string prefix;                  // key prefix in front of "mask_token"; empty: detected
  std::optional<int64_t> heads;        // attention heads
  std::optional<int64_t> history;      // T_h (T_p = rows of time_pos_embed - T_h)
};

struct LoadedPredictor {
  std::shared_ptr<MaskedSlotPredictor> model;  // in eval mode
  std::string kind;                            // "cjepa checkpoint" or "state dict"
  std::string prefix;                          // the prefix that was stripped
  std::string config_json;                     // the run config saved in a cjepa checkpoint, else ""
  std::optional<double> lr;                    // the training lr, when the config names one
  std::optional<int64_t> masked_slots;         // the training masked-slot count, when named
  std::optional<int64_t> frameskip;            // the training frame stride, when named
};

// Throws cj::Error naming the file when it holds no predictor, several candidate prefixes, or
// tensors that do not fit one predictor (every missing/unexpected/mismatched key listed).
LoadedPredictor load_predictor(const std::string& path, const PredictorWeightsOptions& options = {});

}  // namespace cj::models
