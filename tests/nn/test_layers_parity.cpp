// Every layer and loss against PyTorch (tests/fixtures/nn/<name>.safetensors, written by
// tools/fixtures/nn_layers.py): the PyTorch parameters load by their own names (strict), then
// outputs must agree to 1e-5 and input and parameter gradients to 1e-4 (max|a-b| / max|b|).
#include <gtest/gtest.h>

#include <functional>

#include "autograd/ops.hpp"
#include "fixture.hpp"
#include "nn/nn.hpp"
#include "tensor/ops.hpp"

using namespace cj;
using cj::test::Fixture;
using cj::test::load_fixture;
using cj::test::rel_error;
using Named = std::map<std::string, Tensor>;

namespace {

constexpr double kOutputTol = 1e-5, kGradTol = 1e-4;

// Loads the fixture's parameters into `module` (may be null for losses), runs `forward` on fresh
// copies of its inputs (floating ones requiring grad), backpropagates sum(output * grad_output)
// and compares everything the fixture recorded.
void check_parity(const std::string& name, nn::Module* module, const std::function<Named(const Named&)>& forward) {
  SCOPED_TRACE(name);
  Fixture f = load_fixture(name);
  if (module) module->load_state_dict(f.with_prefix("param."));
  Named inputs;
  for (const auto& [k, v] : f.with_prefix("input.")) {
    Tensor t = ops::clone(v);
    if (is_floating(t.dtype())) t.requires_grad_(true);
    inputs[k] = t;
  }
  Named outputs = forward(inputs);
  Named expected = f.with_prefix("output.");
  ASSERT_EQ(outputs.size(), expected.size());
  Tensor loss;
  double worst_out = 0, worst_grad = 0;
  for (const auto& [k, out] : outputs) {
    ASSERT_TRUE(expected.count(k)) << "output " << k;
    const double err = rel_error(out, expected.at(k));
    EXPECT_LE(err, kOutputTol) << "output " << k;
    worst_out = std::max(worst_out, err);
    Tensor term = cj::sum(cj::mul(out, f.at("grad_output." + k)));
    loss = loss.defined() ? cj::add(loss, term) : term;
  }
  cj::backward(loss);
  for (const auto& [k, g] : f.with_prefix("grad_input.")) {
    ASSERT_TRUE(inputs.at(k).grad().defined()) << "no gradient reached input " << k;
    const double err = rel_error(inputs.at(k).grad(), g);
    EXPECT_LE(err, kGradTol) << "grad of input " << k;
    worst_grad = std::max(worst_grad, err);
  }
  if (module) {
    Named params;
    for (const auto& [k, p] : module->named_parameters()) params[k] = p;
    for (const auto& [k, g] : f.with_prefix("grad_param.")) {
      ASSERT_TRUE(params.count(k)) << "parameter " << k;
      ASSERT_TRUE(params.at(k).grad().defined()) << "no gradient reached parameter " << k;
      const double err = rel_error(params.at(k).grad(), g);
      EXPECT_LE(err, kGradTol) << "grad of parameter " << k;
      worst_grad = std::max(worst_grad, err);
    }
  }
  std::printf("  %-28s output %.2e  grads %.2e\n", name.c_str(), worst_out, worst_grad);
}

// For one-input modules: fixture input "x", output "out".
void check_unary(const std::string& name, nn::UnaryModule& m) {
  check_parity(name, &m, [&](const Named& in) { return Named{{"out", m.forward(in.at("x"))}}; });
}

nn::Reduction reduction_of(const std::string& s) {
  return s == "none" ? nn::Reduction::none : s == "sum" ? nn::Reduction::sum : nn::Reduction::mean;
}

}  // namespace

TEST(LayerParity, Linear) {
  nn::Linear with_bias(5, 4), without_bias(5, 4, false);
  check_unary("linear", with_bias);
  check_unary("linear_nobias", without_bias);
}

TEST(LayerParity, LayerNorm) {
  nn::LayerNorm affine(6), plain(6, 1e-6, /*elementwise_affine=*/false);
  check_unary("layer_norm", affine);
  check_unary("layer_norm_noaffine_eps6", plain);
}

TEST(LayerParity, Embedding) {
  nn::Embedding emb(10, 4);
  check_parity("embedding", &emb, [&](const Named& in) { return Named{{"out", emb(in.at("index"))}}; });
}

TEST(LayerParity, Activations) {
  nn::ReLU relu;
  nn::GELU gelu, gelu_tanh(ops::GeluApprox::tanh);
  check_unary("relu", relu);
  check_unary("gelu", gelu);
  check_unary("gelu_tanh", gelu_tanh);
}

