// cjepa generate slots: the synthetic slot world (data/synthetic_slots.hpp) written in the
// reference's pickle layout, for predictor tests and demos that need no encoder.
#include <iostream>

#include <nlohmann/json.hpp>

#include "apps/cli.hpp"
#include "apps/cmd_generate.hpp"
#include "apps/progress.hpp"
#include "data/synthetic_slots.hpp"

namespace cj::app {
namespace {

int run_generate_slots(const std::vector<std::string>& argv) {
  data::SlotWorldConfig d;
  Args args("generate slots",
            "Simulate discs colliding in a box, seen by an oblique camera (so some hide behind others), and write\n"
            "each disc's state embedded into a slot vector: slots.pkl ({split: {\"<i>_pixels.mp4\": float32[T, N, D]}},\n"
            "the reference's layout), states.pkl (x, y, vx, vy, visible per slot) and world.json (config, embedding).");
  args.option("out", "DIR", "output directory", "slots")
      .option("train", "N", "training videos", std::to_string(d.train_videos))
      .option("val", "N", "validation videos", std::to_string(d.val_videos))
      .option("frames", "T", "frames per video", std::to_string(d.frames))
      .option("objects", "N", "objects (slots) per frame", std::to_string(d.objects))
      .option("dim", "D", "slot dimension", std::to_string(d.slot_dim))
      .option("noise", "STD", "Gaussian noise added to every slot entry", "0.02")
      .option("seed", "S", "random seed", "0")
      .flag("quiet", "no progress bar");
  if (!args.parse(argv)) return kExitOk;
  data::SlotWorldConfig c;
  c.train_videos = args.get_int("train");
  c.val_videos = args.get_int("val");
  c.frames = args.get_int("frames");
  c.objects = args.get_int("objects");
  c.slot_dim = args.get_int("dim");
  c.noise = args.get_double("noise");
  long long seed = args.get_int("seed");
  if (seed < 0 || seed > 0xffffffffLL) throw UsageError("option '--seed' must be in 0..4294967295");
  c.seed = static_cast<uint32_t>(seed);
  c.validate();

  const std::string out = args.get("out");
  ProgressBar bar("slot videos", c.train_videos + c.val_videos, "video", !args.enabled("quiet"));
  data::write_slot_dataset(out, c, [&](int64_t, int64_t) { bar.advance(); });
  bar.finish();
  nlohmann::json summary = {{"out", out},
                            {"train_videos", c.train_videos},
                            {"val_videos", c.val_videos},
                            {"shape", {c.frames, c.objects, c.slot_dim}},
                            {"files", {"slots.pkl", "states.pkl", "world.json"}}};
  std::cout << summary.dump() << "\n";
  return kExitOk;
}

GenerateKindRegistration reg({"slots", "synthetic object slots (colliding discs, occlusion) in the reference layout",
                              run_generate_slots});

}  // namespace
}  // namespace cj::app
