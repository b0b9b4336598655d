// The models on the GPU (nn::Module::to(cuda)): DINOv2 forward, the C-JEPA predictor's training step
// (masked forward + backward + one AdamW step), its per-sample-mask and inference paths, rollout,
// and checkpoints written from GPU models — each against the same model on the CPU, by the
// normalised error of gpu_test.hpp (outputs 1e-5 in f32; gradients and updated weights 1e-4, the
// spec's gradient bound; bf16 autocast 1e-2). Small configs keep the CPU side fast. Skips without
// a GPU, except the test that checks what asking for one says then.
#include <gtest/gtest.h>

#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>
#include <unistd.h>

#include "tests/temp_path.hpp"
#include "autograd/autocast.hpp"
#include "autograd/ops.hpp"
#include "models/cjepa_predictor.hpp"
#include "models/dinov2.hpp"
#include "models/rollout.hpp"
#include "nn/checkpoint.hpp"
#include "nn/grad_scaler.hpp"
#include "nn/optim/optimizer.hpp"
#include "tests/cuda/gpu_test.hpp"

using namespace cj;
using namespace cj::test;

namespace {

constexpr double kGradTol = 1e-4;

// Overwrites every parameter with uniform values in [-scale, scale) (zeros and ones at construction
// would hide mistakes).
void randomize(nn::Module& m, uint32_t seed, float scale) {
  for (auto& [name, p] : m.named_parameters()) ops::copy_(p, random_cpu(p.shape(), p.dtype(), seed++, -scale, scale));
}

// The GPU twin of a CPU model: built alike, given the CPU model's values, moved with Module::to.
template <typename M, typename Config>
std::unique_ptr<M> gpu_twin(const M& cpu, const Config& config) {
  auto twin = std::make_unique<M>(config);
  twin->load_state_dict(cpu.state_dict());
  twin->train(cpu.is_training());
  twin->to(Device::cuda());
  return twin;
}

double error_of(const Tensor& gpu, const Tensor& cpu) { return normalized_error(values(gpu), values(cpu)); }

// After optimizer steps on both: the GPU parameters are still on the GPU and within the gradient
// tolerance of the CPU ones, and the GPU optimizer's moments live there too.
void expect_updated_alike(const nn::NamedTensors& cpu_params, const nn::NamedTensors& gpu_params,
                          const nn::Optimizer& gpu_opt) {
  for (std::size_t i = 0; i < cpu_params.size(); ++i) {
    EXPECT_TRUE(gpu_params[i].second.is_cuda()) << gpu_params[i].first;
    EXPECT_LE(error_of(gpu_params[i].second, cpu_params[i].second), kGradTol) << cpu_params[i].first;
  }
  for (const auto& [key, t] : gpu_opt.state_dict()) {
    if (key.find("exp_avg") != std::string::npos) {
      EXPECT_TRUE(t.is_cuda()) << key;
    }
  }
}

models::Dinov2Config small_vit(int64_t registers) {
  models::Dinov2Config c;  // 2 blocks of width 64 (2 heads of 32), a 3x3 position table
  c.dim = 64;
  c.depth = 2;
  c.heads = 2;
  c.mlp_hidden = 256;
  c.pos_grid = 3;
  c.registers = registers;
  return c;
}

models::CjepaPredictorConfig small_predictor(double dropout) {
  models::CjepaPredictorConfig c;  // 2 blocks at D 32: 4 heads of 8 (the released head width), FFN 64
  c.depth = 2;
  c.heads = 4;
  c.dim = 32;
  c.ffn = 64;
  c.history = 4;
  c.preds = 3;
  c.dropout = dropout;
  return c;
}

}  // namespace

