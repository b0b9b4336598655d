// cjepa generate pusht: Push-T episodes (mp4 + state/action/proprio arrays + index.json), or
// random-motion videos like the reference's encoder-training set (--mode moving).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "apps/cli.hpp"
#include "apps/cmd_generate.hpp"
#include "apps/progress.hpp"
#include "apps/pusht_episode.hpp"
#include "data/video_writer.hpp"
#include "envs/pusht_moving_shapes.hpp"
#include "tensor/error.hpp"

namespace cj::app {
namespace {

namespace fs = std::filesystem;

// A float64 array in NumPy's .npy format (version 1.0), rows x cols.
void write_npy(const fs::path& path, const std::vector<double>& values, size_t rows, size_t cols) {
  std::string header = "{'descr': '<f8', 'fortran_order': False, 'shape': (" + std::to_string(rows) + ", " +
                       std::to_string(cols) + "), }";
  header += std::string(63 - (10 + header.size()) % 64, ' ') + "\n";  // pad so the data is 64-aligned
  std::ofstream f(path, std::ios::binary);
  CJ_CHECK(f, "cannot write '", path.string(), "'");
  const uint16_t len = static_cast<uint16_t>(header.size());
  f.write("\x93NUMPY\x01\x00", 8);
  f.put(static_cast<char>(len & 0xff)).put(static_cast<char>(len >> 8));
  f << header;
  f.write(reinterpret_cast<const char*>(values.data()), static_cast<std::streamsize>(values.size() * sizeof(double)));
  CJ_CHECK(f.good(), "failed writing '", path.string(), "'");
}

std::string episode_name(long long i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "ep_%06lld", i);
  return buf;
}

nlohmann::json generate_episodes(const fs::path& out, long long count, PushTEpisodeOptions o,
                                 bool quiet) {
  fs::create_directories(out / "videos");
  fs::create_directories(out / "episodes");
  nlohmann::json episodes = nlohmann::json::array();
  long long touching = 0, steps = 0, successes = 0;
  ProgressBar bar("pusht episodes", count, "ep", !quiet);
  const uint64_t base_seed = o.seed;
  for (long long i = 0; i < count; ++i) {
    o.seed = base_seed + static_cast<uint64_t>(i);
    const std::string name = episode_name(i);
    data::VideoWriter video((out / "videos" / (name + ".mp4")).string(), o.size, o.size, {10, 18});
    auto rec = run_pusht_episode(o, [&](const uint8_t* frame) { video.write(frame); });
    video.finish();
    std::vector<double> states, actions, proprio;
    for (const auto& s : rec.states) {
      states.insert(states.end(), s.begin(), s.end());
      proprio.insert(proprio.end(), {s[0], s[1], s[5], s[6]});
    }
    for (const auto& a : rec.actions) actions.insert(actions.end(), a.begin(), a.end());
    write_npy(out / "episodes" / (name + "_state.npy"), states, rec.states.size(), 7);
    write_npy(out / "episodes" / (name + "_proprio.npy"), proprio, rec.states.size(), 4);
    write_npy(out / "episodes" / (name + "_action.npy"), actions, rec.actions.size(), 2);
    episodes.push_back({{"episode", i}, {"name", name}, {"seed", o.seed}, {"video", "videos/" + name + ".mp4"},
                        {"frames", rec.states.size()}, {"actions", rec.actions.size()},
                        {"touching_fraction", double(rec.touching_steps) / rec.actions.size()},
                        {"success", rec.success}, {"final_coverage", rec.final_coverage}});
    touching += rec.touching_steps;
    steps += static_cast<long long>(rec.actions.size());
    successes += rec.success;
    bar.advance();
  }
  bar.finish();
  nlohmann::json summary = {{"mode", "episodes"},
                            {"variant", envs::pusht_variant_name(o.variant)},
                            {"policy", o.policy},
                            {"episodes", count},
                            {"length", o.length},
                            {"seed", base_seed},
                            {"size", o.size},
                            {"fps", 10},
                            {"touching_fraction", steps ? double(touching) / steps : 0.0},
                            {"successes", successes},
                            {"seconds", bar.elapsed_s()}};
  nlohmann::json index = {{"summary", summary},
                          {"arrays", {{"state", "[T+1, 7] agent x,y, block x,y, angle mod 2pi, agent vx,vy"},
                                      {"proprio", "[T+1, 4] agent x,y,vx,vy"},
                                      {"action", "[T, 2] the variant's action convention"}}},
                          {"episodes", episodes}};
  std::ofstream(out / "index.json") << index.dump(1) << "\n";
  return summary;
}

nlohmann::json generate_moving(const fs::path& out, long long count, int frames, int size, uint64_t seed,
                               bool quiet) {
  fs::create_directories(out / "videos");
  envs::PushTRenderer renderer({size, false, false});
  std::vector<uint8_t> frame(static_cast<size_t>(size) * size * 3);
  nlohmann::json videos = nlohmann::json::array();
  ProgressBar bar("moving videos", count, "video", !quiet);
  for (long long i = 0; i < count; ++i) {
    const std::string name = episode_name(i);
    envs::MovingShapesScene scene(seed + static_cast<uint64_t>(i));
    data::VideoWriter video((out / "videos" / (name + ".mp4")).string(), size, size,
                            {static_cast<int>(envs::MovingShapesScene::kFps), 18});
    for (int t = 0; t < frames; ++t) {
      renderer.render(scene.scene(), frame.data());
      video.write(frame.data());
      scene.advance();
    }
    video.finish();
    videos.push_back({{"name", name}, {"seed", seed + i}, {"video", "videos/" + name + ".mp4"}, {"frames", frames}});
    bar.advance();
  }
  bar.finish();
  nlohmann::json summary = {{"mode", "moving"}, {"videos", count}, {"frames", frames}, {"size", size},
                            {"fps", envs::MovingShapesScene::kFps}, {"seed", seed}, {"seconds", bar.elapsed_s()}};
  std::ofstream(out / "index.json") << nlohmann::json{{"summary", summary}, {"videos", videos}}.dump(1) << "\n";
  return summary;
}

int run_generate_pusht(const std::vector<std::string>& argv) {
  Args args("generate pusht", "Generate Push-T episodes (mp4 + state/action/proprio .npy + index.json).");
  args.option("out", "DIR", "output folder (created)")
      .option("episodes", "N", "number of episodes (or videos with --mode moving)", "10")
      .option("length", "T", "actions per episode (frames per video with --mode moving)", "100")
      .option("seed", "S", "seed of the first episode; episode i uses S + i", "0")
      .option("policy", "NAME", "scripted (contact-rich pushing) or random (persistent random moves)", "scripted")
      .option("persistence", "P", "random policy: probability of repeating the last move", "0.8")
      .option("variant", "NAME", "swm (relative actions, C-JEPA) or gym (gym-pusht, absolute actions)", "swm")
      .option("size", "PX", "frame size", "224")
      .option("mode", "MODE", "episodes, or moving: random-motion videos at 40 fps (reference.md 2.5)", "episodes")
      .flag("quiet", "no progress bar")
      .flag("json", "print the summary as JSON");
  if (!args.parse(argv)) return kExitOk;
  const fs::path out = args.get("out");
  const long long count = args.get_int("episodes");
  if (count < 1) throw UsageError("--episodes must be at least 1");
  const std::string mode = args.get("mode");
  PushTEpisodeOptions o;
  o.length = static_cast<int>(args.get_int("length"));
  o.size = static_cast<int>(args.get_int("size"));
  o.seed = static_cast<uint64_t>(args.get_int("seed"));
  o.policy = args.get("policy");
  o.persistence = args.get_double("persistence");
  o.variant = envs::pusht_variant_from_name(args.get("variant"));
  check_pusht_episode_options(o);
  nlohmann::json summary;
  if (mode == "episodes")
    summary = generate_episodes(out, count, o, args.enabled("quiet"));
  else if (mode == "moving")
    summary = generate_moving(out, count, o.length, o.size, o.seed, args.enabled("quiet"));
  else
    throw UsageError("--mode must be 'episodes' or 'moving', got '" + mode + "'");
  if (args.enabled("json")) {
    std::cout << summary.dump(2) << "\n";
  } else if (mode == "episodes") {
    std::printf("wrote %lld episodes to %s: %.1f%% of steps touch the T, %lld successes, %.1f s\n", count,
                out.string().c_str(), 100 * summary["touching_fraction"].get<double>(),
                summary["successes"].get<long long>(), summary["seconds"].get<double>());
  } else {
    std::printf("wrote %lld moving-shapes videos to %s, %.1f s\n", count, out.string().c_str(),
                summary["seconds"].get<double>());
  }
  return kExitOk;
}

GenerateKindRegistration reg({"pusht", "Push-T episodes (mp4 + arrays) or random-motion videos", run_generate_pusht});

}  // namespace
}  // namespace cj::app
