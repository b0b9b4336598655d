#pragma once
// Block-autoregressive slot rollout of a trained predictor (reference spec §6, the reference's
// rollout_video_slots in src/train/train_causalwm_from_clevrer_slot.py): observed frames are kept,
// and the frames after them are predicted by `frameskip` interleaved phase chains. Chain o starts
// from the observed frames {obs - T_h*frameskip + o + k*frameskip : k < T_h}, calls inference for
// T_p frames at a time and feeds its own predictions back as history until it has
// ceil((target - obs) / frameskip) frames; frame obs + i is then chain (i mod frameskip)'s
// prediction number floor(i / frameskip). No masking, no re-ordering of slots.
#include <cstdint>

#include "models/cjepa_predictor.hpp"

namespace cj::models {

struct RolloutConfig {
  int64_t obs_frames = 128;  // the reference's OBS_FRAMES: every input video must have exactly this many
  int64_t target_len = 160;  // TARGET_LEN: frames in each output video
  int64_t frameskip = 2;     // the frame stride the predictor was trained with
  void validate(const CjepaPredictorConfig& model) const;  // throws cj::Error naming the bad value
};

// videos: (B, obs_frames, S, D) floating -> (B, target_len, S, D) f32; the first obs_frames are the
// input's, unchanged. Runs on the model's device (videos may be anywhere) and returns the result
// there. Runs without gradients; put the model in eval mode first (dropout).
Tensor rollout_slots(MaskedSlotPredictor& model, const Tensor& videos, const RolloutConfig& config = {});

}  // namespace cj::models
