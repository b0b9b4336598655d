#pragma once
// The configuration of `cjepa train-predictor`: the keys of the reference's
// configs/config_train_causal_{clevrer,pusht}_slot.yaml with their names and nesting (dotted here:
// "dinowm.history_size", "predictor.depth", "videosaur.NUM_SLOTS", ...), plus our own under
// "cjepa." (out_dir, mask, lr_schedule, checkpointing). Sources apply in order: a preset, YAML files,
// then key=value overrides; a key that is neither known nor one of the reference's keys that
// predictor training does not use (wandb.*, hydra.*, model.*, ...) is an error naming it.
#include <cstdint>
#include <string>
#include <vector>

namespace cj::app {

struct TrainerConfig {
  // ---- the reference's keys
  std::string dataset_name = "clevrer";  // "clevrer", or "pusht..." for the Push-T (AP) variant
  std::string embedding_dir;             // the slot file: reference pickle or our safetensors layout
  std::string action_dir, proprio_dir, state_dir;  // Push-T side files (state: accepted, unused by training)
  std::string output_model_name = "causal_world_model";
  int64_t max_epochs = 30;          // trainer.max_epochs
  std::string precision = "32";     // trainer.precision: 32 / 32-true / fp32, bf16 / bf16-mixed / 16-mixed
  int64_t log_every_n_steps = 1;    // trainer.log_every_n_steps: a metrics line every n steps
  int64_t batch_size = 256;
  int64_t seed = 42;
  int64_t frameskip = 2;
  int64_t history_size = 6;         // dinowm.history_size
  int64_t num_preds = 10;           // dinowm.num_preds
  int64_t proprio_dim = 4, proprio_embed_dim = 128, action_dim = 2, action_embed_dim = 128;  // dinowm.*
  int64_t num_masked_slots = 4;     // M; 0 = the no-mask baseline
  int64_t depth = 6, heads = 16, mlp_dim = 2048, dim_head = 64;  // predictor.* (dim_head is ignored, as
  double dropout = 0.1, emb_dropout = 0.0;                        // in the reference: width = dim / heads)
  int64_t num_slots = 7, slot_dim = 128;  // videosaur.NUM_SLOTS, videosaur.SLOT_DIM
  double predictor_lr = 5e-4, proprio_encoder_lr = 5e-4, action_encoder_lr = 5e-4;
  bool use_hungarian_matching = false;  // must stay false (the released setting)

  // ---- ours (cjepa.*)
  std::string out_dir = "runs/predictor";  // checkpoints, metrics.jsonl, the final weights
  std::string mask = "fixed";              // fixed: RandomState(42) indices every batch; random: per sample
  std::string lr_schedule = "constant";    // constant | cosine (CosineAnnealingLR over all steps, stepped per step)
  double weight_decay = 0.01;              // AdamW's (PyTorch's default, as the reference)
  int64_t checkpoint_every_n_steps = 1000; // plus one at every epoch end; 0: epoch ends only
  int64_t max_steps = 0;                   // stop (with a checkpoint) after this global step; 0: all epochs
  int64_t val_batch_size = 0;              // 0: batch_size
  bool progress = true;                    // progress bar on stderr
  std::string device = "cpu";              // cpu | cuda | cuda:N: where the model trains (data stays on the CPU)

  bool pusht() const { return dataset_name.rfind("pusht", 0) == 0; }
  bool bf16() const;        // from precision (throws cj::Error for an unknown value)
  void validate() const;    // throws cj::Error naming the key and value
  std::string to_json() const;  // every key above by its dotted name
};

// "clevrer": reference spec §5.6 (scripts/clevrer/train_cjepa_from_slot.sh on the clevrer yaml:
// batch 256, 30 epochs, M 4, T_h 6, T_p 10, fs 2, 7 slots, AdamW 5e-4 wd 0.01 constant, fp32).
// "pusht": §5.7 (scripts/pusht/train_cjepa_from_slot.sh: batch 256, 30 epochs, M 1, T_h 3, T_p 1,
// fs 5, 4 slots, lrs 5e-4 / 1e-4 / 5e-4 with cosine annealing per step, seed 42).
TrainerConfig preset_config(const std::string& name);
std::vector<std::string> preset_names();

// Applies a YAML document (source names it in errors).
void apply_yaml(TrainerConfig& config, const std::string& yaml_text, const std::string& source);
void apply_yaml_file(TrainerConfig& config, const std::string& path);
// Applies "dotted.key=value".
void apply_override(TrainerConfig& config, const std::string& assignment);
// Every key the config accepts (for --help).
std::vector<std::string> config_keys();

}  // namespace cj::app
