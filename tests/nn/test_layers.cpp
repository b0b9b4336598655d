// Layer behaviour that parity fixtures cannot show: default initialisation (PyTorch's formulas,
// Philox draws), dropout statistics, gradient accumulation, and errors on bad input.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/ops.hpp"
#include "nn/nn.hpp"
#include "tensor/ops.hpp"

using namespace cj;

namespace {

struct Stats {
  double min, max, mean, var;
};
Stats stats_of(const Tensor& t) {
  auto v = to_vector<double>(t);
  Stats s{v[0], v[0], 0, 0};
  for (double x : v) s.min = std::min(s.min, x), s.max = std::max(s.max, x), s.mean += x;
  s.mean /= double(v.size());
  for (double x : v) s.var += (x - s.mean) * (x - s.mean);
  s.var /= double(v.size());
  return s;
}

// A U(-bound, bound) sample: inside the bounds, mean 0 and variance bound^2 / 3 within 5 sigma.
void expect_uniform(const Tensor& t, double bound, const char* what) {
  SCOPED_TRACE(what);
  Stats s = stats_of(t);
  const double n = double(t.numel());
  EXPECT_GE(s.min, -bound);
  EXPECT_LE(s.max, bound);
  EXPECT_GT(s.max, 0.9 * bound);  // the sample spans the range
  EXPECT_NEAR(s.mean, 0.0, 5 * bound / std::sqrt(3 * n));
  EXPECT_NEAR(s.var, bound * bound / 3, 5 * bound * bound * std::sqrt(4.0 / 45.0 / n));
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(Init, FansAndGainsFollowPyTorch) {
  auto f = nn::init::compute_fans({16, 8, 3, 3});
  EXPECT_EQ(f.fan_in, 8 * 9);
  EXPECT_EQ(f.fan_out, 16 * 9);
  EXPECT_THROW(nn::init::compute_fans({5}), Error);
  EXPECT_DOUBLE_EQ(nn::init::calculate_gain(nn::init::Nonlinearity::relu), std::sqrt(2.0));
  EXPECT_DOUBLE_EQ(nn::init::calculate_gain(nn::init::Nonlinearity::tanh), 5.0 / 3.0);
  EXPECT_DOUBLE_EQ(nn::init::calculate_gain(nn::init::Nonlinearity::leaky_relu, std::sqrt(5.0)), std::sqrt(1.0 / 3.0));
}

TEST(Init, LayerDefaultsMatchPyTorchDistributions) {
  Generator gen(7);
  nn::Linear linear(200, 300, true, gen);
  expect_uniform(linear.weight, 1 / std::sqrt(200.0), "Linear.weight");
  expect_uniform(linear.bias, 1 / std::sqrt(200.0), "Linear.bias");

  nn::Conv2d conv(8, 64, nn::Conv2dOptions::square(5), gen);
  expect_uniform(conv.weight, 1 / std::sqrt(8 * 25.0), "Conv2d.weight");
  nn::ConvTranspose2d deconv(64, 32, nn::Conv2dOptions::square(5), gen);  // fan_in from dim 1 (out)
  expect_uniform(deconv.weight, 1 / std::sqrt(32 * 25.0), "ConvTranspose2d.weight");

  nn::GRUCell gru(100, 128, true, gen);
  expect_uniform(gru.weight_ih, 1 / std::sqrt(128.0), "GRUCell.weight_ih");
  expect_uniform(gru.bias_hh, 1 / std::sqrt(128.0), "GRUCell.bias_hh");

  nn::MultiheadAttention mha(128, 4, 0.0, true, false, gen);
  expect_uniform(mha.in_proj_weight, std::sqrt(6.0 / (128 + 384)), "in_proj_weight (xavier)");
  EXPECT_EQ(stats_of(mha.in_proj_bias).max, 0.0);
  EXPECT_EQ(stats_of(mha.out_proj->bias).min, 0.0);

  nn::LayerNorm ln(32);
  EXPECT_EQ(stats_of(ln.weight).min, 1.0);
  EXPECT_EQ(stats_of(ln.bias).max, 0.0);

  nn::Embedding emb(500, 64, gen);
  Stats e = stats_of(emb.weight);
  EXPECT_NEAR(e.mean, 0.0, 5 / std::sqrt(32000.0));
  EXPECT_NEAR(e.var, 1.0, 5 * std::sqrt(2.0 / 32000));
}

TEST(Init, TruncNormalStaysInsideAndSeedsReproduce) {
  Tensor a = empty({20000}), b = empty({20000});
  Generator g1(3), g2(3);
  nn::init::trunc_normal_(a, 0.0, 0.02, -0.04, 0.04, g1);
  nn::init::trunc_normal_(b, 0.0, 0.02, -0.04, 0.04, g2);
  Stats s = stats_of(a);
  EXPECT_GE(s.min, -0.04);
  EXPECT_LE(s.max, 0.04);
  // Var of N(0, s^2) truncated at +-2s: s^2 (1 - 2 * 2 phi(2) / (2 Phi(2) - 1)) = 0.7737 s^2.
  EXPECT_NEAR(s.var / (0.02 * 0.02), 0.7737, 0.03);
  EXPECT_EQ(to_vector<float>(a), to_vector<float>(b));
  Tensor x = empty({10, 100});
  nn::init::xavier_uniform_(x, 1.0, g1);
  EXPECT_LE(stats_of(x).max, std::sqrt(6.0 / 110));
}

TEST(Dropout, TrainModeDropsAtRatePAndScalesTheRest) {
  Generator gen(11);
  nn::Dropout drop(0.3, gen);
  Tensor x = ones({100000}).requires_grad_(true);
  Tensor y = drop(x);
  auto v = to_vector<float>(y);
  int64_t zeros_count = 0;
  for (float e : v) {
    if (e == 0.0f) ++zeros_count;
    else EXPECT_FLOAT_EQ(e, float(1 / 0.7));
  }
  const double rate = double(zeros_count) / double(v.size());
  EXPECT_NEAR(rate, 0.3, 5 * std::sqrt(0.3 * 0.7 / double(v.size())));
  // The gradient passes through the same mask and scale.
  cj::backward(cj::sum(y));
  EXPECT_EQ(to_vector<float>(x.grad()), v);
  // A new draw gives a different mask; eval mode and p = 0 are the identity.
  EXPECT_NE(to_vector<float>(drop(x)), v);
  drop.eval();
  EXPECT_TRUE(drop(x).is_same(x));
  nn::Dropout none(0.0);
  EXPECT_TRUE(none(x).is_same(x));
  EXPECT_THROW(nn::Dropout(1.5), Error);
}

TEST(Dropout, SameGeneratorStateSameMask) {
  Generator a(5), b(5);
  Tensor x = ones({64});
  EXPECT_EQ(to_vector<float>(nn::dropout(x, 0.5, true, a)), to_vector<float>(nn::dropout(x, 0.5, true, b)));
}

// Sets the dropout-mask policy for a scope (the default is restored after).
struct MasksPolicy {
  explicit MasksPolicy(nn::DropoutMasks p) { nn::set_dropout_masks(p); }
  ~MasksPolicy() { nn::set_dropout_masks(nn::DropoutMasks::automatic); }
};

// With masks drawn again, nothing but the output outlives the forward; kept, the mask does. Either
// way the gradient is the forward's mask, draws made in between do not change it, and the generator
// moves on exactly as one rand() of x's shape would move it.
TEST(Dropout, BackwardDrawsTheMaskAgainOrKeepsIt) {
  EXPECT_FALSE(nn::redraw_dropout_masks(Device::cpu()));  // automatic: kept on the CPU
  EXPECT_TRUE(nn::redraw_dropout_masks(Device::cuda()));  // drawn again on a GPU
  for (auto policy : {nn::DropoutMasks::redraw, nn::DropoutMasks::keep}) {
    MasksPolicy scope(policy);
    const bool redraw = policy == nn::DropoutMasks::redraw;
    Generator gen(7), twin(7);
    Tensor x = ones({1 << 20}).requires_grad_(true);  // 4 MiB
    const int64_t before = cpu_memory_stats().allocated;
    Tensor y = nn::dropout(x, 0.5, true, gen);
    EXPECT_EQ(cpu_memory_stats().allocated - before, int64_t(redraw ? 4 : 8) << 20) << redraw;
    (void)rand({1 << 20}, {}, &twin);
    EXPECT_EQ(gen.offset(), twin.offset());
    (void)rand({1000}, {}, &gen);  // the generator moves on before the backward
    cj::backward(cj::sum(y));
    EXPECT_EQ(to_vector<float>(x.grad()), to_vector<float>(y)) << redraw;  // x = 1: y is the scaled mask
  }
}

// dropout_matmul(a, b) is matmul(dropout(a), b) with the same draws: the same output and gradients
// (batch dims of b broadcast and summed back), the generator left in the same state, no dropped copy
// of a kept (and with masks drawn again, no mask either), and a finite-difference check with the
// generator state fixed.
TEST(Dropout, DropoutMatmulIsMatmulOfDropoutWithoutKeepingTheDroppedCopy) {
  for (auto policy : {nn::DropoutMasks::redraw, nn::DropoutMasks::keep}) {
    MasksPolicy scope(policy);
    const bool redraw = policy == nn::DropoutMasks::redraw;
    Generator init(3);
    const Tensor a0 = rand({2, 3, 64, 40}, DType::f64, &init), b0 = rand({40, 8}, DType::f64, &init);
    auto run = [&](bool fused, Tensor& ga, Tensor& gb, Generator& gen) {
      Tensor a = clone(a0).requires_grad_(true), b = clone(b0).requires_grad_(true);
      Tensor y = fused ? nn::dropout_matmul(a, b, 0.3, true, gen) : cj::matmul(nn::dropout(a, 0.3, true, gen), b);
      cj::backward(cj::sum(cj::mul(y, cj::arange(0, 8, 1, DType::f64))));
      ga = a.grad(), gb = b.grad();
      return y;
    };
    Generator g1(9), g2(9);
    Tensor ga1, gb1, ga2, gb2;
    const Tensor fused = run(true, ga1, gb1, g1), plain = run(false, ga2, gb2, g2);
    EXPECT_EQ(to_vector<double>(fused), to_vector<double>(plain));
    EXPECT_EQ(to_vector<double>(ga1), to_vector<double>(ga2));
    const auto b1 = to_vector<double>(gb1), b2 = to_vector<double>(gb2);
    for (std::size_t i = 0; i < b1.size(); ++i) EXPECT_NEAR(b1[i], b2[i], 1e-12 * std::abs(b2[i]));  // sum order
    EXPECT_EQ(g1.offset(), g2.offset());

    Tensor a = rand({256, 256}).requires_grad_(true), b = rand({256, 4});
    const int64_t before = cpu_memory_stats().allocated;
    Generator gen(4);
    Tensor y = nn::dropout_matmul(a, b, 0.5, true, gen);
    EXPECT_EQ(cpu_memory_stats().allocated - before, 256 * 4 * 4 + (redraw ? 0 : 256 * 256 * 4)) << redraw;

    auto fixed_draws = [](const std::vector<Tensor>& in) {
      Generator g(21);
      return nn::dropout_matmul(in[0], in[1], 0.4, true, g);
    };
    EXPECT_TRUE(gradcheck(fixed_draws, {rand({2, 5, 6}, DType::f64, &init).requires_grad_(true),
                                        rand({6, 3}, DType::f64, &init).requires_grad_(true)}));
  }
}

// In training with dropout, without need_weights and with masks drawn again (a GPU's default),
// MultiheadAttention keeps only q, k and v for the backward (it computes the weights and the dropout
// mask again): the same output and gradients as the explicit path (need_weights = true) with the
// same draws, far less kept alive, and a finite-difference check with the generator state fixed.
TEST(MultiheadAttentionDropout, RecomputingPathMatchesTheExplicitOneAndKeepsNoWeights) {
  MasksPolicy scope(nn::DropoutMasks::redraw);
  Generator gen(31);
  nn::MultiheadAttention attn(16, 4, 0.2, true, /*batch_first=*/true, gen);
  attn.train();
  Generator data(2);
  const Tensor x0 = rand({3, 50, 16}, {}, &data);
  const Tensor padding = ops::gt(rand({3, 50}, {}, &data), 0.8);  // true = ignore that key
  auto run = [&](bool need_weights, std::vector<std::vector<float>>& grads, int64_t& kept_bytes) {
    gen.set_state(31, 1000);
    attn.zero_grad();
    Tensor x = clone(x0).requires_grad_(true);
    const int64_t before = cpu_memory_stats().allocated;
    Tensor y = attn.forward(x, x, x, padding, need_weights).output;
    kept_bytes = cpu_memory_stats().allocated - before;
    cj::backward(cj::sum(cj::mul(y, y)));
    grads = {to_vector<float>(x.grad()), to_vector<float>(attn.in_proj_weight.grad())};
    return to_vector<float>(y);
  };
  std::vector<std::vector<float>> g_fused, g_explicit;
  int64_t kept_fused = 0, kept_explicit = 0;
  const auto fused = run(false, g_fused, kept_fused), explicit_path = run(true, g_explicit, kept_explicit);
  EXPECT_EQ(fused, explicit_path);
  for (std::size_t t = 0; t < g_fused.size(); ++t)
    for (std::size_t i = 0; i < g_fused[t].size(); ++i)
      EXPECT_NEAR(g_fused[t][i], g_explicit[t][i], 1e-5 + 1e-5 * std::abs(g_explicit[t][i])) << t << " " << i;
  // The explicit path keeps the (3, 4, 50, 50) weights (120 kB) besides what both keep.
  const int64_t weights_bytes = 3 * 4 * 50 * 50 * 4;
  EXPECT_LE(kept_fused + weights_bytes, kept_explicit) << kept_fused << " vs " << kept_explicit;

  auto fixed_draws = [&](const std::vector<Tensor>& in) {
    gen.set_state(31, 7);
    return attn.forward(in[0], in[0], in[0], std::nullopt, false).output;
  };
  attn.to(DType::f64);
  EXPECT_TRUE(gradcheck(fixed_draws, {rand({1, 5, 16}, DType::f64, &data).requires_grad_(true)}));
}

TEST(GradientAccumulation, MicroBatchesEqualOneBatch) {
  Generator gen(1);
  nn::Linear full(6, 3, true, gen);
  nn::Linear accum(6, 3, true, gen);
  accum.load_state_dict(full.state_dict());
  Tensor x = randn({8, 6}, {}, &gen), y = randn({8, 3}, {}, &gen);
  cj::backward(nn::mse_loss(full(x), y));
  // Two micro-batches of 4: .grad accumulates across backward calls, then scale by 1/2.
  for (int64_t i = 0; i < 2; ++i)
    cj::backward(nn::mse_loss(accum(ops::narrow(x, 0, 4 * i, 4)), ops::narrow(y, 0, 4 * i, 4)));
  nn::scale_gradients(accum.parameters(), 0.5);
  EXPECT_LE(ops::max_rel_error(accum.weight.grad(), full.weight.grad()), 1e-6);
  EXPECT_LE(ops::max_rel_error(accum.bias.grad(), full.bias.grad()), 1e-6);
}

TEST(ModuleList, NamesChildrenByIndex) {
  nn::ModuleList<nn::Linear> blocks;
  blocks.push_back(std::make_shared<nn::Linear>(2, 2));
  blocks.push_back(std::make_shared<nn::Linear>(2, 3, false));
  auto names = blocks.named_parameters();
  ASSERT_EQ(names.size(), 3u);
  EXPECT_EQ(names[2].first, "1.weight");
  EXPECT_EQ(blocks[1]->out_features(), 3);
  EXPECT_THROW(blocks[2], Error);
}

TEST(TransformerEncoderLayer, StateDictHasPyTorchKeys) {
  nn::TransformerEncoderLayerOptions o;
  o.d_model = 8, o.nhead = 2, o.dim_feedforward = 16;
  nn::TransformerEncoderLayer layer(o);
  std::vector<std::string> keys;
  for (const auto& [k, _] : layer.state_dict()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"linear1.bias", "linear1.weight", "linear2.bias", "linear2.weight",
                                            "norm1.bias", "norm1.weight", "norm2.bias", "norm2.weight",
                                            "self_attn.in_proj_bias", "self_attn.in_proj_weight",
                                            "self_attn.out_proj.bias", "self_attn.out_proj.weight"}));
}

