#pragma once
// Training checkpoints of our own: one safetensors file holding
//   model.<name>    every parameter and persistent buffer, by the model's dotted names
//   optim.<key>     the optimizer's state dict (moments, step counters, group lrs)
//   scaler.<key>    the fp16 GradScaler's state (scale, growth tracker, factors), when one is given
// and in its metadata "checkpoint" = {"format": "cjepa-checkpoint", "version": 1, "step": S,
// "rng_seed": ..., "rng_offset": ...} plus "config" = the run's configuration, a JSON string kept
// verbatim. The file is written to a temporary name, synced and renamed (io::write_safetensors), so
// a crash leaves either the old checkpoint or the new one, never half of one.
//
// Resuming: build the model and optimizer from the config as for a fresh run (and the LR scheduler
// on the fresh optimizer, so that it sees the base lrs), then load_checkpoint(), then
// scheduler.set_step(step). Training continues bit-identically to a run that never stopped.
#include <cstdint>
#include <string>

#include "nn/grad_scaler.hpp"
#include "nn/module.hpp"
#include "nn/optim/optimizer.hpp"
#include "tensor/random.hpp"

namespace cj::nn {

struct CheckpointInfo {
  int64_t step = 0;
  uint64_t rng_seed = 0, rng_offset = 0;
  std::string config;  // as saved
};

// optimizer may be null (weights only), and so may scaler. config must be valid JSON (checked).
void save_checkpoint(const std::string& path, const Module& model, const Optimizer* optimizer, int64_t step,
                     const Generator& rng, const std::string& config = "{}", const GradScaler* scaler = nullptr);

// Reads only the metadata, e.g. to build the model from the saved config before loading.
CheckpointInfo read_checkpoint_info(const std::string& path);

// Loads the weights strictly (every problem listed at once), the optimizer state when optimizer is
// non-null (the file must then hold one), the generator state when rng is non-null and the
// GradScaler state when scaler is non-null (the file must then hold one).
CheckpointInfo load_checkpoint(const std::string& path, Module& model, Optimizer* optimizer = nullptr,
                               Generator* rng = nullptr, GradScaler* scaler = nullptr);

}  // namespace cj::nn
