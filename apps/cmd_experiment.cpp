// cjepa experiment masking: the masked-slot experiment of apps/masking_experiment.hpp, run for
// M = 0 and the given M values on one or more seeds; prints a table, writes JSONL, and ends with one
// JSON line holding every run and the per-M means.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "apps/cli.hpp"
#include "apps/masking_experiment.hpp"
#include "apps/progress.hpp"
#include "tensor/error.hpp"

namespace cj::app {
namespace {

std::vector<long long> int_list(const std::string& option, const std::string& text) {
  std::vector<long long> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      std::size_t used = 0;
      out.push_back(std::stoll(item, &used));
      if (used != item.size()) throw std::invalid_argument(item);
    } catch (const std::exception&) {
      throw UsageError("option '--" + option + "' expects comma-separated integers, got '" + text + "'");
    }
  }
  if (out.empty()) throw UsageError("option '--" + option + "' is empty");
  return out;
}

nlohmann::ordered_json run_json(uint64_t seed, const MaskingRun& r) {
  auto err = [](const PositionError& e) { return nlohmann::ordered_json{{"mean", e.mean}, {"count", e.count}}; };
  return {{"seed", seed},
          {"masked_slots", r.masked_slots},
          {"masked_indices", r.masked_indices},
          {"final_train_loss", r.final_train_loss},
          {"val_future_mse", r.val_future_mse},
          {"natural_hidden_error", err(r.natural)},
          {"forced_hidden_error", err(r.forced)},
          {"visible_error", err(r.visible)},
          {"still_baseline", {{"natural", r.natural_still.mean}, {"forced", r.forced_still.mean},
                              {"visible", r.visible_still.mean}}},
          {"train_seconds", r.train_seconds}};
}