TEST(Layers, BadInputNamesTheLayerAndTheShapes) {
  nn::Linear linear(5, 4);
  EXPECT_NE(error_of([&] { linear(zeros({2, 6})); }).find("Linear: input [2, 6] does not end in 5"), std::string::npos);
  nn::Conv2d conv(3, 4, nn::Conv2dOptions::square(3));
  EXPECT_NE(error_of([&] { conv(zeros({1, 2, 5, 5})); }).find("Conv2d"), std::string::npos);
  EXPECT_THROW(nn::Conv2d(3, 4, nn::Conv2dOptions::square(3).with_groups(2)), Error);
  nn::MultiheadAttention mha(8, 2, 0.0, true, true);
  Tensor q = zeros({2, 3, 8});
  EXPECT_NE(error_of([&] { mha.forward(q, q, q, zeros({2, 4}, DType::b8)); }).find("key_padding_mask [2, 4]"),
            std::string::npos);
  EXPECT_THROW(nn::MultiheadAttention(10, 3), Error);
  nn::LayerNorm ln(6);
  EXPECT_NE(error_of([&] { ln(zeros({2, 5})); }).find("LayerNorm"), std::string::npos);
  nn::GRUCell gru(5, 6);
  EXPECT_NE(error_of([&] { gru.forward(zeros({3, 5}), zeros({3, 7})); }).find("GRUCell: hidden [3, 7]"),
            std::string::npos);
  nn::Embedding emb(10, 4);
  EXPECT_THROW(emb(zeros({2})), Error);  // float indices
}

