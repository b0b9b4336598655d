// cjepa train-predictor: trains the C-JEPA masked slot predictor on a slot file
// (apps/predictor_trainer.hpp does the work; this file turns the command line into its config).
#include <iostream>
#include <regex>

#include <nlohmann/json.hpp>

#include "apps/cli.hpp"
#include "apps/predictor_trainer.hpp"

namespace cj::app {
namespace {

// "dotted.key=value" arguments are config overrides; everything else goes to the option parser.
bool is_override(const std::string& arg) {
  static const std::regex pattern("^[A-Za-z_][A-Za-z0-9_.]*=.*$");
  return std::regex_match(arg, pattern);
}

std::string key_list() {
  std::string out = "Config keys (YAML nesting = dots):\n";
  std::string line = " ";
  for (const auto& key : config_keys()) {
    if (line.size() + key.size() > 100) {
      out += line + "\n";
      line = " ";
    }
    line += " " + key;
  }
  return out + line + "\n";
}

int run_train_predictor(const std::vector<std::string>& argv) {
  Args args("train-predictor",
            "Train the C-JEPA masked slot predictor on pre-extracted slots ({split: {video: float32[T, N, D]}} pickle,\n"
            "or our safetensors layout \"<split>/<video>\"). Configuration, in order: --preset, --config YAML files\n"
            "(the keys of the reference's configs/config_train_causal_*_slot.yaml), key=value overrides (dotted\n"
            "keys, e.g. dinowm.history_size=6 trainer.max_epochs=2), then the options below. Writes metrics.jsonl,\n"
            "last.safetensors (the checkpoint) and <output_model_name>_predictor.safetensors to cjepa.out_dir.");
  args.option("preset", "NAME", "clevrer (spec §5.6) or pusht (spec §5.7)")
      .repeated("config", "FILE", "YAML config file; later files win")
      .option("slots", "FILE", "the slot file (embedding_dir)")
      .option("out", "DIR", "output directory (cjepa.out_dir)")
      .option("mask", "MODE", "fixed: the reference's RandomState(42) slots every batch; random: M slots per sample")
      .option("masked-slots", "M", "slots masked per sample (num_masked_slots); 0 = no-mask baseline")
      .option("precision", "P", "fp32 or bf16 (trainer.precision)")
      .option("batch", "N", "batch size")
      .option("epochs", "N", "epochs (trainer.max_epochs)")
      .option("seed", "S", "seed: parameter init, data order, dropout, random masks")
      .option("max-steps", "N", "stop after this global step, with a checkpoint (cjepa.max_steps)")
      .option("device", "D", "cpu (default), cuda or cuda:N: where the model trains (cjepa.device)")
      .option("checkpoint-every", "N", "checkpoint every N steps besides epoch ends (cjepa.checkpoint_every_n_steps)")
      .flag("resume", "continue bit-identically from <out>/last.safetensors")
      .flag("print-config", "print the resolved config as JSON and exit")
      .flag("quiet", "no progress bar")
      .epilog(key_list());
  std::vector<std::string> options, overrides;
  for (const auto& a : argv) (is_override(a) ? overrides : options).push_back(a);
  if (!args.parse(options)) return kExitOk;

  TrainerConfig config;
  if (args.has("preset")) config = preset_config(args.get("preset"));
  for (const auto& file : args.get_all("config")) apply_yaml_file(config, file);
  for (const auto& o : overrides) apply_override(config, o);
  auto set = [&](const char* option, const char* key) {
    if (args.has(option)) apply_override(config, std::string(key) + "=" + args.get(option));
  };
  set("slots", "embedding_dir");
  set("out", "cjepa.out_dir");
  set("mask", "cjepa.mask");
  set("masked-slots", "num_masked_slots");
  set("batch", "batch_size");
  set("epochs", "trainer.max_epochs");
  set("seed", "seed");
  set("max-steps", "cjepa.max_steps");
  set("checkpoint-every", "cjepa.checkpoint_every_n_steps");
  set("device", "cjepa.device");
  if (args.has("precision")) {
    const std::string p = args.get("precision");
    if (p != "fp32" && p != "bf16") throw UsageError("option '--precision' must be fp32 or bf16, got '" + p + "'");
    config.precision = p;
  }
  if (args.enabled("quiet")) config.progress = false;
  config.validate();
  if (args.enabled("print-config")) {
    std::cout << nlohmann::json::parse(config.to_json()).dump(2) << "\n";
    return kExitOk;
  }

  TrainOptions run_options;
  run_options.resume = args.enabled("resume");
  const TrainResult r = train_predictor(config, std::cout, run_options);
  nlohmann::json summary = {{"out_dir", config.out_dir},
                            {"steps", r.end_step},
                            {"total_steps", r.total_steps},
                            {"last_train_loss", r.last_loss},
                            {"checkpoint", r.checkpoint}};
  if (!r.validations.empty())
    summary["val"] = {{"future_mse", r.validations.back().future_mse},
                      {"masked_slot_mse", r.validations.back().masked_slot_mse}};
  std::cout << summary.dump() << "\n";
  return kExitOk;
}

Registration reg({"train-predictor", "train the C-JEPA masked slot predictor on a slot file", run_train_predictor});

}  // namespace
}  // namespace cj::app
