#pragma once
// One Push-T episode driven by a data-collection policy and rendered frame by frame; shared by
// `generate pusht` and `pusht play`.
#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "envs/pusht_env.hpp"

namespace cj::app {

struct PushTEpisodeOptions {
  envs::PushTVariant variant = envs::PushTVariant::kStableWorldModel;
  std::string policy = "scripted";  // "scripted" (contact-rich pushing) or "random" (persistent)
  double persistence = 0.8;         // random policy: probability of keeping the last move
  int length = 100;                 // actions per episode
  int size = 224;                   // frame size
  uint64_t seed = 0;
};

// Throws cj::Error for an unknown policy name or a non-positive length/size.
void check_pusht_episode_options(const PushTEpisodeOptions& options);

struct PushTEpisodeRecord {
  std::vector<envs::PushTState> states;          // length + 1 (after reset, then after each action)
  std::vector<std::array<double, 2>> actions;    // length, in the variant's convention
  int touching_steps = 0;                        // steps after which the agent touches the T
  bool success = false;                          // the variant's success at any step
  double final_coverage = 0;
};

// Calls on_frame with each size x size x 3 frame (length + 1 of them).
PushTEpisodeRecord run_pusht_episode(const PushTEpisodeOptions& options,
                                     const std::function<void(const uint8_t*)>& on_frame);

}  // namespace cj::app
