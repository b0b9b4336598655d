#pragma once
// A small, real version of the paper's claim on the synthetic slot world (data/synthetic_slots):
// train the C-JEPA predictor with M masked slots and without (M = 0) on the same videos, the same
// initial weights and the same batches, then measure how well each predicts the position of a disc
// it could not see. Positions are read off the predicted slots by least squares through the
// generator's fixed embedding (SlotWorld::decode_positions) and compared with the simulator's truth.
//
// Three measurements on held-out videos, each the mean distance (box units) between decoded and
// true disc centres over the future frames in which the disc is visible (so the target slot carries
// its position):
//   natural  discs hidden behind another disc at the last history frame (the data's own occlusion);
//   forced   every disc visible throughout the history, replaced from history frame 1 on by its
//            "occluded" slot (appearance only): the model saw it once, at frame 0, and must track it;
//   visible  the same discs without the replacement: the control, both models see everything.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "data/synthetic_slots.hpp"
#include "models/cjepa_predictor.hpp"

namespace cj::app {

struct MaskingExperimentConfig {
  data::SlotWorldConfig world;
  models::CjepaPredictorConfig model;
  int64_t frameskip = 2;
  int64_t steps = 1500;
  int64_t batch = 32;
  double lr = 1e-3;
  int64_t eval_stride = 2;  // frames between held-out window starts
  uint64_t seed = 0;        // initial weights and batch order (the same for every M)
};

// The full experiment's settings (minutes on 2 cores) and a reduced one (seconds) for the test.
MaskingExperimentConfig full_masking_experiment();
MaskingExperimentConfig quick_masking_experiment();

struct PositionError {
  double mean = 0;    // box units (the box is 1 x 1, a disc's radius 0.07)
  int64_t count = 0;  // (window, disc, future frame) samples
};

struct MaskingRun {
  int64_t masked_slots = 0;
  std::vector<int64_t> masked_indices;  // the reference's fixed RandomState(42) choice
  double final_train_loss = 0;          // mean of the last 10% of steps
  double val_future_mse = 0;            // inference path, all slots, held-out windows
  PositionError natural, forced, visible;
  // The same samples predicted by "the disc stayed where it was last seen" (natural: its last visible
  // history frame, else frame 0; forced: frame 0; visible: the last history frame): the bar to clear.
  PositionError natural_still, forced_still, visible_still;
  double train_seconds = 0;
};

class MaskingExperiment {
 public:
  explicit MaskingExperiment(const MaskingExperimentConfig& config);  // simulates the videos
  // Trains one predictor with `masked_slots` fixed masked slots and measures it. on_step(step, loss)
  // is called after every optimizer step.
  MaskingRun run(int64_t masked_slots, const std::function<void(int64_t, double)>& on_step = {}) const;
  const MaskingExperimentConfig& config() const { return config_; }
  double hidden_fraction() const { return hidden_fraction_; }  // of held-out (frame, disc) pairs

 private:
  struct Split {
    Tensor slots, occluded;      // (V, T, N, D)
    std::vector<float> xy;       // (V, T, N, 2) true centres
    std::vector<float> visible;  // (V, T, N)
  };
  void evaluate(models::MaskedSlotPredictor& model, MaskingRun& out) const;

  MaskingExperimentConfig config_;
  std::unique_ptr<data::SlotWorld> world_;
  Split train_, val_;
  double hidden_fraction_ = 0;
};

}  // namespace cj::app