int run_masking(const std::vector<std::string>& argv) {
  Args args("experiment masking",
            "Train the C-JEPA predictor on the synthetic slot world with M masked slots and without (M = 0), same data,\n"
            "initial weights and batches, and measure the error (box units; box 1 x 1, disc radius 0.07) of the\n"
            "position decoded from the predicted slots of discs it could not see:\n"
            "  natural  discs hidden behind another at the last history frame,\n"
            "  forced   discs replaced by their appearance-only slot from history frame 1 on (seen once, at frame 0),\n"
            "  visible  the same discs, not replaced (control).\n"
            "Errors are over the future frames where the disc is visible again. The '(stays put)' row is the error of\n"
            "assuming each disc did not move since it was last seen: the bar a model has to clear.");
  args.option("masked-slots", "M,...", "masked-slot counts to compare with M = 0", "2")
      .option("seeds", "S,...", "seeds (data, initial weights, batch order)", "0,1,2")
      .option("steps", "N", "training steps per run (default: 1500, --quick: 600)")
      .option("lr", "LR", "AdamW learning rate (default: 1e-3)")
      .option("threads", "N", "CPU threads (these products are tiny: one thread is fastest on a busy machine)", "1")
      .option("out", "FILE", "JSONL file: one line per run", "masking_experiment.jsonl")
      .flag("quick", "the reduced setting of the test (smaller data, one block)")
      .flag("quiet", "no progress bar");
  if (!args.parse(argv)) return kExitOk;
  MaskingExperimentConfig config = args.enabled("quick") ? quick_masking_experiment() : full_masking_experiment();
  if (args.has("steps")) config.steps = args.get_int("steps");
  if (config.steps < 1) throw UsageError("option '--steps' must be >= 1");
  if (args.has("lr")) config.lr = args.get_double("lr");
  if (!(config.lr > 0)) throw UsageError("option '--lr' must be > 0");
  const long long threads = args.get_int("threads");
  if (threads < 1) throw UsageError("option '--threads' must be >= 1");
#ifdef _OPENMP
  omp_set_num_threads(int(threads));
#endif
  std::vector<long long> ms{0};
  for (long long m : int_list("masked-slots", args.get("masked-slots"))) {
    if (m < 1 || m > config.world.objects)
      throw UsageError("option '--masked-slots': each M must be in 1.." + std::to_string(config.world.objects));
    ms.push_back(m);
  }
  const std::vector<long long> seeds = int_list("seeds", args.get("seeds"));
  std::ofstream jsonl(args.get("out"));
  CJ_CHECK(jsonl.good(), args.get("out"), ": cannot write");

  std::printf("%-5s %-3s %-12s %-11s %-15s %-17s %-17s %-17s %s\n", "seed", "M", "masked", "train_loss",
              "val_future_mse", "natural(n)", "forced(n)", "visible(n)", "train_s");
  std::fflush(stdout);
  nlohmann::ordered_json all = nlohmann::ordered_json::array();
  std::map<long long, std::vector<MaskingRun>> by_m;
  double hidden_fraction = 0;
  for (long long seed : seeds) {
    if (seed < 0 || seed > 0xffffffffLL) throw UsageError("option '--seeds': each seed must be in 0..4294967295");
    MaskingExperimentConfig c = config;
    c.seed = uint64_t(seed);
    c.world.seed = uint32_t(seed);
    MaskingExperiment experiment(c);
    hidden_fraction = experiment.hidden_fraction();
    bool baseline_printed = false;
    for (long long m : ms) {
      ProgressBar bar("seed " + std::to_string(seed) + " M=" + std::to_string(m), c.steps, "step",
                      !args.enabled("quiet"));
      MaskingRun r = experiment.run(m, [&](int64_t, double) { bar.advance(); });
      bar.finish();
      std::string indices;
      for (int64_t i : r.masked_indices) indices += (indices.empty() ? "" : ",") + std::to_string(i);
      auto cell = [](const PositionError& e) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.4f (%lld)", e.mean, static_cast<long long>(e.count));
        return std::string(buf);
      };
      std::printf("%-5lld %-3lld %-12s %-11.5f %-15.5f %-17s %-17s %-17s %.1f\n", seed, m,
                  ("{" + indices + "}").c_str(), r.final_train_loss, r.val_future_mse, cell(r.natural).c_str(),
                  cell(r.forced).c_str(), cell(r.visible).c_str(), r.train_seconds);
      if (!baseline_printed) {
        baseline_printed = true;
        std::printf("%-5lld %-3s %-12s %-11s %-15s %-17.4f %-17.4f %-17.4f\n", seed, "-", "(stays put)", "", "",
                    r.natural_still.mean, r.forced_still.mean, r.visible_still.mean);
      }
      std::fflush(stdout);
      const auto line = run_json(uint64_t(seed), r);
      jsonl << line.dump() << "\n";
      all.push_back(line);
      by_m[m].push_back(r);
    }
  }
  nlohmann::ordered_json summary = nlohmann::ordered_json::array();
  for (const auto& [m, runs] : by_m) {
    double natural = 0, forced = 0, visible = 0, mse = 0;
    for (const auto& r : runs) {
      natural += r.natural.mean / double(runs.size());
      forced += r.forced.mean / double(runs.size());
      visible += r.visible.mean / double(runs.size());
      mse += r.val_future_mse / double(runs.size());
    }
    summary.push_back({{"masked_slots", m}, {"runs", runs.size()}, {"natural_hidden_error", natural},
                       {"forced_hidden_error", forced}, {"visible_error", visible}, {"val_future_mse", mse}});
    std::printf("mean M=%lld over %zu seeds: natural %.4f  forced %.4f  visible %.4f  val_future_mse %.5f\n", m,
                runs.size(), natural, forced, visible, mse);
  }
  nlohmann::ordered_json result = {{"experiment", "masking"},
                                   {"steps", config.steps},
                                   {"hidden_fraction", hidden_fraction},
                                   {"jsonl", args.get("out")},
                                   {"summary", summary},
                                   {"runs", all}};
  std::cout << result.dump() << "\n";
  return kExitOk;
}

int run_experiment(const std::vector<std::string>& argv) {
  if (!argv.empty() && argv[0] == "masking") return run_masking({argv.begin() + 1, argv.end()});
  Args args("experiment", "Run a small experiment.");
  args.positional("name", "the experiment").epilog("experiments:\n  masking  masked-slot training vs none on the synthetic slot world");
  if (argv.empty()) throw UsageError("missing argument <name>");
  if (!args.parse(argv)) return kExitOk;
  throw UsageError("unknown experiment '" + argv[0] + "' (expected: masking)");
}

Registration reg({"experiment", "small experiments (experiment masking: masked-slot training vs none)", run_experiment});

}  // namespace
}  // namespace cj::app
