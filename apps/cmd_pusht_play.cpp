// cjepa pusht play: renders one Push-T episode to an mp4 or GIF for a person to look at.
#include <cstdio>
#include <iostream>

#include "apps/cli.hpp"
#include "apps/pusht_episode.hpp"
#include "data/video_writer.hpp"

namespace cj::app {
namespace {

int run_pusht(const std::vector<std::string>& argv) {
  Args args("pusht", "Push-T tools. Actions: play (render one episode to a video).");
  args.positional("action", "play")
      .option("seed", "S", "episode seed (reset and policy)", "0")
      .option("out", "FILE", "output .mp4 or .gif (default: pusht_<seed>.mp4)")
      .option("policy", "NAME", "scripted (contact-rich pushing) or random", "scripted")
      .option("variant", "NAME", "swm or gym", "swm")
      .option("steps", "T", "actions in the episode", "100")
      .option("size", "PX", "frame size", "224")
      .option("fps", "F", "video frame rate (the env runs at 10 Hz)", "10");
  if (!args.parse(argv)) return kExitOk;
  if (args.get("action") != "play") throw UsageError("unknown action '" + args.get("action") + "' (expected play)");
  PushTEpisodeOptions o;
  o.seed = static_cast<uint64_t>(args.get_int("seed"));
  o.policy = args.get("policy");
  o.variant = envs::pusht_variant_from_name(args.get("variant"));
  o.length = static_cast<int>(args.get_int("steps"));
  o.size = static_cast<int>(args.get_int("size"));
  check_pusht_episode_options(o);
  const std::string out = args.has("out") ? args.get("out") : "pusht_" + std::to_string(o.seed) + ".mp4";
  data::VideoWriter video(out, o.size, o.size, {static_cast<int>(args.get_int("fps")), 18});
  auto rec = run_pusht_episode(o, [&](const uint8_t* frame) { video.write(frame); });
  video.finish();
  std::printf("wrote %s: %d frames (%s), agent touches the T on %d of %zu steps, final coverage %.3f%s\n",
              out.c_str(), video.frames_written(), video.codec_name().c_str(), rec.touching_steps, rec.actions.size(),
              rec.final_coverage, rec.success ? ", success" : "");
  return kExitOk;
}

Registration reg({"pusht", "Push-T tools: play (render an episode to mp4/GIF)", run_pusht});

}  // namespace
}  // namespace cj::app