TEST(LayerParity, SequentialKeepsPyTorchIndices) {
  nn::Sequential seq({std::make_shared<nn::Linear>(4, 8), std::make_shared<nn::ReLU>(),
                      std::make_shared<nn::Linear>(8, 3)});
  auto names = seq.named_parameters();
  ASSERT_EQ(names.size(), 4u);
  EXPECT_EQ(names[0].first, "0.weight");
  EXPECT_EQ(names[3].first, "2.bias");
  check_unary("sequential", seq);
}

TEST(LayerParity, MultiheadAttentionBatchFirstWithPaddingAndWeights) {
  nn::MultiheadAttention mha(8, 2, 0.0, true, /*batch_first=*/true);
  check_parity("mha", &mha, [&](const Named& in) {
    auto r = mha.forward(in.at("query"), in.at("key"), in.at("value"), in.at("key_padding_mask"),
                         /*need_weights=*/true);
    return Named{{"out", r.output}, {"weights", r.weights}};
  });
}

TEST(LayerParity, MultiheadAttentionSequenceFirstSelfAttention) {
  nn::MultiheadAttention mha(8, 4);
  check_parity("mha_self_seq_first", &mha, [&](const Named& in) {
    const Tensor& x = in.at("x");
    auto r = mha.forward(x, x, x, std::nullopt, /*need_weights=*/false);
    EXPECT_FALSE(r.weights.defined());
    return Named{{"out", r.output}};
  });
}

TEST(LayerParity, TransformerEncoderLayerPostNormReluWithPadding) {
  nn::TransformerEncoderLayerOptions o;
  o.d_model = 8, o.nhead = 2, o.dim_feedforward = 16, o.dropout = 0.0, o.batch_first = true;
  nn::TransformerEncoderLayer layer(o);
  check_parity("encoder_layer_post_relu", &layer, [&](const Named& in) {
    return Named{{"out", layer.forward(in.at("x"), std::nullopt, in.at("src_key_padding_mask"))}};
  });
}

TEST(LayerParity, TransformerEncoderLayerPreNormGelu) {
  nn::TransformerEncoderLayerOptions o;
  o.d_model = 8, o.nhead = 2, o.dim_feedforward = 16, o.dropout = 0.0, o.batch_first = true;
  o.activation = nn::Activation::gelu, o.norm_first = true, o.layer_norm_eps = 1e-6;
  nn::TransformerEncoderLayer layer(o);
  check_parity("encoder_layer_pre_gelu", &layer,
               [&](const Named& in) { return Named{{"out", layer.forward(in.at("x"))}}; });
}

TEST(LayerParity, GRUCell) {
  nn::GRUCell cell(5, 6);
  check_parity("gru_cell", &cell, [&](const Named& in) { return Named{{"out", cell.forward(in.at("x"), in.at("h"))}}; });
}

TEST(LayerParity, Convolutions) {
  nn::Conv1d conv1d(4, 6, 1);
  check_unary("conv1d_k1", conv1d);
  nn::Conv2d conv(3, 4, nn::Conv2dOptions::square(3).with_stride(2).with_padding(1));
  check_unary("conv2d_k3s2p1", conv);
  nn::Conv2d conv5(2, 3, nn::Conv2dOptions::square(5).with_padding(2).with_bias(false));
  check_unary("conv2d_k5p2_nobias", conv5);
  nn::ConvTranspose2d deconv(4, 3, nn::Conv2dOptions::square(5).with_stride(2).with_padding(2).with_output_padding(1));
  check_unary("conv_transpose2d", deconv);
}

TEST(LossParity, AllReductions) {
  for (const std::string red : {"none", "mean", "sum"}) {
    const nn::Reduction r = reduction_of(red);
    check_parity("loss_mse_" + red, nullptr, [&](const Named& in) {
      return Named{{"out", nn::mse_loss(in.at("input"), in.at("target"), r)}};
    });
    check_parity("loss_ce_index_" + red, nullptr, [&](const Named& in) {
      return Named{{"out", nn::cross_entropy(in.at("input"), in.at("target"), r)}};
    });
    check_parity("loss_ce_soft_" + red, nullptr, [&](const Named& in) {
      return Named{{"out", nn::cross_entropy(in.at("input"), in.at("target"), r)}};
    });
    check_parity("loss_bce_logits_" + red, nullptr, [&](const Named& in) {
      return Named{{"out", nn::bce_with_logits(in.at("input"), in.at("target"), r)}};
    });
    check_parity("loss_gaussian_kl_" + red, nullptr, [&](const Named& in) {
      return Named{{"out", nn::gaussian_kl(in.at("mu"), in.at("logvar"), in.at("prior_mu"), in.at("prior_logvar"), r)}};
    });
  }
}

TEST(LossParity, CrossEntropySpatialWithIgnoredTargets) {
  check_parity("loss_ce_index_spatial_ignore", nullptr, [&](const Named& in) {
    return Named{{"out", nn::cross_entropy(in.at("input"), in.at("target"), nn::Reduction::mean, -1)}};
  });
}
