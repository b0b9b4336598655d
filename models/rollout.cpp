#include "models/rollout.hpp"

#include <vector>

#include "autograd/ops.hpp"
#include "tensor/error.hpp"
#include "tensor/ops/views.hpp"

namespace cj::models {

void RolloutConfig::validate(const CjepaPredictorConfig& model) const {
  CJ_CHECK(frameskip >= 1, "rollout: frameskip must be >= 1, got ", frameskip);
  CJ_CHECK(target_len > obs_frames, "rollout: target length (", target_len, ") must exceed the observed frames (",
           obs_frames, ")");
  // The reference slices range(obs - T_h*frameskip + o, obs, frameskip); a negative start would
  // silently wrap around in Python, so a history longer than the video is an error here.
  CJ_CHECK(obs_frames >= model.history * frameskip, "rollout: ", obs_frames, " observed frames are fewer than the ",
           model.history, " history frames x frameskip ", frameskip, " the predictor needs");
}

// videos: (B, obs, S, D) -> (B, target, S, D)
Tensor rollout_slots(MaskedSlotPredictor& model, const Tensor& videos, const RolloutConfig& config) {
  const CjepaPredictorConfig& mc = model.config();
  config.validate(mc);
  CJ_CHECK(videos.defined() && videos.dim() == 4, "rollout: expected videos of shape (B, T, S, D), got ",
           videos.defined() ? videos.shape() : Shape{});
  CJ_CHECK(videos.shape()[1] == config.obs_frames, "rollout: videos have ", videos.shape()[1], " frames (shape ",
           videos.shape(), "), the rollout needs exactly ", config.obs_frames, " observed frames");
  CJ_CHECK(videos.shape()[3] == mc.dim, "rollout: slot dim is ", videos.shape()[3], " (shape ", videos.shape(),
           "), the predictor's is ", mc.dim);
  CJ_CHECK(is_floating(videos.dtype()), "rollout: slots must be floating point, got ", dtype_name(videos.dtype()));
  NoGradGuard no_grad;
  const Tensor observed = ops::to(cj::to(videos, DType::f32), model.device());  // computed where the model is
  const int64_t fs = config.frameskip, t_h = mc.history, t_p = mc.preds;
  const int64_t new_frames = config.target_len - config.obs_frames;
  const int64_t per_chain = (new_frames + fs - 1) / fs;

  std::vector<Tensor> chains;  // per offset: (B, >= per_chain, S, D)
  for (int64_t offset = 0; offset < fs; ++offset) {
    // frames obs - T_h*fs + offset + k*fs for k < T_h: a strided slice, copied as the first history
    const int64_t first = config.obs_frames - t_h * fs + offset;
    Tensor history = cj::contiguous(cj::slice(observed, 1, first, first + (t_h - 1) * fs + 1, fs));  // (B, T_h, S, D)
    std::vector<Tensor> blocks;
    int64_t predicted = 0;
    while (predicted < per_chain) {
      Tensor pred = model.inference(history, t_p);  // (B, T_p, S, D)
      blocks.push_back(pred);
      predicted += t_p;
      // The next history: the newest T_h frames of (history, pred).
      history = t_h > t_p ? cj::cat({cj::slice(history, 1, t_p, t_h), pred}, 1) : cj::slice(pred, 1, t_p - t_h, t_p);
    }
    chains.push_back(cj::cat(blocks, 1));
  }
  std::vector<Tensor> out{observed};
  for (int64_t i = 0; i < new_frames; ++i)
    out.push_back(cj::slice(chains[static_cast<std::size_t>(i % fs)], 1, i / fs, i / fs + 1));  // (B, 1, S, D)
  return cj::contiguous(cj::cat(out, 1));
}

}  // namespace cj::models