TEST(Losses, BadInputNamesTheLoss) {
  Tensor logits = zeros({4, 5});
  EXPECT_NE(error_of([&] { nn::cross_entropy(logits, from_vector<int64_t>({0, 1, 5, 2}, {4})); })
                .find("outside [0, 5)"),
            std::string::npos);
  EXPECT_NE(error_of([&] { nn::cross_entropy(logits, from_vector<int64_t>({0, 1, 2}, {3})); }).find("target [3]"),
            std::string::npos);
  EXPECT_NE(error_of([&] { nn::mse_loss(zeros({2, 3}), zeros({3, 2})); }).find("mse_loss"), std::string::npos);
  // Every target ignored: mean is NaN, as torch.
  Tensor all_ignored = nn::cross_entropy(logits, from_vector<int64_t>({-100, -100, -100, -100}, {4}));
  EXPECT_TRUE(std::isnan(all_ignored.item<double>()));
}

TEST(Losses, BceWithLogitsIsStableAndExactAtZero) {
  Tensor x = tensor({-100.0f, 0.0f, 100.0f}).requires_grad_(true);
  Tensor t = tensor({1.0f, 0.5f, 0.0f});
  Tensor loss = nn::bce_with_logits(x, t, nn::Reduction::none);
  auto v = to_vector<float>(loss);
  EXPECT_NEAR(v[0], 100.0f, 1e-4);
  EXPECT_NEAR(v[1], std::log(2.0f), 1e-6);
  EXPECT_NEAR(v[2], 100.0f, 1e-4);
  cj::backward(cj::sum(loss));
  auto g = to_vector<float>(x.grad());  // sigmoid(x) - t
  EXPECT_NEAR(g[0], -1.0f, 1e-6);
  EXPECT_NEAR(g[1], 0.0f, 1e-6);
  EXPECT_NEAR(g[2], 1.0f, 1e-6);
}
