#include "data/synthetic_slots.hpp"

#include <Eigen/Dense>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "tensor/io/pickle_writer.hpp"
#include "tensor/numpy_random.hpp"
#include "tensor/ops/creation.hpp"

namespace cj::data {

namespace {

struct Disc {
  double x, y, vx, vy;
};

double normal(NumpyRandomState& rng) {  // Box-Muller on numpy's 53-bit uniforms
  double u1 = rng.random_sample(), u2 = rng.random_sample();
  return std::sqrt(-2.0 * std::log1p(-u1)) * std::cos(2.0 * M_PI * u2);
}

uint32_t video_seed(uint32_t seed, const std::string& split, int64_t index) {
  uint64_t h = 1469598103934665603ull ^ seed;  // FNV-1a over (seed, split, index)
  for (char c : split) h = (h ^ uint8_t(c)) * 1099511628211ull;
  for (int i = 0; i < 8; ++i) h = (h ^ ((uint64_t(index) >> (8 * i)) & 0xff)) * 1099511628211ull;
  return uint32_t(h ^ (h >> 32));
}

// One physics step of dt (frames): move, bounce off the walls, resolve elastic equal-mass contacts.
void step(std::vector<Disc>& discs, double r, double dt) {
  for (auto& d : discs) {
    d.x += d.vx * dt;
    d.y += d.vy * dt;
    if (d.x < r) { d.x = 2 * r - d.x; d.vx = std::fabs(d.vx); }
    if (d.x > 1 - r) { d.x = 2 * (1 - r) - d.x; d.vx = -std::fabs(d.vx); }
    if (d.y < r) { d.y = 2 * r - d.y; d.vy = std::fabs(d.vy); }
    if (d.y > 1 - r) { d.y = 2 * (1 - r) - d.y; d.vy = -std::fabs(d.vy); }
  }
  for (size_t i = 0; i < discs.size(); ++i)
    for (size_t j = i + 1; j < discs.size(); ++j) {
      Disc &a = discs[i], &b = discs[j];
      double dx = a.x - b.x, dy = a.y - b.y, dist = std::hypot(dx, dy);
      if (dist >= 2 * r || dist < 1e-12) continue;
      double nx = dx / dist, ny = dy / dist;
      double approach = (a.vx - b.vx) * nx + (a.vy - b.vy) * ny;
      if (approach < 0) {  // equal masses: exchange the normal components of velocity
        a.vx -= approach * nx; a.vy -= approach * ny;
        b.vx += approach * nx; b.vy += approach * ny;
      }
      double push = (2 * r - dist) / 2;  // separate so discs never sink into each other
      a.x += push * nx; a.y += push * ny;
      b.x -= push * nx; b.y -= push * ny;
    }
}

// The camera looks at the floor obliquely from the y = 0 side, as CLEVRER's does: a disc at
// larger y is farther away, and on screen y distances shrink by kForeshortening, so a disc
// just behind another is hidden by it although the two never touch on the floor.
constexpr double kForeshortening = 0.2;

// Features 0..4 (x, y, vx, vy, visible) vanish from a hidden disc's slot; its appearance stays.
constexpr int64_t kHiddenFeaturesFrom = 5;

// Fraction of disc i covered on screen by nearer discs (smaller y), on a fixed pattern of sample
// points: centre plus two rings.
double covered_fraction(const std::vector<Disc>& discs, size_t i, double r) {
  static const std::vector<std::pair<double, double>> pattern = [] {
    std::vector<std::pair<double, double>> p{{0, 0}};
    for (int k = 0; k < 8; ++k) p.emplace_back(0.45 * std::cos(k * M_PI / 4), 0.45 * std::sin(k * M_PI / 4));
    for (int k = 0; k < 16; ++k) p.emplace_back(0.85 * std::cos(k * M_PI / 8), 0.85 * std::sin(k * M_PI / 8));
    return p;
  }();
  int covered = 0;
  for (const auto& [px, py] : pattern) {
    double sx = discs[i].x + px * r, sy = discs[i].y * kForeshortening + py * r;
    for (size_t j = 0; j < discs.size(); ++j)
      if (discs[j].y < discs[i].y && std::hypot(sx - discs[j].x, sy - discs[j].y * kForeshortening) < r) {
        ++covered;
        break;
      }
  }
  return double(covered) / double(pattern.size());
}

}  // namespace

void SlotWorldConfig::validate() const {
  CJ_CHECK(train_videos >= 0 && val_videos >= 0 && train_videos + val_videos > 0,
           "slot world: need at least one video (train_videos=", train_videos, ", val_videos=", val_videos, ")");
  CJ_CHECK(frames >= 1, "slot world: frames must be >= 1, got ", frames);
  CJ_CHECK(objects >= 1 && objects <= 32, "slot world: objects must be in 1..32, got ", objects);
  CJ_CHECK(slot_dim >= kSlotFeatures, "slot world: slot_dim must be >= ", kSlotFeatures, ", got ", slot_dim);
  CJ_CHECK(radius > 0 && radius < 0.25, "slot world: radius must be in (0, 0.25), got ", radius);
  CJ_CHECK(objects * M_PI * radius * radius < 0.5, "slot world: ", objects, " discs of radius ", radius,
           " cover more than half the box; use fewer or smaller discs");
  CJ_CHECK(speed >= 0 && speed < radius * substeps, "slot world: speed must be in [0, radius*substeps), got ", speed);
  CJ_CHECK(noise >= 0, "slot world: noise must be >= 0, got ", noise);
  CJ_CHECK(substeps >= 1, "slot world: substeps must be >= 1, got ", substeps);
}

SlotWorld::SlotWorld(const SlotWorldConfig& config) : config_(config) {
  config_.validate();
  const int64_t D = config_.slot_dim, F = kSlotFeatures;
  NumpyRandomState rng(config_.seed ^ 0x9e3779b9u);
  std::vector<float> w(D * F);
  for (auto& v : w) v = float(normal(rng) / std::sqrt(double(F)));
  embedding_ = from_vector(w, {D, F});
  // pinv(W) = (WᵀW)⁻¹Wᵀ; keep its first two rows (the x and y features).
  Eigen::MatrixXd W(D, F);
  for (int64_t i = 0; i < D; ++i)
    for (int64_t j = 0; j < F; ++j) W(i, j) = w[i * F + j];
  Eigen::MatrixXd pinv = (W.transpose() * W).ldlt().solve(W.transpose());
  position_decoder_.resize(2 * D);
  for (int64_t k = 0; k < 2; ++k)
    for (int64_t i = 0; i < D; ++i) position_decoder_[k * D + i] = pinv(k, i);
}

SlotVideo SlotWorld::simulate(const std::string& split, int64_t index) const {
  const auto& c = config_;
  const int64_t T = c.frames, N = c.objects, D = c.slot_dim, F = kSlotFeatures;
  NumpyRandomState rng(video_seed(c.seed, split, index));

  std::vector<Disc> discs;
  for (int64_t n = 0; n < N; ++n) {
    Disc d{};
    for (int attempt = 0;; ++attempt) {  // rejection-sample a free spot
      d.x = c.radius + rng.random_sample() * (1 - 2 * c.radius);
      d.y = c.radius + rng.random_sample() * (1 - 2 * c.radius);
      bool free = std::all_of(discs.begin(), discs.end(),
                              [&](const Disc& o) { return std::hypot(d.x - o.x, d.y - o.y) > 2.05 * c.radius; });
      if (free) break;
      CJ_CHECK(attempt < 10000, "slot world: could not place ", N, " discs of radius ", c.radius);
    }
    double angle = 2 * M_PI * rng.random_sample(), speed = c.speed * (0.5 + rng.random_sample());
    d.vx = speed * std::cos(angle);
    d.vy = speed * std::sin(angle);
    discs.push_back(d);
  }
  std::vector<double> appearance(N * 4);
  for (auto& a : appearance) a = normal(rng);

  std::vector<float> slots(T * N * D), occluded(T * N * D), states(T * N * 4), visible(T * N);
  const float* W = embedding_.data<float>();
  const double velocity_scale = c.speed > 0 ? 1.0 / c.speed : 0.0;
  for (int64_t t = 0; t < T; ++t) {
    if (t > 0)
      for (int64_t s = 0; s < c.substeps; ++s) step(discs, c.radius, 1.0 / double(c.substeps));
    for (int64_t n = 0; n < N; ++n) {
      const Disc& d = discs[n];
      bool seen = covered_fraction(discs, size_t(n), c.radius) <= c.hidden_overlap;
      float* st = &states[(t * N + n) * 4];
      st[0] = float(d.x); st[1] = float(d.y); st[2] = float(d.vx); st[3] = float(d.vy);
      visible[t * N + n] = seen ? 1.f : 0.f;
      double f[kSlotFeatures] = {0, 0, 0, 0, 0, appearance[n * 4], appearance[n * 4 + 1], appearance[n * 4 + 2],
                                 appearance[n * 4 + 3]};
      if (seen) {  // a hidden disc's slot keeps only its appearance
        f[0] = (d.x - 0.5) * 2;
        f[1] = (d.y - 0.5) * 2;
        f[2] = d.vx * velocity_scale;
        f[3] = d.vy * velocity_scale;
        f[4] = 1;
      }
      float* slot = &slots[(t * N + n) * D];
      float* hidden = &occluded[(t * N + n) * D];
      for (int64_t i = 0; i < D; ++i) {
        const double noise = c.noise * normal(rng);
        double v = noise, h = noise;
        for (int64_t j = 0; j < F; ++j) v += W[i * F + j] * f[j];
        for (int64_t j = kHiddenFeaturesFrom; j < F; ++j) h += W[i * F + j] * f[j];
        slot[i] = float(v);
        hidden[i] = float(h);
      }
    }
  }
  return {from_vector(slots, {T, N, D}), from_vector(states, {T, N, 4}), from_vector(visible, {T, N}),
          from_vector(occluded, {T, N, D})};
}

Tensor SlotWorld::decode_positions(const Tensor& slots) const {
  const int64_t D = config_.slot_dim;
  CJ_CHECK(slots.dim() >= 1 && slots.size(-1) == D, "decode_positions: expected slots (..., ", D, "), got ",
           slots.shape());
  std::vector<float> s = to_vector<float>(slots);
  int64_t rows = slots.numel() / D;
  std::vector<float> out(rows * 2);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < 2; ++k) {
      double acc = 0;
      for (int64_t i = 0; i < D; ++i) acc += position_decoder_[k * D + i] * s[r * D + i];
      out[r * 2 + k] = float(acc / 2 + 0.5);  // undo the (x - 0.5) * 2 feature scaling
    }
  Shape shape = slots.shape();
  shape.back() = 2;
  return from_vector(out, shape);
}