// Runs on every machine with the CUDA backend: without a GPU the request is one clear error
// naming the machine (not the build), and the model stays where it was.
TEST(ModelsGpu, AskingForCudaSaysWhyNot) {
  models::Dinov2 model(small_vit(0));
  const Tensor weight = model.named_parameters()[0].second;
  if (!cuda::query_devices().devices.empty()) {
    model.to(Device::cuda());
    EXPECT_TRUE(weight.is_cuda());
    EXPECT_THROW(model.to(Device::cuda(7)), Error);  // the backend runs on cuda:0 only
    return;
  }
  try {
    model.to(Device::cuda());
    FAIL() << "expected cj::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no CUDA device is usable on this machine"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(weight.is_cpu());
}

TEST(ModelsGpu, ToCudaAndBackKeepsHandlesValuesAndGradients) {
  CJ_REQUIRE_GPU();
  Generator gen(3);
  models::MaskedSlotPredictor model(small_predictor(0.0), gen);
  const nn::StateDict before = model.state_dict();
  std::map<std::string, std::vector<double>> want;
  for (const auto& [k, t] : before) want[k] = values(t);
  const Tensor pos = model.time_pos_embed;
  model.to(Device::cuda());
  EXPECT_TRUE(pos.is_cuda());
  EXPECT_TRUE(pos.is_same(model.time_pos_embed));
  EXPECT_TRUE(pos.is_leaf() && pos.requires_grad());
  EXPECT_EQ(model.device(), Device::cuda());
  const Tensor slots = to_gpu(random_cpu({2, 7, 3, 32}, DType::f32, 5));
  cj::backward(model.forward_masked(slots, {1}).loss);
  ASSERT_TRUE(pos.grad().defined());
  EXPECT_TRUE(pos.grad().is_cuda());
  model.to(Device::cpu());
  EXPECT_TRUE(pos.is_cpu() && pos.grad().is_cpu());
  for (const auto& [k, t] : model.state_dict()) EXPECT_EQ(values(t), want.at(k)) << k;  // exact both ways
}

TEST(ModelsGpu, Dinov2ForwardMatchesCpu) {
  CJ_REQUIRE_GPU();
  for (int64_t registers : {0, 1}) {
    models::Dinov2Config config = small_vit(registers);
    models::Dinov2 cpu(config);
    randomize(cpu, 11, 0.5f);
    cpu.eval();
    auto gpu = gpu_twin(cpu, config);
    models::Dinov2Request request;
    request.all_hidden_states = true;
    request.keys_of_block = 2;
    // 42x42: the 3x3 table as it is; 28x56: a 2x4 grid, the table resampled (bicubic)
    for (const Shape& shape : {Shape{2, 3, 42, 42}, Shape{2, 3, 28, 56}}) {
      const Tensor pixels = random_cpu(shape, DType::f32, 21);
      NoGradGuard no_grad;
      const models::Dinov2Outputs want = cpu.forward(pixels, request);
      const models::Dinov2Outputs got = gpu->forward(to_gpu(pixels), request);
      std::ostringstream what;
      what << "registers " << registers << ", pixels " << shape;
      EXPECT_TRUE(got.last_hidden_state.is_cuda());
      EXPECT_LE(error_of(got.last_hidden_state, want.last_hidden_state), tolerance(DType::f32)) << what.str();
      EXPECT_LE(error_of(got.keys, want.keys), tolerance(DType::f32)) << what.str();
      ASSERT_EQ(got.hidden_states.size(), want.hidden_states.size());
      for (std::size_t i = 0; i < want.hidden_states.size(); ++i)
        EXPECT_LE(error_of(got.hidden_states[i], want.hidden_states[i]), tolerance(DType::f32)) << what.str() << " state " << i;
    }
  }
}

TEST(ModelsGpu, Dinov2Bf16AutocastMatchesCpu) {
  CJ_REQUIRE_GPU();
  models::Dinov2Config config = small_vit(0);
  models::Dinov2 cpu(config);
  randomize(cpu, 31, 0.5f);
  cpu.eval();
  auto gpu = gpu_twin(cpu, config);
  const Tensor pixels = random_cpu({2, 3, 42, 42}, DType::f32, 41);
  NoGradGuard no_grad;
  AutocastGuard autocast(DType::bf16);
  const Tensor want = cpu.forward(pixels).last_hidden_state;
  const Tensor got = gpu->forward(to_gpu(pixels)).last_hidden_state;
  EXPECT_EQ(got.dtype(), want.dtype());
  EXPECT_LE(error_of(got, want), tolerance(DType::bf16));
}

// The optimizer of the GPU model is built BEFORE the move: its state follows the parameters.
TEST(ModelsGpu, PredictorTrainStepMatchesCpu) {
  CJ_REQUIRE_GPU();
  const models::CjepaPredictorConfig config = small_predictor(0.0);  // no dropout: no RNG stream to match
  Generator gen(7);
  models::MaskedSlotPredictor cpu(config, gen);
  auto gpu = std::make_unique<models::MaskedSlotPredictor>(config);
  gpu->load_state_dict(cpu.state_dict());
  nn::AdamOptions adam;
  adam.lr = 1e-2;
  nn::AdamW cpu_opt(cpu.parameters(), adam), gpu_opt(gpu->parameters(), adam);
  gpu->to(Device::cuda());

  const Tensor slots = random_cpu({3, config.total_steps(), 5, config.dim}, DType::f32, 9);
  const std::vector<int64_t> masked = {0, 3};
  const auto want = cpu.forward_masked(slots, masked);
  const auto got = gpu->forward_masked(to_gpu(slots), masked);
  EXPECT_LE(error_of(got.predictions, want.predictions), tolerance(DType::f32));
  EXPECT_NEAR(got.loss.item(), want.loss.item(), 1e-5 * std::abs(want.loss.item()));
  EXPECT_NEAR(got.loss_history.item(), want.loss_history.item(), 1e-5 * std::abs(want.loss_history.item()));

  cj::backward(want.loss);
  cj::backward(got.loss);
  const auto cpu_params = cpu.named_parameters(), gpu_params = gpu->named_parameters();
  for (std::size_t i = 0; i < cpu_params.size(); ++i)
    EXPECT_LE(error_of(gpu_params[i].second.grad(), cpu_params[i].second.grad()), kGradTol) << cpu_params[i].first;
  cpu_opt.step();
  gpu_opt.step();
  expect_updated_alike(cpu_params, gpu_params, gpu_opt);
}

// The training loop as train-predictor runs it on a GPU, with everything the plain step above leaves
// out: dropout drawing from the model's generator (the CPU and CUDA Philox streams must give the
// same masks), fused AdamW built before the move (its flat buffers adopt the state on the GPU),
// GradScaler's unscale_/found-inf on CUDA gradients and clip_grad_norm — two steps against the CPU.
TEST(ModelsGpu, PredictorTrainingWithDropoutFusedAdamScalerAndClipMatchesCpu) {
  CJ_REQUIRE_GPU();
  const models::CjepaPredictorConfig config = small_predictor(0.1);
  Generator cpu_gen(21), gpu_gen(21);  // one seed: the same initial weights and the same dropout masks
  models::MaskedSlotPredictor cpu(config, cpu_gen), gpu(config, gpu_gen);
  cpu.train();
  gpu.train();
  nn::AdamOptions adam;
  adam.lr = 1e-2;
  adam.fused = true;
  nn::AdamW cpu_opt(cpu.parameters(), adam), gpu_opt(gpu.parameters(), adam);
  nn::GradScalerOptions scaling;
  scaling.init_scale = 1024.0;
  nn::GradScaler cpu_scaler(scaling), gpu_scaler(scaling);
  gpu.to(Device::cuda());
  const Tensor slots = random_cpu({3, config.total_steps(), 5, config.dim}, DType::f32, 23);
  const Tensor gpu_slots = to_gpu(slots);
  const std::vector<int64_t> masked = {1, 4};
  for (int step = 0; step < 2; ++step) {
    const auto want = cpu.forward_masked(slots, masked);
    const auto got = gpu.forward_masked(gpu_slots, masked);
    EXPECT_LE(error_of(got.predictions, want.predictions), tolerance(DType::f32)) << "step " << step;
    cj::backward(cpu_scaler.scale(want.loss));
    cj::backward(gpu_scaler.scale(got.loss));
    cpu_scaler.unscale_(cpu_opt);
    gpu_scaler.unscale_(gpu_opt);
    const double cpu_norm = nn::clip_grad_norm(cpu.parameters(), 0.5);
    const double gpu_norm = nn::clip_grad_norm(gpu.parameters(), 0.5);
    EXPECT_NEAR(gpu_norm, cpu_norm, kGradTol * cpu_norm) << "step " << step;
    EXPECT_TRUE(cpu_scaler.step(cpu_opt)) << "step " << step;
    EXPECT_TRUE(gpu_scaler.step(gpu_opt)) << "step " << step;
    cpu_scaler.update();
    gpu_scaler.update();
    cpu_opt.zero_grad();
    gpu_opt.zero_grad();
  }
  const auto cpu_params = cpu.named_parameters(), gpu_params = gpu.named_parameters();
  expect_updated_alike(cpu_params, gpu_params, gpu_opt);

  // An inf in one CUDA gradient: the step is skipped on the GPU exactly as on the CPU.
  cj::backward(gpu_scaler.scale(gpu.forward_masked(gpu_slots, masked).loss));
  const std::vector<double> before = values(gpu_params[0].second);
  const Tensor& poisoned = gpu_params[2].second;
  poisoned.set_grad(ops::add(poisoned.grad(), std::numeric_limits<double>::infinity()));
  const double scale = gpu_scaler.get_scale();
  EXPECT_FALSE(gpu_scaler.step(gpu_opt));
  gpu_scaler.update();
  EXPECT_EQ(gpu_scaler.get_scale(), scale * scaling.backoff_factor);
  EXPECT_EQ(values(gpu_params[0].second), before);
}

// A copy between host and device waits for all queued GPU work (cuda/transfer.cpp), so a training
// step on a batch already on the GPU must make none: no index, mask or position tensor built on
// the host and uploaded mid-step, no value read back (fixed masks, as bench_predictor times).
TEST(ModelsGpu, PredictorTrainingStepMovesNothingBetweenHostAndDevice) {
  CJ_REQUIRE_GPU();
  const models::CjepaPredictorConfig config = small_predictor(0.1);
  Generator gen(25);
  models::MaskedSlotPredictor model(config, gen);
  model.train();
  model.to(Device::cuda());
  for (bool fused : {false, true}) {
    nn::AdamOptions adam;
    adam.fused = fused;
    nn::AdamW opt(model.parameters(), adam);
    const Tensor slots = to_gpu(random_cpu({2, config.total_steps(), 5, config.dim}, DType::f32, 27));
    for (int step = 0; step < 2; ++step) {  // the first step creates the optimizer state
      const int64_t before = ops::host_device_copies();
      cj::backward(model.forward_masked(slots, {0, 3}).loss);
      opt.step();
      opt.zero_grad();
      EXPECT_EQ(ops::host_device_copies(), before) << (fused ? "fused" : "unfused") << " AdamW, step " << step;
    }
  }
  // --mask random: the trainer counts its masks on the host, then moves them; the step reads nothing back
  const Tensor slots = to_gpu(random_cpu({2, config.total_steps(), 5, config.dim}, DType::f32, 28));
  const models::SampleMasks masks =
      models::SampleMasks::counted("test", from_vector<bool>({true, false, false, true, false, false, true, false, false, true},
                                                             {2, 5})).to(Device::cuda());
  nn::AdamW opt(model.parameters(), nn::AdamOptions{});
  const int64_t before = ops::host_device_copies();
  cj::backward(model.forward_masked_per_sample(slots, masks).loss);
  opt.step();
  EXPECT_EQ(ops::host_device_copies(), before) << "a per-sample-mask step";
}

TEST(ModelsGpu, PredictorPerSampleMasksAndInferenceMatchCpu) {
  CJ_REQUIRE_GPU();
  const models::CjepaPredictorConfig config = small_predictor(0.1);
  Generator gen(8);
  models::MaskedSlotPredictor cpu(config, gen);
  cpu.eval();  // dropout off: the paths compared here draw no random numbers
  auto gpu = gpu_twin(cpu, config);
  const Tensor slots = random_cpu({2, config.total_steps(), 4, config.dim}, DType::f32, 13);
  const Tensor hidden = from_vector<bool>({true, false, false, true, false, true, true, false}, {2, 4});
  const auto want = cpu.forward_masked_per_sample(slots, hidden);
  const auto got = gpu->forward_masked_per_sample(to_gpu(slots), to_gpu(hidden));
  EXPECT_LE(error_of(got.predictions, want.predictions), tolerance(DType::f32));
  EXPECT_NEAR(got.loss.item(), want.loss.item(), 1e-5 * std::abs(want.loss.item()));

  const Tensor history = ops::narrow(slots, 1, 0, 2);  // a short history: aligned to the table's end
  EXPECT_LE(error_of(gpu->inference(to_gpu(history), 3), cpu.inference(history, 3)), tolerance(DType::f32));
  EXPECT_THROW(gpu->inference(history, 3), Error);  // CPU slots for a GPU model: one clear error
}

TEST(ModelsGpu, RolloutMatchesCpu) {
  CJ_REQUIRE_GPU();
  const models::CjepaPredictorConfig config = small_predictor(0.0);
  Generator gen(9);
  models::MaskedSlotPredictor cpu(config, gen);
  cpu.eval();
  auto gpu = gpu_twin(cpu, config);
  models::RolloutConfig rollout;
  rollout.obs_frames = 12;
  rollout.target_len = 19;
  rollout.frameskip = 2;
  const Tensor videos = random_cpu({2, 12, 3, config.dim}, DType::f32, 17);
  const Tensor want = models::rollout_slots(cpu, videos, rollout);
  const Tensor got = models::rollout_slots(*gpu, videos, rollout);  // CPU videos: moved to the model
  EXPECT_TRUE(got.is_cuda());
  EXPECT_EQ(got.shape(), want.shape());
  EXPECT_LE(error_of(got, want), tolerance(DType::f32));
}

// Checkpoints are written from CPU copies: a GPU run's file loads into a CPU model exactly.
TEST(ModelsGpu, CheckpointFromGpuLoadsOnCpu) {
  CJ_REQUIRE_GPU();
  const models::CjepaPredictorConfig config = small_predictor(0.0);
  Generator gen(10);
  models::MaskedSlotPredictor gpu(config, gen);
  gpu.to(Device::cuda());
  nn::AdamW opt(gpu.parameters(), {});
  cj::backward(gpu.forward_masked(to_gpu(random_cpu({2, config.total_steps(), 3, config.dim}, DType::f32, 19)), {2}).loss);
  opt.step();
  const std::string path = cj::test::unique_temp_path("cj_test_models_gpu.safetensors").string();
  nn::save_checkpoint(path, gpu, &opt, 1, gen);
  models::MaskedSlotPredictor cpu(config);
  nn::AdamW cpu_opt(cpu.parameters(), {});
  nn::load_checkpoint(path, cpu, &cpu_opt);
  std::filesystem::remove(path);
  const auto a = gpu.state_dict();
  for (const auto& [key, t] : cpu.state_dict()) EXPECT_EQ(values(t), values(a.at(key))) << key;
  const auto sa = opt.state_dict();
  for (const auto& [key, t] : cpu_opt.state_dict()) {
    EXPECT_TRUE(t.is_cpu()) << key;
    EXPECT_EQ(values(t), values(sa.at(key))) << key;
  }
}
