// The Module tree: PyTorch's dotted names, state dicts, and loading that reports every problem.
#include <gtest/gtest.h>

#include "nn/module.hpp"
#include "tensor/ops.hpp"

using namespace cj;

namespace {
struct Leaf : nn::Module {
  Tensor weight, bias, running;
  Leaf(int64_t out, int64_t in) {
    weight = register_parameter("weight", zeros({out, in}));
    bias = register_parameter("bias", zeros({out}));
    running = register_buffer("running_mean", zeros({out}));
    register_buffer("scratch", zeros({1}), /*persistent=*/false);
  }
};
struct Tree : nn::Module {
  std::shared_ptr<Leaf> a, b;
  Tree() {
    a = register_module("proj", std::make_shared<Leaf>(3, 2));
    b = register_module("out", std::make_shared<Leaf>(1, 3));
  }
};
}  // namespace

TEST(Module, DottedNamesInRegistrationOrder) {
  Tree t;
  auto names = t.named_parameters();
  ASSERT_EQ(names.size(), 4u);
  EXPECT_EQ(names[0].first, "proj.weight");
  EXPECT_EQ(names[3].first, "out.bias");
  EXPECT_TRUE(names[0].second.requires_grad());
  EXPECT_EQ(t.num_parameters(), 3 * 2 + 3 + 1 * 3 + 1);
  auto sd = t.state_dict();
  EXPECT_EQ(sd.size(), 6u);  // 4 parameters + 2 persistent buffers; "scratch" is not saved
  EXPECT_TRUE(sd.count("proj.running_mean"));
  EXPECT_FALSE(sd.count("proj.scratch"));
  auto mods = t.named_modules();
  ASSERT_EQ(mods.size(), 2u);
  EXPECT_EQ(mods[1].first, "out");
}

TEST(Module, LoadStateDictCopiesIntoExistingTensors) {
  Tree src, dst;
  ops::fill_(src.a->weight, 1.5);
  auto before = dst.a->weight.storage();
  dst.load_state_dict(src.state_dict());
  EXPECT_EQ(dst.a->weight.storage(), before);  // loaded in place
  EXPECT_EQ(dst.a->weight.at({2, 1}), 1.5);
}

TEST(Module, StrictLoadListsEveryProblemAtOnce) {
  Tree t;
  auto sd = t.state_dict();
  sd.erase("out.bias");
  sd["proj.weight"] = zeros({2, 3});
  sd["extra.thing"] = zeros({1});
  try {
    t.load_state_dict(sd);
    FAIL() << "expected cj::Error";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("missing keys (1)"), std::string::npos) << m;
    EXPECT_NE(m.find("out.bias"), std::string::npos) << m;
    EXPECT_NE(m.find("unexpected keys (1)"), std::string::npos) << m;
    EXPECT_NE(m.find("extra.thing"), std::string::npos) << m;
    EXPECT_NE(m.find("proj.weight: module [3, 2] float32 vs dict [2, 3] float32"), std::string::npos) << m;
  }
  // nothing was half-loaded
  EXPECT_EQ(t.a->bias.at({0}), 0.0);
}

TEST(Module, NonStrictLoadReturnsTheReport) {
  Tree t;
  nn::StateDict sd{{"proj.bias", ones({3})}, {"nope", zeros({1})}};
  auto r = t.load_state_dict(sd, /*strict=*/false);
  EXPECT_EQ(r.unexpected, std::vector<std::string>{"nope"});
  EXPECT_EQ(r.missing.size(), 5u);
  EXPECT_EQ(t.a->bias.at({1}), 1.0);
}

TEST(Module, TrainEvalPropagates) {
  Tree t;
  t.eval();
  EXPECT_FALSE(t.a->is_training());
  t.train();
  EXPECT_TRUE(t.b->is_training());
}
