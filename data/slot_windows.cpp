#include "data/slot_windows.hpp"

#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>

#include "tensor/error.hpp"
#include "tensor/ops/creation.hpp"

namespace cj::data {

void WindowSpec::validate() const {
  CJ_CHECK(history >= 1 && preds >= 1 && frameskip >= 1, "slot windows: history_size, num_preds and frameskip must ",
           "be >= 1, got ", history, ", ", preds, ", ", frameskip);
}

SlotWindows::SlotWindows(SlotVideos videos, WindowSpec spec) : videos_(std::move(videos)), spec_(spec) {
  spec_.validate();
  for (std::size_t v = 0; v < videos_.videos.size(); ++v) {
    const int64_t starts = videos_.videos[v].size(0) - spec_.clip_len() + 1;
    if (starts <= 0) {
      ++skipped_;
      continue;
    }
    for (int64_t s = 0; s < starts; ++s) starts_.emplace_back(static_cast<int32_t>(v), static_cast<int32_t>(s));
  }
}

std::pair<int64_t, int64_t> SlotWindows::window(int64_t i) const {
  CJ_CHECK(i >= 0 && i < size(), "slot windows (", videos_.split, "): window ", i, " out of range [0, ", size(), ")");
  return {starts_[static_cast<std::size_t>(i)].first, starts_[static_cast<std::size_t>(i)].second};
}

std::string SlotWindows::summary() const {
  std::ostringstream os;
  os << videos_.split << ": " << size() << " windows from " << videos_.videos.size() - skipped_ << " videos (T_h "
     << spec_.history << ", T_p " << spec_.preds << ", frameskip " << spec_.frameskip << ", " << videos_.num_slots
     << " slots x " << videos_.slot_dim << ")";
  if (skipped_ > 0) os << "; " << skipped_ << " videos shorter than " << spec_.clip_len() << " frames skipped";
  return os.str();
}

// (B, steps, N, D): frame s + k * fs of window b's video at [b, k].
Tensor SlotWindows::gather(const std::vector<int64_t>& windows) const {
  const int64_t steps = spec_.steps(), frame = videos_.num_slots * videos_.slot_dim;
  Tensor out = empty({static_cast<int64_t>(windows.size()), steps, videos_.num_slots, videos_.slot_dim});
  float* dst = out.data<float>();
  for (int64_t w : windows) {
    const auto [video, start] = window(w);
    const float* src = videos_.videos[static_cast<std::size_t>(video)].data<float>();
    for (int64_t k = 0; k < steps; ++k, dst += frame)
      std::memcpy(dst, src + (start + k * spec_.frameskip) * frame, static_cast<std::size_t>(frame) * sizeof(float));
  }
  return out;
}

namespace {

// Mean and unbiased std per column of the rows that start at (s + k * fs) * dim of every episode's
// data, for every stride-1 window start s and step k; a row is `rows_per_step` raw rows wide.
ZScore window_zscore(const SideSeries& series, const WindowSpec& spec, int64_t rows_per_step) {
  spec.validate();
  const int64_t width = series.dim * rows_per_step;
  std::vector<double> sum(static_cast<std::size_t>(width), 0.0), sq(static_cast<std::size_t>(width), 0.0);
  auto for_each_row = [&](auto&& fn) {
    for (const auto& episode : series.episodes) {
      const Tensor& data = episode.second;
      const float* x = data.data<float>();
      for (int64_t s = 0; s + spec.clip_len() <= data.size(0); ++s)
        for (int64_t k = 0; k < spec.steps(); ++k) fn(x + (s + k * spec.frameskip) * series.dim);
    }
  };
  int64_t rows = 0;
  for_each_row([&](const float* row) {
    for (int64_t j = 0; j < width; ++j) sum[static_cast<std::size_t>(j)] += row[j];
    ++rows;
  });
  CJ_CHECK(rows > 0, series.what, " file ", series.file, " (", series.split, "): no episode is long enough for one ",
           "window of ", spec.clip_len(), " frames, so there are no statistics to normalise with");
  for (auto& s : sum) s /= static_cast<double>(rows);
  for_each_row([&](const float* row) {
    for (int64_t j = 0; j < width; ++j) {
      const double d = row[j] - sum[static_cast<std::size_t>(j)];
      sq[static_cast<std::size_t>(j)] += d * d;
    }
  });
  ZScore z;
  for (int64_t j = 0; j < width; ++j) {
    z.mean.push_back(static_cast<float>(sum[static_cast<std::size_t>(j)]));
    // torch's unbiased std of a single row is NaN
    z.std.push_back(rows > 1 ? static_cast<float>(std::sqrt(sq[static_cast<std::size_t>(j)] / (rows - 1)))
                             : std::numeric_limits<float>::quiet_NaN());
  }
  return z;
}

// torch.nan_to_num(x, 0.0): NaN -> 0, +-inf -> +-float max.
float nan_to_num(float x) {
  if (std::isnan(x)) return 0.f;
  if (std::isinf(x)) return x > 0 ? std::numeric_limits<float>::max() : std::numeric_limits<float>::lowest();
  return x;
}

// The side series of every slot video, by name; throws naming the video when one is missing or short.
std::vector<Tensor> series_per_video(const SideSeries& series, const SlotVideos& videos) {
  std::vector<Tensor> out;
  if (series.episodes.empty()) return out;
  for (std::size_t v = 0; v < videos.names.size(); ++v) {
    auto it = series.episodes.find(videos.names[v]);
    CJ_CHECK(it != series.episodes.end(), series.what, " file ", series.file, ": no episode '", videos.names[v],
             "' in split '", series.split, "' for the slot video of that name");
    CJ_CHECK(it->second.size(0) >= videos.videos[v].size(0), series.what, " file ", series.file, ", ", series.split,
             "/", videos.names[v], ": ", it->second.size(0), " rows, but the slot video has ", videos.videos[v].size(0),
             " frames");
    out.push_back(it->second);
  }
  return out;
}

}  // namespace

ZScore action_zscore(const SideSeries& action, const WindowSpec& spec) {
  return window_zscore(action, spec, spec.frameskip);
}
ZScore proprio_zscore(const SideSeries& proprio, const WindowSpec& spec) { return window_zscore(proprio, spec, 1); }

PushTWindows::PushTWindows(SlotVideos videos, WindowSpec spec, SideSeries action, SideSeries proprio, SideSeries state)
    : slots_(std::move(videos), spec), action_(std::move(action)), proprio_(std::move(proprio)), state_(std::move(state)) {
  CJ_CHECK(!action_.episodes.empty() && !proprio_.episodes.empty(), "Push-T windows: action and proprio series are ",
           "required");
  action_of_ = series_per_video(action_, slots_.videos());
  proprio_of_ = series_per_video(proprio_, slots_.videos());
  state_of_ = series_per_video(state_, slots_.videos());
  action_stats_ = action_zscore(action_, spec);
  proprio_stats_ = proprio_zscore(proprio_, spec);
}

std::string PushTWindows::summary() const {
  std::ostringstream os;
  os << slots_.summary() << "; action " << action_dim() << "-d, proprio " << proprio_dim() << "-d";
  if (action_.nan_values + proprio_.nan_values > 0)
    os << "; " << action_.nan_values << " NaN action and " << proprio_.nan_values
       << " NaN proprio values (0 after normalising)";
  return os.str();
}

PushTBatch PushTWindows::gather(const std::vector<int64_t>& windows) const {
  const WindowSpec& spec = slots_.spec();
  const int64_t batch = static_cast<int64_t>(windows.size()), steps = spec.steps();
  PushTBatch out;
  out.slots = slots_.gather(windows);
  // Copies `width` floats per step from row (s + k * fs) of each window's series, normalising if stats.
  auto take = [&](const std::vector<Tensor>& per_video, int64_t dim, int64_t rows_per_step, const ZScore* stats) {
    const int64_t width = dim * rows_per_step;
    Tensor t = empty({batch, steps, width});
    float* dst = t.data<float>();
    for (int64_t w : windows) {
      const auto [video, start] = slots_.window(w);
      const float* src = per_video[static_cast<std::size_t>(video)].data<float>();
      for (int64_t k = 0; k < steps; ++k, dst += width) {
        const float* row = src + (start + k * spec.frameskip) * dim;
        for (int64_t j = 0; j < width; ++j)
          dst[j] = stats ? nan_to_num((row[j] - stats->mean[static_cast<std::size_t>(j)]) /
                                      stats->std[static_cast<std::size_t>(j)])
                         : row[j];
      }
    }
    return t;
  };
  out.action = take(action_of_, action_.dim, spec.frameskip, &action_stats_);
  out.proprio = take(proprio_of_, proprio_.dim, 1, &proprio_stats_);
  if (!state_of_.empty()) out.state = take(state_of_, state_.dim, 1, nullptr);
  return out;
}

}  // namespace cj::data
