#include "apps/masking_experiment.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "autograd/ops.hpp"
#include "nn/nn.hpp"
#include "tensor/error.hpp"
#include "tensor/numpy_random.hpp"
#include "tensor/ops.hpp"

namespace cj::app {

MaskingExperimentConfig full_masking_experiment() {
  MaskingExperimentConfig c;
  c.world.train_videos = 96;
  c.world.val_videos = 24;
  c.world.frames = 48;
  c.world.objects = 6;
  c.world.slot_dim = 32;
  c.world.seed = 0;
  c.model.depth = 2;
  c.model.heads = 4;
  c.model.dim = 32;
  c.model.ffn = 128;
  c.model.history = 4;
  c.model.preds = 4;
  c.model.dropout = 0.0;  // few steps on little data: no regularisation needed to compare M = 0 and M > 0
  c.frameskip = 2;
  c.steps = 1500;
  c.batch = 32;
  c.lr = 1e-3;
  return c;
}

MaskingExperimentConfig quick_masking_experiment() {
  MaskingExperimentConfig c = full_masking_experiment();
  c.world.train_videos = 32;
  c.world.val_videos = 8;
  c.model.depth = 1;
  c.steps = 600;
  return c;
}

namespace {

// Rows of `flat` (V*T, N, D) for window starts (video, frame) and frame offsets -> (W, K, N, D).
Tensor gather_windows(const Tensor& flat, int64_t frames, const std::vector<std::pair<int64_t, int64_t>>& starts,
                      const std::vector<int64_t>& offsets) {
  std::vector<int64_t> rows;
  rows.reserve(starts.size() * offsets.size());
  for (const auto& [v, s] : starts)
    for (int64_t k : offsets) rows.push_back(v * frames + s + k);
  const Tensor picked = ops::index_select(flat, 0, from_vector(rows, {int64_t(rows.size())}));
  return ops::unflatten(picked, 0, {int64_t(starts.size()), int64_t(offsets.size())});
}

// Adds |decoded - true| (box units) of disc n at future step k of window w, where wanted.
struct ErrorSum {
  double sum = 0;
  int64_t count = 0;
  void add(double dx, double dy) {
    sum += std::hypot(dx, dy);
    ++count;
  }
  PositionError result() const { return {count ? sum / double(count) : 0.0, count}; }
};

}  // namespace

MaskingExperiment::MaskingExperiment(const MaskingExperimentConfig& config) : config_(config) {
  const auto& c = config_;
  CJ_CHECK(c.model.dim == c.world.slot_dim, "masking experiment: model dim ", c.model.dim, " must equal the slot dim ",
           c.world.slot_dim);
  CJ_CHECK(c.steps >= 1 && c.batch >= 1 && c.frameskip >= 1 && c.eval_stride >= 1,
           "masking experiment: steps, batch, frameskip and eval_stride must be >= 1");
  const int64_t span = (c.model.total_steps() - 1) * c.frameskip + 1;
  CJ_CHECK(c.world.frames >= span, "masking experiment: videos of ", c.world.frames, " frames are shorter than one ",
           span, "-frame window");
  CJ_CHECK(c.world.train_videos >= 1 && c.world.val_videos >= 1, "masking experiment: needs train and val videos");
  world_ = std::make_unique<data::SlotWorld>(c.world);
  auto build = [&](const std::string& split, int64_t count) {
    Split out;
    std::vector<Tensor> slots, occluded;
    for (int64_t v = 0; v < count; ++v) {
      data::SlotVideo video = world_->simulate(split, v);
      slots.push_back(video.slots);
      occluded.push_back(video.occluded);
      const std::vector<float> st = to_vector<float>(video.states), vis = to_vector<float>(video.visible);
      for (std::size_t k = 0; k < vis.size(); ++k) {
        out.xy.push_back(st[k * 4]);
        out.xy.push_back(st[k * 4 + 1]);
      }
      out.visible.insert(out.visible.end(), vis.begin(), vis.end());
    }
    out.slots = ops::stack(slots, 0);
    out.occluded = ops::stack(occluded, 0);
    return out;
  };
  train_ = build("train", c.world.train_videos);
  val_ = build("val", c.world.val_videos);
  hidden_fraction_ = double(std::count(val_.visible.begin(), val_.visible.end(), 0.f)) / double(val_.visible.size());
}

MaskingRun MaskingExperiment::run(int64_t masked_slots, const std::function<void(int64_t, double)>& on_step) const {
  const auto& c = config_;
  const int64_t T = c.world.frames, V = c.world.train_videos, steps_per_window = c.model.total_steps();
  const int64_t span = (steps_per_window - 1) * c.frameskip + 1;
  MaskingRun out;
  out.masked_slots = masked_slots;
  out.masked_indices = models::fixed_mask_indices(c.world.objects, masked_slots);

  Generator gen(c.seed);
  models::MaskedSlotPredictor model(c.model, gen);
  model.train();
  nn::AdamOptions adam;
  adam.lr = c.lr;
  nn::AdamW optimizer(model.parameters(), adam);
  NumpyRandomState sampler(static_cast<uint32_t>(c.seed) ^ 0x5eedu);  // batch order: the same for every M
  std::vector<int64_t> offsets;
  for (int64_t k = 0; k < steps_per_window; ++k) offsets.push_back(k * c.frameskip);
  const Tensor flat = ops::flatten(train_.slots, 0, 1);  // (V*T, N, D)

  const auto start = std::chrono::steady_clock::now();
  const int64_t tail_from = c.steps - std::max<int64_t>(1, c.steps / 10);
  double tail_sum = 0;
  for (int64_t step = 0; step < c.steps; ++step) {
    std::vector<std::pair<int64_t, int64_t>> starts;
    for (int64_t b = 0; b < c.batch; ++b) {
      const auto v = int64_t(sampler.random_sample() * double(V));
      const auto s = int64_t(sampler.random_sample() * double(T - span + 1));
      starts.emplace_back(v, s);
    }
    const Tensor batch = gather_windows(flat, T, starts, offsets);  // (B, T_h + T_p, N, D)
    auto result = model.forward_masked(batch, out.masked_indices);
    optimizer.zero_grad();
    backward(result.loss);
    optimizer.step();
    const double loss = result.loss.item<double>();
    if (step >= tail_from) tail_sum += loss;
    if (on_step) on_step(step, loss);
  }
  out.train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  out.final_train_loss = tail_sum / double(c.steps - tail_from);
  model.eval();
  evaluate(model, out);
  return out;
}

void MaskingExperiment::evaluate(models::MaskedSlotPredictor& model, MaskingRun& out) const {
  const auto& c = config_;
  const int64_t T = c.world.frames, N = c.world.objects, th = c.model.history, tp = c.model.preds, fs = c.frameskip;
  const int64_t span = (th + tp - 1) * fs + 1;
  std::vector<std::pair<int64_t, int64_t>> windows;
  for (int64_t v = 0; v < c.world.val_videos; ++v)
    for (int64_t s = 0; s + span <= T; s += c.eval_stride) windows.emplace_back(v, s);
  std::vector<int64_t> past, future;
  for (int64_t k = 0; k < th; ++k) past.push_back(k * fs);
  for (int64_t k = th; k < th + tp; ++k) future.push_back(k * fs);
  const Tensor history = gather_windows(ops::flatten(val_.slots, 0, 1), T, windows, past);       // (W, T_h, N, D)
  const Tensor hidden = gather_windows(ops::flatten(val_.occluded, 0, 1), T, windows, past);     // (W, T_h, N, D)
  const Tensor targets = gather_windows(ops::flatten(val_.slots, 0, 1), T, windows, future);     // (W, T_p, N, D)
  const auto W = int64_t(windows.size());

  // Predicted (x, y) for every window: (W, T_p, N, 2) flattened.
  auto predict_positions = [&](const Tensor& hist, Tensor* slots_out) {
    std::vector<Tensor> chunks;
    for (int64_t w = 0; w < W; w += 256) chunks.push_back(model.inference(ops::slice(hist, 0, w, std::min(W, w + 256)), tp));
    const Tensor pred = ops::cat(chunks, 0);
    if (slots_out) *slots_out = pred;
    return to_vector<float>(world_->decode_positions(pred));
  };
  auto at = [&](int64_t w, int64_t frame_offset, int64_t n) {  // index into (V, T, N) for window w
    return (windows[std::size_t(w)].first * T + windows[std::size_t(w)].second + frame_offset) * N + n;
  };
  auto seen_throughout_history = [&](int64_t w, int64_t n) {
    for (int64_t k : past)
      if (val_.visible[std::size_t(at(w, k, n))] == 0.f) return false;
    return true;
  };

  Tensor predicted;
  const std::vector<float> pos = predict_positions(history, &predicted);
  out.val_future_mse = nn::mse_loss(predicted, targets).item<double>();
  ErrorSum natural, visible, forced, natural_still, visible_still, forced_still;
  auto add_still = [&](ErrorSum& sum, std::size_t seen, std::size_t truth) {
    sum.add(val_.xy[seen * 2] - val_.xy[truth * 2], val_.xy[seen * 2 + 1] - val_.xy[truth * 2 + 1]);
  };
  for (int64_t w = 0; w < W; ++w)
    for (int64_t n = 0; n < N; ++n) {
      const bool hidden_at_last = val_.visible[std::size_t(at(w, past.back(), n))] == 0.f;
      const bool always_seen = seen_throughout_history(w, n);
      if (!hidden_at_last && !always_seen) continue;
      std::size_t last_seen = std::size_t(at(w, 0, n));
      for (int64_t k : past)
        if (val_.visible[std::size_t(at(w, k, n))] != 0.f) last_seen = std::size_t(at(w, k, n));
      for (int64_t k = 0; k < tp; ++k) {
        const std::size_t truth = std::size_t(at(w, future[std::size_t(k)], n));
        if (val_.visible[truth] == 0.f) continue;
        const std::size_t p = std::size_t(((w * tp + k) * N + n) * 2);
        (hidden_at_last ? natural : visible).add(pos[p] - val_.xy[truth * 2], pos[p + 1] - val_.xy[truth * 2 + 1]);
        add_still(hidden_at_last ? natural_still : visible_still, last_seen, truth);
        if (always_seen) add_still(forced_still, std::size_t(at(w, 0, n)), truth);
      }
    }
  // Hide one disc at a time from history frame 1 on, by its appearance-only slot.
  for (int64_t n = 0; n < N; ++n) {
    std::vector<float> mask(std::size_t(th * N), 0.f);
    for (int64_t t = 1; t < th; ++t) mask[std::size_t(t * N + n)] = 1.f;
    const Tensor replace = ops::gt(from_vector(mask, {1, th, N, 1}), Scalar(0.5));
    const std::vector<float> hid = predict_positions(ops::where(replace, hidden, history), nullptr);
    for (int64_t w = 0; w < W; ++w) {
      if (!seen_throughout_history(w, n)) continue;
      for (int64_t k = 0; k < tp; ++k) {
        const std::size_t truth = std::size_t(at(w, future[std::size_t(k)], n));
        if (val_.visible[truth] == 0.f) continue;
        const std::size_t p = std::size_t(((w * tp + k) * N + n) * 2);
        forced.add(hid[p] - val_.xy[truth * 2], hid[p + 1] - val_.xy[truth * 2 + 1]);
      }
    }
  }
  out.natural = natural.result();
  out.visible = visible.result();
  out.forced = forced.result();
  out.natural_still = natural_still.result();
  out.visible_still = visible_still.result();
  out.forced_still = forced_still.result();
}

}  // namespace cj::app