void write_slot_dataset(const std::string& dir, const SlotWorldConfig& config,
                        const std::function<void(int64_t, int64_t)>& progress) {
  SlotWorld world(config);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  CJ_CHECK(!ec, dir, ": cannot create directory: ", ec.message());
  io::PickleDict slots, states;
  const int64_t total = config.train_videos + config.val_videos;
  int64_t done = 0;
  for (const auto& [split, count] : {std::pair<std::string, int64_t>{"train", config.train_videos},
                                     std::pair<std::string, int64_t>{"val", config.val_videos}}) {
    auto& split_slots = slots.dicts[split];
    auto& split_states = states.dicts[split];
    for (int64_t i = 0; i < count; ++i) {
      SlotVideo v = world.simulate(split, i);
      std::string key = std::to_string(i) + "_pixels.mp4";  // the reference keys slots by video file name
      split_slots.arrays[key] = v.slots;
      // states: (T, N, 5) = x, y, vx, vy, visible
      std::vector<float> st = to_vector<float>(v.states), vis = to_vector<float>(v.visible);
      std::vector<float> packed(vis.size() * 5);
      for (size_t k = 0; k < vis.size(); ++k) {
        std::copy(st.begin() + k * 4, st.begin() + k * 4 + 4, packed.begin() + k * 5);
        packed[k * 5 + 4] = vis[k];
      }
      split_states.arrays[key] = from_vector(packed, {config.frames, config.objects, 5});
      if (progress) progress(++done, total);
    }
  }
  io::write_pickle_numpy_tree(dir + "/slots.pkl", slots);
  io::write_pickle_numpy_tree(dir + "/states.pkl", states);
  nlohmann::json j = {{"generator", "cjepa generate slots"},
                      {"train_videos", config.train_videos}, {"val_videos", config.val_videos},
                      {"frames", config.frames}, {"objects", config.objects}, {"slot_dim", config.slot_dim},
                      {"radius", config.radius}, {"speed", config.speed}, {"noise", config.noise},
                      {"hidden_overlap", config.hidden_overlap}, {"substeps", config.substeps},
                      {"seed", config.seed},
                      {"features", {"x", "y", "vx", "vy", "visible", "app0", "app1", "app2", "app3"}},
                      {"embedding", to_vector<float>(world.embedding())}};
  io::write_file_atomic(dir + "/world.json", j.dump(1));
}

}  // namespace cj::data
