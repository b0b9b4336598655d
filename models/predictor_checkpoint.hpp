#pragma once
// Loading C-JEPA predictor weights from the reference's checkpoints, whatever wraps them:
//   CLEVRER  <name>_final_predictor.ckpt   torch.save(predictor.state_dict()): keys "mask_token", ...
//   Push-T   <name>_object.ckpt            torch.save(spt.Module): the world model under "model.":
//            "model.predictor.*", "model.action_encoder.patch_embed.*", "model.proprio_encoder.*"
//            (plus the frozen VideoSAUR "model.encoder.*", "model.slot_attention.*", ... ignored here)
//   Push-T   <name>_weights.ckpt           Lightning checkpoint, the same keys in its "state_dict"
// The prefix is found from the keys (the one that carries mask_token, time_pos_embed and to_out
// beside each other), stripped, and the tensors checked against the model built from its config:
// a checkpoint of the other variant or of another shape throws one cj::Error naming the key(s) with
// the expected and found shapes.
#include <string>

#include "models/cjepa_predictor.hpp"
#include "models/cjepa_predictor_pusht.hpp"
#include "nn/module.hpp"

namespace cj::models {

// The dotted prefix under which a C-JEPA predictor's parameters sit in `state` ("" for a bare
// predictor state dict, "model.predictor." in the Push-T object checkpoint). Throws when there is
// none or more than one. `source` names the file in messages.
std::string find_predictor_prefix(const nn::StateDict& state, const std::string& source);

// CLEVRER variant: a bare predictor state dict (or one prefixed by any wrapper). Refuses a Push-T
// AP checkpoint (proprio/action encoders beside the predictor): load that with load_pusht_state.
void load_predictor_state(MaskedSlotPredictor& model, const nn::StateDict& state, const std::string& source);
// Push-T AP variant: predictor + action_encoder + proprio_encoder, siblings under one prefix.
void load_pusht_state(PushTWorldModel& model, const nn::StateDict& state, const std::string& source);

// The same from a file (.ckpt/.pt/.pth zip, whole pickled module, Lightning checkpoint or
// .safetensors), read with cj::io::load_tensors (unknown pickled calls as inert records).
void load_predictor_file(MaskedSlotPredictor& model, const std::string& path);
void load_pusht_file(PushTWorldModel& model, const std::string& path);

}  // namespace cj::models
