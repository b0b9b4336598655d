#include "models/dinov2.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "autograd/ops.hpp"
#include "nn/init.hpp"
#include "tensor/error.hpp"

namespace cj::models {

namespace {

// A module that only names things, for the checkpoint's intermediate levels ("attention.attention",
// "layer_scale1", "embeddings", ...).
class NameScope : public nn::Module {
 public:
  Tensor param(const std::string& name, Tensor t) { return register_parameter(name, std::move(t)); }
  template <typename M>
  std::shared_ptr<M> child(const std::string& name, std::shared_ptr<M> m) {
    return register_module(name, std::move(m));
  }
};

// HF's _init_weights: truncated normal (std = initializer_range 0.02) for weights, zero biases.
std::shared_ptr<nn::Linear> make_linear(int64_t in, int64_t out) {
  auto l = std::make_shared<nn::Linear>(in, out);
  nn::init::trunc_normal_(l->weight, 0.0, 0.02, -2.0, 2.0);
  nn::init::zeros_(l->bias);
  return l;
}

// linear(x) scaled per output feature by LayerScale's lambda (undefined: no scaling). lambda is folded
// into the (out, in) weight rows and the bias when that is the smaller product, which saves a pass
// over every (rows, out) activation; (l(x)) * lambda and l_lambda(x) differ only in rounding, and
// both stay differentiable in x, the weights and lambda.
// x: (..., in) -> (..., out)
Tensor scaled_linear(nn::Linear& l, const Tensor& x, const Tensor& lambda) {
  if (!lambda.defined()) return l.forward(x);
  const int64_t rows = x.numel() / x.size(-1), in = l.weight.size(1);
  if (rows < in) return cj::mul(l.forward(x), lambda);
  const std::optional<Tensor> bias = l.bias.defined() ? std::optional<Tensor>(cj::mul(l.bias, lambda)) : std::nullopt;
  return cj::linear(x, cj::mul(l.weight, cj::unsqueeze(lambda, 1)), bias);
}

}  // namespace

Dinov2Block::Dinov2Block(const Dinov2Config& config) : heads_(config.heads) {
  const int64_t c = config.dim;
  norm1 = register_module("norm1", std::make_shared<nn::LayerNorm>(c, config.ln_eps));
  auto attention = register_module("attention", std::make_shared<NameScope>());
  auto self_attention = attention->child("attention", std::make_shared<NameScope>());
  query = self_attention->child("query", make_linear(c, c));
  key = self_attention->child("key", make_linear(c, c));
  value = self_attention->child("value", make_linear(c, c));
  out_proj = attention->child("output", std::make_shared<NameScope>())->child("dense", make_linear(c, c));
  if (config.layerscale)
    lambda1 = register_module("layer_scale1", std::make_shared<NameScope>())->param("lambda1", ones({c}));
  norm2 = register_module("norm2", std::make_shared<nn::LayerNorm>(c, config.ln_eps));
  auto mlp = register_module("mlp", std::make_shared<NameScope>());
  fc1 = mlp->child("fc1", make_linear(c, config.mlp_hidden));
  fc2 = mlp->child("fc2", make_linear(config.mlp_hidden, c));
  if (config.layerscale)
    lambda2 = register_module("layer_scale2", std::make_shared<NameScope>())->param("lambda1", ones({c}));
}

// x: (B, N, C) -> (B, N, C)
Tensor Dinov2Block::forward(const Tensor& x, Tensor* keys) {
  const int64_t b = x.size(0), n = x.size(1), c = x.size(2), d = c / heads_;
  Tensor h = norm1->forward(x);
  // One GEMM for query, key and value (the checkpoint keeps them apart): (B, N, C) -> (B, N, 3C).
  Tensor qkv = cj::linear(h, cj::cat({query->weight, key->weight, value->weight}, 0),
                          cj::cat({query->bias, key->bias, value->bias}, 0));
  auto part = [&](int64_t i) { return cj::narrow(qkv, 2, i * c, c); };  // (B, N, C) view
  if (keys) *keys = cj::contiguous(part(1));
  // (B, N, C) -> (B, H, N, d)
  auto split_heads = [&](const Tensor& t) { return cj::transpose(cj::unflatten(t, 2, {heads_, d}), 1, 2); };
  Tensor attn = scaled_dot_product_attention(split_heads(part(0)), split_heads(part(1)), split_heads(part(2)),
                                             std::nullopt, 1.0 / std::sqrt(double(d)));
  attn = scaled_linear(*out_proj, cj::reshape(cj::transpose(attn, 1, 2), {b, n, c}), lambda1);  // (B, N, C)
  Tensor y = cj::add(x, attn);
  // exact (erf) GELU, HF's "gelu"
  return cj::add(y, scaled_linear(*fc2, cj::gelu(fc1->forward(norm2->forward(y))), lambda2));
}

Dinov2::Dinov2(const Dinov2Config& config) : config_(config) {
  const Dinov2Config& k = config;
  CJ_CHECK(k.dim > 0 && k.heads > 0 && k.dim % k.heads == 0, "Dinov2: dim (", k.dim,
           ") must be a positive multiple of heads (", k.heads, ")");
  CJ_CHECK(k.depth >= 1 && k.mlp_hidden >= 1 && k.patch >= 1 && k.registers >= 0 && k.pos_grid >= 1,
           "Dinov2: need depth, mlp_hidden, patch, pos_grid >= 1 and registers >= 0, got depth ", k.depth,
           ", mlp_hidden ", k.mlp_hidden, ", patch ", k.patch, ", pos_grid ", k.pos_grid, ", registers ", k.registers);
  const int64_t c = k.dim;
  auto embeddings = register_module("embeddings", std::make_shared<NameScope>());
  cls_token = embeddings->param("cls_token", zeros({1, 1, c}));
  mask_token = embeddings->param("mask_token", zeros({1, c}));
  position_embeddings = embeddings->param("position_embeddings", zeros({1, 1 + k.pos_grid * k.pos_grid, c}));
  nn::init::trunc_normal_(cls_token, 0.0, 0.02, -2.0, 2.0);
  nn::init::trunc_normal_(position_embeddings, 0.0, 0.02, -2.0, 2.0);
  if (k.registers > 0) register_tokens = embeddings->param("register_tokens", zeros({1, k.registers, c}));
  auto projection = embeddings->child("patch_embeddings", std::make_shared<NameScope>())
                        ->child("projection", std::make_shared<NameScope>());
  patch_weight = projection->param("weight", zeros({c, 3, k.patch, k.patch}));
  patch_bias = projection->param("bias", zeros({c}));
  nn::init::trunc_normal_(patch_weight, 0.0, 0.02, -2.0, 2.0);
  layers = register_module("encoder", std::make_shared<NameScope>())
               ->child("layer", std::make_shared<nn::ModuleList<Dinov2Block>>());
  for (int64_t i = 0; i < k.depth; ++i) layers->push_back(std::make_shared<Dinov2Block>(k));
  layernorm = register_module("layernorm", std::make_shared<nn::LayerNorm>(c, k.ln_eps));
}

// pixels: (B, 3, H, W) -> (B, gh*gw, C). The stride-p, kernel-p convolution is a GEMM of the
// unfolded patches (B*gh*gw, 3*p*p), flattened in the weight's (c, ky, kx) order, by weight^T.
Tensor Dinov2::embed_patches(const Tensor& pixels) {
  const int64_t b = pixels.size(0), h = pixels.size(2), w = pixels.size(3), p = config_.patch;
  const int64_t gh = h / p, gw = w / p, c = config_.dim;
  Tensor patches = cj::view(pixels, {b, 3, gh, p, gw, p});
  patches = cj::reshape(cj::permute(patches, {0, 2, 4, 1, 3, 5}), {b * gh * gw, 3 * p * p});
  Tensor out = cj::linear(patches, cj::reshape(patch_weight, {c, 3 * p * p}), patch_bias);
  return cj::view(out, {b, gh * gw, c});
}

// -> (1, 1 + gh*gw, C). As transformers' interpolate_pos_encoding: the table as it is when the patch
// count equals the table's and the image is square; otherwise the patch rows, as a (1, C, G, G)
// image, resized with size=(gh, gw) (not scale_factor), bicubic, align_corners=False, antialias only
// for the with-registers model, computed in f32.
Tensor Dinov2::position_embeddings_for(int64_t grid_h, int64_t grid_w, bool square_image) {
  const int64_t g = config_.pos_grid, c = config_.dim;
  if (grid_h * grid_w == g * g && square_image) return position_embeddings;
  Tensor class_pos = cj::narrow(position_embeddings, 1, 0, 1);  // (1, 1, C)
  Tensor grid = cj::permute(cj::view(cj::narrow(position_embeddings, 1, 1, g * g), {1, g, g, c}), {0, 3, 1, 2});
  InterpolateParams params;
  params.out_h = grid_h;
  params.out_w = grid_w;
  params.mode = InterpMode::bicubic;
  params.align_corners = false;
  params.antialias = config_.pos_antialias_on();
  const DType dtype = position_embeddings.dtype();
  Tensor resized = cj::to(cj::interpolate(cj::to(grid, DType::f32), params), dtype);  // (1, C, gh, gw)
  Tensor patch_pos = cj::reshape(cj::permute(resized, {0, 2, 3, 1}), {1, grid_h * grid_w, c});
  return cj::cat({class_pos, patch_pos}, 1);
}

Dinov2Outputs Dinov2::forward(const Tensor& pixels, const Dinov2Request& request) {
  const int64_t p = config_.patch, c = config_.dim;
  CJ_CHECK(pixels.defined() && pixels.dim() == 4 && pixels.size(1) == 3,
           "Dinov2: expected pixels of shape (B, 3, H, W), got ", pixels.defined() ? pixels.shape() : Shape{});
  CJ_CHECK(is_floating(pixels.dtype()), "Dinov2: pixels must be floating point, got ", dtype_name(pixels.dtype()));
  const int64_t b = pixels.size(0), h = pixels.size(2), w = pixels.size(3);
  CJ_CHECK(b >= 1 && h >= p && w >= p && h % p == 0 && w % p == 0, "Dinov2: image size ", h, "x", w,
           " (pixels ", pixels.shape(), ") must be a positive multiple of the patch size ", p,
           " in both dimensions, e.g. ", std::max<int64_t>(1, h / p) * p, "x", std::max<int64_t>(1, w / p) * p);
  CJ_CHECK(request.keys_of_block >= 0 && request.keys_of_block <= config_.depth, "Dinov2: keys_of_block ",
           request.keys_of_block, " is not a block of this model (1..", config_.depth, ", or 0 for none)");
  const int64_t gh = h / p, gw = w / p;
  CJ_CHECK(pixels.device() == patch_weight.device(), "Dinov2: pixels are on ", pixels.device().str(),
           " but the model is on ", patch_weight.device().str(), "; move them there first (ops::to)");

  // (B, 1 + P, C): [CLS, patches] + positions; then (B, 1 + R + P, C) with the registers after CLS.
  Tensor x = cj::cat({cj::expand(cls_token, {b, 1, c}), embed_patches(cj::to(pixels, patch_weight.dtype()))}, 1);
  x = cj::add(x, position_embeddings_for(gh, gw, h == w));
  if (config_.registers > 0)
    x = cj::cat({cj::narrow(x, 1, 0, 1), cj::expand(register_tokens, {b, config_.registers, c}),
                 cj::narrow(x, 1, 1, gh * gw)},
                1);

  Dinov2Outputs out;
  if (request.all_hidden_states) out.hidden_states.push_back(x);
  for (int64_t i = 0; i < config_.depth; ++i) {
    const bool want_keys = request.keys_of_block == i + 1;
    x = (*layers)[std::size_t(i)]->forward(x, want_keys ? &out.keys : nullptr);
    if (request.all_hidden_states) out.hidden_states.push_back(x);
  }
  out.last_hidden_state = layernorm->forward(x);
  return out;
}

}  // namespace cj::models
