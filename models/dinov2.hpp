#pragma once
// DINOv2 ViT (S/14, B/14, L/14 and their -with-registers variants) computing exactly what Hugging Face
// transformers 5.24.0 computes in `Dinov2Model` / `Dinov2WithRegistersModel` (modeling_dinov2.py,
// modeling_dinov2_with_registers.py), in eval mode (dropout and drop-path are 0 there anyway):
//
//   tokens = [CLS, patch_embed(pixels)] + pos_table interpolated to the patch grid
//            (then, with registers, [CLS, registers, patches])
//   each block: x = x + ls1 * attn(norm1(x)); x = x + ls2 * mlp(norm2(x))     (pre-LN, LayerScale)
//   last_hidden_state = layernorm(x)
//
// The module's parameter names are the Hugging Face checkpoint's (model.safetensors of
// facebook/dinov2-*), so a HF state dict loads as it is; load_dinov2 also reads timm's and the
// official facebookresearch/dinov2 hub names and maps them onto these.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "nn/nn.hpp"

namespace cj::models {

struct Dinov2Config {
  int64_t dim = 384;          // hidden size C
  int64_t depth = 12;         // blocks
  int64_t heads = 6;          // head width = dim / heads (64 for every released DINOv2)
  int64_t mlp_hidden = 1536;  // fc1 width (4 * dim)
  int64_t patch = 14;
  int64_t registers = 0;      // register tokens (4 for the -reg4 / with-registers checkpoints)
  int64_t pos_grid = 37;      // the learned position table covers pos_grid x pos_grid patches (+ CLS)
  double ln_eps = 1e-6;
  bool layerscale = true;     // every released DINOv2 has LayerScale; false drops ls1/ls2
  // HF's with-registers model resamples the position table with antialias=True, the plain one
  // without; the model follows `registers > 0` unless this says otherwise (pos_antialias_on()).
  int pos_antialias = -1;     // -1: as HF (registers > 0), 0: off, 1: on
  bool pos_antialias_on() const { return pos_antialias < 0 ? registers > 0 : pos_antialias != 0; }
  int64_t tokens_for(int64_t grid_h, int64_t grid_w) const { return 1 + registers + grid_h * grid_w; }
};

struct Dinov2Request {
  bool all_hidden_states = false;  // HF output_hidden_states: embeddings + every block's output
  int64_t keys_of_block = 0;       // 1-based block whose attention keys to return; 0 = none
};

struct Dinov2Outputs {
  Tensor last_hidden_state;           // (B, 1+R+P, C) after the final LayerNorm
  std::vector<Tensor> hidden_states;  // depth+1 tensors (B, 1+R+P, C) when requested: embeddings, then each
                                      // block's output (before the final LayerNorm), HF's order
  Tensor keys;                        // (B, 1+R+P, C): key(norm1(input of block k)), all heads concatenated,
                                      // bias included (reference.md §1 vit_block_keys12); undefined if not asked
};

// HF Dinov2Layer with its checkpoint names: norm1, attention.attention.{query,key,value},
// attention.output.dense, layer_scale1.lambda1, norm2, mlp.fc1, mlp.fc2, layer_scale2.lambda1.
class Dinov2Block : public nn::Module {
 public:
  explicit Dinov2Block(const Dinov2Config& config);
  // x: (B, N, C) -> (B, N, C). keys, when given, receives key(norm1(x)): (B, N, C), heads concatenated.
  Tensor forward(const Tensor& x, Tensor* keys = nullptr);

  std::shared_ptr<nn::LayerNorm> norm1, norm2;
  std::shared_ptr<nn::Linear> query, key, value, out_proj, fc1, fc2;  // q, k, v run as one (3C, C) GEMM
  Tensor lambda1, lambda2;  // LayerScale (C); undefined without layerscale

 private:
  int64_t heads_;
};

class Dinov2 : public nn::Module {
 public:
  explicit Dinov2(const Dinov2Config& config);

  // pixels: (B, 3, H, W) float, ImageNet-normalised; H and W multiples of the patch size.
  Dinov2Outputs forward(const Tensor& pixels, const Dinov2Request& request = {});

  // The position table for a gh x gw patch grid: (1, 1 + gh*gw, C), CLS row first. The stored table
  // when the grid matches it (and, as HF, the image is square), else its patch part resampled bicubically.
  Tensor position_embeddings_for(int64_t grid_h, int64_t grid_w, bool square_image);

  // pixels: (B, 3, H, W) -> (B, gh*gw, C): one GEMM over the unfolded non-overlapping patches.
  Tensor embed_patches(const Tensor& pixels);

  const Dinov2Config& config() const { return config_; }

  // embeddings.*: cls_token (1, 1, C), mask_token (1, C) (unused at inference, kept so checkpoints load
  // strictly), position_embeddings (1, 1 + pos_grid^2, C), register_tokens (1, R, C) when R > 0,
  // patch_embeddings.projection.{weight (C, 3, p, p), bias (C)}; encoder.layer.<i>.*; layernorm.*.
  Tensor cls_token, mask_token, position_embeddings, register_tokens, patch_weight, patch_bias;
  std::shared_ptr<nn::ModuleList<Dinov2Block>> layers;
  std::shared_ptr<nn::LayerNorm> layernorm;

 private:
  Dinov2Config config_;
};

// Reads a DINOv2 checkpoint and builds the model it describes. Accepted layouts, told apart by the
// tensor names (a leading "module."/"model."/"backbone." is not stripped; the names must be these):
//   * Hugging Face (facebook/dinov2-*[-with-registers] model.safetensors, or a .bin/.pth state dict):
//     embeddings.cls_token, embeddings.position_embeddings, embeddings.patch_embeddings.projection.*,
//     encoder.layer.N.attention.attention.{query,key,value}.*, ... (transformers 5's in-memory names
//     attention.{q,k,v,o}_proj are accepted as well), layernorm.*
//   * timm (vit_*_patch14_dinov2[.lvd142m], vit_*_patch14_reg4_dinov2): cls_token, pos_embed,
//     [reg_token], patch_embed.proj.*, blocks.N.{norm1, attn.qkv (fused), attn.proj, ls1.gamma, norm2,
//     mlp.fc1, mlp.fc2, ls2.gamma}, norm.*
//   * the facebookresearch/dinov2 hub files (dinov2_vit?14[_reg4]_pretrain.pth): timm's names plus
//     mask_token, and register_tokens for the registers variant.
// The config (dim, depth, heads = dim / 64, mlp width, patch, registers, position grid) comes from the
// tensor shapes. Anything else (no tensors of a known layout, a missing or misshaped tensor, an unknown
// extra key, SwiGLU/ViT-g weights) throws one cj::Error naming the file, the key and what was expected.
std::shared_ptr<Dinov2> load_dinov2(const std::string& path);

// The same from tensors already in memory (`source` names them in errors).
std::shared_ptr<Dinov2> load_dinov2(const std::map<std::string, Tensor>& tensors, const std::string& source);

}  // namespace cj::models
