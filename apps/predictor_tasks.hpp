#pragma once
// What differs between the two predictor training variants, behind one interface for the trainer:
//   CLEVRER (spec §5.6): slot windows -> MaskedSlotPredictor; fixed or per-sample random masks.
//   Push-T  (spec §5.7): slot windows + normalised action/proprio -> PushTWorldModel (AP node
//            variant: slots + proprio token + action token per step, proprio loss); three
//            parameter groups (predictor, proprio encoder, action encoder); fixed masks only.
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <vector>

#include "apps/predictor_config.hpp"
#include "nn/nn.hpp"

namespace cj::app {

struct TaskLosses {
  Tensor loss;     // [] what training minimises
  Tensor future;   // [] future object slots
  Tensor history;  // [] masked object slots over the history (0 without masks)
  Tensor proprio;  // [] Push-T proprio token loss; undefined for CLEVRER
};

class PredictorTask {
 public:
  virtual ~PredictorTask() = default;
  virtual nn::Module& model() = 0;
  virtual std::vector<nn::ParamGroup> param_groups() = 0;
  virtual int64_t windows(bool train) const = 0;
  // The masked training forward on the given windows of a split; random masks draw from mask_gen.
  virtual TaskLosses masked_forward(bool train, const std::vector<int64_t>& windows, Generator& mask_gen) = 0;
  // The inference path (history fully visible) on val windows: MSE of the predicted future object slots.
  virtual double future_mse(const std::vector<int64_t>& val_windows) = 0;
  virtual const char* variant() const = 0;  // "clevrer" or "pusht"
};

// Reads the data (train split only when need_train), builds the model from `gen` (which also
// drives its dropout), and prints the data summaries to log. Throws cj::Error for bad input.
std::unique_ptr<PredictorTask> make_predictor_task(const TrainerConfig& config, Generator& gen, std::ostream& log,
                                                   bool need_train);

}  // namespace cj::app
