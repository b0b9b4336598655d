// Our own checkpoints: model + optimizer + step + RNG + config in one atomically written file, and
// resuming that continues bit-identically to a run that never stopped.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "tests/temp_path.hpp"
#include "autograd/ops.hpp"
#include "nn/nn.hpp"
#include "tensor/io/safetensors.hpp"
#include "tensor/ops.hpp"

using namespace cj;
namespace fs = std::filesystem;

namespace {

// A small model with dropout, so the generator state matters for the continuation.
struct Net : nn::Module {
  std::shared_ptr<nn::Sequential> body;
  Net(Generator& init, Generator& noise) {
    body = register_module("body", std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::UnaryModule>>{
                                       std::make_shared<nn::Linear>(6, 16, true, init), std::make_shared<nn::GELU>(),
                                       std::make_shared<nn::Dropout>(0.2, noise),
                                       std::make_shared<nn::Linear>(16, 3, true, init)}));
  }
};

struct TrainingRun {
  Generator init, noise;
  Net net;
  nn::AdamW optimizer;
  nn::LRScheduler scheduler;
  explicit TrainingRun(uint64_t init_seed)
      : init(init_seed), noise(99), net(init, noise), optimizer(net.parameters(), nn::AdamOptions{}),
        scheduler(optimizer, std::make_shared<nn::CosineSchedule>(10, 2, 0.1, 1e-5)) {}

  // One step on a batch drawn from the noise generator (as a data loader's shuffling would).
  void step() {
    Tensor x = randn({8, 6}, {}, &noise), y = randn({8, 3}, {}, &noise);
    cj::backward(nn::mse_loss(net.body->forward(x), y));
    nn::clip_grad_norm(net.parameters(), 0.5);
    optimizer.step();
    optimizer.zero_grad();
    scheduler.step();
  }
};

std::string temp_path(const std::string& name) {
  return cj::test::unique_temp_path("cj_test_checkpoint_" + name).string();
}

}  // namespace

TEST(Checkpoint, ResumeContinuesBitIdentically) {
  const int total = 6, split = 3;
  TrainingRun straight(1);
  for (int s = 0; s < total; ++s) straight.step();

  const std::string path = temp_path("resume.safetensors");
  {
    TrainingRun first(1);
    for (int s = 0; s < split; ++s) first.step();
    nn::save_checkpoint(path, first.net, &first.optimizer, split, first.noise, R"({"model": "net", "lr": 0.001})");
  }
  TrainingRun resumed(12345);  // different initial weights and noise: everything must come from the file
  resumed.noise.set_state(7, 7);
  nn::CheckpointInfo info = nn::load_checkpoint(path, resumed.net, &resumed.optimizer, &resumed.noise);
  resumed.scheduler.set_step(info.step);
  EXPECT_EQ(info.step, split);
  EXPECT_EQ(info.config, R"({"model": "net", "lr": 0.001})");
  for (int s = split; s < total; ++s) resumed.step();

  auto a = straight.net.named_parameters(), b = resumed.net.named_parameters();
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i)
    EXPECT_EQ(to_vector<float>(a[i].second), to_vector<float>(b[i].second)) << a[i].first << " differs";
  EXPECT_EQ(straight.optimizer.lr(0), resumed.optimizer.lr(0));
  EXPECT_EQ(straight.noise.offset(), resumed.noise.offset());
  std::remove(path.c_str());
}

TEST(Checkpoint, LayoutAndAtomicOverwrite) {
  Generator init(1), noise(2);
  Net net(init, noise);
  const std::string path = temp_path("layout.safetensors");
  nn::save_checkpoint(path, net, nullptr, 0, noise);
  nn::save_checkpoint(path, net, nullptr, 5, noise);  // replaces the file whole
  auto file = io::read_safetensors(path);
  EXPECT_TRUE(file.tensors.count("model.body.0.weight"));
  EXPECT_TRUE(file.tensors.count("model.body.3.bias"));
  EXPECT_EQ(file.tensors.size(), 4u);
  EXPECT_EQ(nn::read_checkpoint_info(path).step, 5);
  // No temporary file is left beside it.
  for (const auto& entry : fs::directory_iterator(fs::path(path).parent_path()))
    EXPECT_EQ(entry.path().string().find(path + "."), std::string::npos) << entry.path();
  std::remove(path.c_str());
}

TEST(Checkpoint, BadInputGivesOneClearError) {
  Generator init(1), noise(2);
  Net net(init, noise);
  const std::string path = temp_path("bad.safetensors");
  EXPECT_THROW(nn::save_checkpoint(path, net, nullptr, 0, noise, "{not json"), Error);

  // Weights only, then asked for optimizer state.
  nn::save_checkpoint(path, net, nullptr, 0, noise);
  nn::AdamW adam(net.parameters());
  try {
    nn::load_checkpoint(path, net, &adam);
    FAIL() << "missing optimizer state accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no optimizer state"), std::string::npos) << e.what();
  }
  // A different architecture: every mismatch is listed, prefixed by the file.
  Generator other(3);
  nn::Linear wrong(6, 16, true, other);
  try {
    nn::load_checkpoint(path, wrong);
    FAIL() << "wrong model accepted";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find(path), std::string::npos) << m;
    EXPECT_NE(m.find("missing keys (2)"), std::string::npos) << m;
  }
  // A plain safetensors file is not a checkpoint.
  io::write_safetensors(path, {{"w", zeros({2})}});
  EXPECT_THROW(nn::read_checkpoint_info(path), Error);
  std::remove(path.c_str());
  EXPECT_THROW(nn::read_checkpoint_info(path), Error);  // missing file
}
