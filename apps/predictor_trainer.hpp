#pragma once
// Predictor training as a library call (used by `cjepa train-predictor` and by tests): reads the
// slot file (and Push-T's side files), builds the C-JEPA masked slot predictor (or the Push-T AP
// world model, apps/predictor_tasks.hpp), trains it with AdamW, validates at every epoch end, writes
// metrics and checkpoints under config.out_dir:
//   metrics.jsonl          one line per logging step {"kind": "train", "step", "epoch", "loss",
//                          "loss_future", "loss_masked_history", "lr", "windows_per_s"} and per
//                          validation {"kind": "val", "step", "epoch", "future_mse", "masked_slot_mse"
//                          and, for Push-T, "proprio_mse"}
//   last.safetensors       the checkpoint (nn/checkpoint.hpp: model, optimizer, step, RNG; metadata
//                          "config" holds the trainer config and the data-order position), replaced
//                          atomically every cjepa.checkpoint_every_n_steps steps, at every epoch end
//                          and when the run stops at cjepa.max_steps
//   <output_model_name>_predictor.safetensors
//                          the final weights by the reference's parameter names (after the last epoch)
//
// Bit-identical resume: the data order of epoch e is numpy's RandomState(seed + e).permutation of
// the training windows, drop_last batches, so the global step fixes the position; dropout and the
// random masks draw from one Generator saved in the checkpoint; the LR schedule is a function of the
// step. A resumed run (resume = true) continues from last.safetensors exactly as if it had never
// stopped, and drops the metrics lines written after that checkpoint (a killed run's tail).
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "apps/predictor_config.hpp"

namespace cj::app {

struct ValidationMetrics {
  int64_t step = 0, epoch = 0;
  double future_mse = 0;       // inference path (history fully visible), mean over every predicted element
  double masked_slot_mse = 0;  // masked forward: the masked slots over the history (0 when M = 0)
  double proprio_mse = 0;      // Push-T: the masked forward's proprio token loss (0 for CLEVRER)
};

struct TrainResult {
  int64_t start_step = 0, end_step = 0, steps_per_epoch = 0, total_steps = 0;
  double last_loss = 0;
  std::vector<ValidationMetrics> validations;
  std::string checkpoint;  // the last checkpoint written
};

struct TrainOptions {
  bool resume = false;
  // Called after every optimizer step with the global step (1-based), after any checkpoint of that
  // step; tests throw from it to stand for a run killed at that point.
  std::function<void(int64_t)> after_step;
};

// Runs (or resumes) training. Progress and a summary go to `log`. Throws cj::Error for bad input
// (config, slot file, a checkpoint from another configuration when resuming).
TrainResult train_predictor(const TrainerConfig& config, std::ostream& log, const TrainOptions& options = {});

// Validation of a model state on the config's val split without training (used by tests and by
// train_predictor itself): loads weights from `checkpoint` when non-empty.
ValidationMetrics validate_checkpoint(const TrainerConfig& config, const std::string& checkpoint);

}  // namespace cj::app
