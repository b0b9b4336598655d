#pragma once
// Training windows over slot videos, as the reference's ClevrerSlotDataset / PushTSlotDataset:
// a window starting at raw frame s takes the frames s, s + fs, ..., s + (T_h + T_p - 1) * fs, and
// windows start at every frame (stride 1) whose clip of clip_len = (T_h + T_p) * fs raw frames fits
// in the video. CLEVRER (T_h 6, T_p 10, fs 2) gives 128 - 32 + 1 = 97 windows per 128-frame video.
// Videos shorter than one clip give no window; they are counted (skipped_videos) for the report.
#include <cstdint>
#include <string>
#include <vector>

#include "data/slot_files.hpp"

namespace cj::data {

struct WindowSpec {
  int64_t history = 6;    // T_h
  int64_t preds = 10;     // T_p
  int64_t frameskip = 2;  // fs
  int64_t steps() const { return history + preds; }
  int64_t clip_len() const { return steps() * frameskip; }
  void validate() const;  // throws cj::Error unless all are >= 1
};

class SlotWindows {
 public:
  SlotWindows(SlotVideos videos, WindowSpec spec);

  int64_t size() const { return static_cast<int64_t>(starts_.size()); }
  int64_t skipped_videos() const { return skipped_; }
  const SlotVideos& videos() const { return videos_; }
  const WindowSpec& spec() const { return spec_; }
  // Window i as (video index, start frame).
  std::pair<int64_t, int64_t> window(int64_t i) const;
  // "train: 970000 windows from 10000 videos (T_h 6, T_p 10, frameskip 2); 3 videos shorter than 32 frames skipped"
  std::string summary() const;

  // The slots of the given windows: (B, T_h + T_p, N, D) f32.
  Tensor gather(const std::vector<int64_t>& windows) const;

 private:
  SlotVideos videos_;
  WindowSpec spec_;
  std::vector<std::pair<int32_t, int32_t>> starts_;  // (video, start frame) per window
  int64_t skipped_ = 0;
};

// Per-feature z-score statistics: mean and unbiased std (torch's x.mean(0), x.std(0)).
struct ZScore {
  std::vector<float> mean, std;
};

// Push-T windows: slots plus the side series at the same windows, normalised as §5.7:
//   action of step k = the fs raw actions from frame s + k * fs flattened ((x0, y0, ..., x4, y4) for fs 5),
//   proprio of step k = the proprio row at frame s + k * fs, state likewise (not normalised),
// (value - mean) / std with the statistics of this split's side files over all their stride-1
// windows (iterating the side file's episodes, as the reference does), then NaN -> 0 and +-inf ->
// +-float max (torch.nan_to_num, which the reference applies in the forward). No clamping of std.
struct PushTBatch {
  Tensor slots;    // (B, steps, N, D)
  Tensor action;   // (B, steps, action_dim * fs), normalised
  Tensor proprio;  // (B, steps, proprio_dim), normalised
  Tensor state;    // (B, steps, state_dim), raw; undefined without a state file
};

class PushTWindows {
 public:
  // state may have no episodes (state.episodes empty) when no state file was given.
  PushTWindows(SlotVideos videos, WindowSpec spec, SideSeries action, SideSeries proprio, SideSeries state = {});

  const SlotWindows& slots() const { return slots_; }
  int64_t size() const { return slots_.size(); }
  const ZScore& action_stats() const { return action_stats_; }
  const ZScore& proprio_stats() const { return proprio_stats_; }
  int64_t action_dim() const { return action_.dim * slots_.spec().frameskip; }
  int64_t proprio_dim() const { return proprio_.dim; }
  std::string summary() const;

  PushTBatch gather(const std::vector<int64_t>& windows) const;

 private:
  SlotWindows slots_;
  SideSeries action_, proprio_, state_;
  // per slot video: its series (same order as slots_.videos().names)
  std::vector<Tensor> action_of_, proprio_of_, state_of_;
  ZScore action_stats_, proprio_stats_;
};

// The statistics of §5.7 (exposed for tests): over every episode and stride-1 start s with
// s + clip_len <= T, action rows are the windows' (steps, dim * fs) reshapes and proprio rows the
// frame-skipped rows. Accumulated in double, rounded to float as the reference's f32 tensors.
ZScore action_zscore(const SideSeries& action, const WindowSpec& spec);
ZScore proprio_zscore(const SideSeries& proprio, const WindowSpec& spec);

}  // namespace cj::data
