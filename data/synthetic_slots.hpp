#pragma once
// A synthetic slot world for tests and demos that needs no encoder: N discs move and collide
// elastically in a unit box, seen by an oblique camera so that some pass behind others, and each
// disc's state is embedded into a D-dim "slot" by a fixed random linear map plus noise. A hidden
// disc's slot carries no position or velocity (as an encoder cannot see it), so predicting where
// it is needs the history and the other objects: a small, honest stand-in for CLEVRER slots.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tensor/tensor.hpp"

namespace cj::data {

struct SlotWorldConfig {
  int64_t train_videos = 64;
  int64_t val_videos = 16;
  int64_t frames = 64;      // T per video
  int64_t objects = 7;      // N slots per frame (CLEVRER uses 7)
  int64_t slot_dim = 128;   // D
  double radius = 0.07;     // disc radius in box units
  double speed = 0.025;     // initial speed in box units per frame (direction uniform)
  double noise = 0.02;      // std of Gaussian noise added to every slot entry
  double hidden_overlap = 0.4;  // a disc is hidden when nearer discs cover more than this fraction of it
  int64_t substeps = 8;     // physics steps per frame
  uint32_t seed = 0;
  void validate() const;    // throws cj::Error naming the bad field
};

// Per-object features the slots embed: x, y, vx, vy (scaled to O(1)), visible, appearance[4].
constexpr int64_t kSlotFeatures = 9;

struct SlotVideo {
  Tensor slots;    // (T, N, D) f32
  Tensor states;   // (T, N, 4) f32: x, y, vx, vy in box units (per frame)
  Tensor visible;  // (T, N) f32: 1 visible, 0 hidden behind a nearer disc
  // (T, N, D) f32: the slot each disc would have were it hidden at that frame (appearance only, the
  // same noise as `slots`): what experiments put in place of a slot to hide a disc on purpose.
  Tensor occluded;
};

class SlotWorld {
 public:
  explicit SlotWorld(const SlotWorldConfig& config);

  // Simulates one video; the same (split, index) always gives the same video.
  SlotVideo simulate(const std::string& split, int64_t index) const;

  // The fixed map: slot = W · features + noise. W: (D, kSlotFeatures) f32.
  const Tensor& embedding() const { return embedding_; }
  // Recovers (x, y) from slots by least squares through W (exact up to noise for visible discs).
  // slots: (..., D) -> (..., 2)
  Tensor decode_positions(const Tensor& slots) const;
  const SlotWorldConfig& config() const { return config_; }

 private:
  SlotWorldConfig config_;
  Tensor embedding_;                   // (D, F)
  std::vector<double> position_decoder_;  // (2, D) rows of pinv(W) for x and y
};

// Writes <dir>/slots.pkl ({split: {"<i>_pixels.mp4": float32[T, N, D]}}, the reference layout),
// <dir>/states.pkl (same keys, float32[T, N, 5]: x, y, vx, vy, visible) and <dir>/world.json
// (the config and W). Calls progress(done, total) after each video.
void write_slot_dataset(const std::string& dir, const SlotWorldConfig& config,
                        const std::function<void(int64_t, int64_t)>& progress = {});

}  // namespace cj::data
