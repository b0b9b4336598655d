// Loading C-JEPA predictor weights from the reference's checkpoint layouts (models/predictor_checkpoint),
// on files torch.save wrote (tools/fixtures/cjepa_predictor_pusht.py): the Push-T object checkpoint (a
// whole pickled stable-pretraining Module, world model under "model."), the Lightning weights
// checkpoint, and the CLEVRER bare predictor state dict. Loaded weights must equal the fixture's
// bit for bit, and the wrong variant or shape must say which key and which shapes.
#include <gtest/gtest.h>

#include <string>

#include "models/predictor_checkpoint.hpp"
#include "tensor/io/load.hpp"
#include "tensor/ops.hpp"
#include "tests/models/predictor_fixture.hpp"

using namespace cj;
using namespace cj::test;
using cj::models::CjepaPredictorConfig;
using cj::models::MaskedSlotPredictor;
using cj::models::PushTPredictorConfig;
using cj::models::PushTWorldModel;

namespace {

std::string model_file(const std::string& name) { return std::string(CJ_FIXTURE_DIR) + "/models/" + name; }

// Every parameter of `model` equals `expected[<name>]` exactly, and every expected entry was checked.
void expect_weights_equal(const nn::Module& model, const nn::StateDict& expected) {
  int checked = 0;
  for (const auto& [name, p] : model.named_parameters()) {
    auto it = expected.find(name);
    ASSERT_NE(it, expected.end()) << name;
    EXPECT_TRUE(ops::allclose(p, it->second, 0.0, 0.0)) << name;
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(expected.size()));
}

}  // namespace

TEST(PredictorCheckpoint, PushTObjectAndLightningCheckpointsLoadByTheReferenceNames) {
  PredictorFixture f = load_predictor_fixture("cjepa_predictor_pusht.safetensors");
  for (const std::string name : {"pusht_object.ckpt", "pusht_weights.ckpt"}) {
    PushTWorldModel model(pusht_config_of(f.json()));
    models::load_pusht_file(model, model_file(name));
    expect_weights_equal(model, f.with_prefix("param."));
    io::ReadOptions lenient;
    lenient.unknown_calls_as_records = true;
    EXPECT_EQ(models::find_predictor_prefix(io::load_tensors(model_file(name), lenient), name), "model.predictor.");
  }
}

TEST(PredictorCheckpoint, ClevrerPredictorStateDictLoads) {
  PredictorFixture f = load_predictor_fixture("cjepa_predictor_pusht.safetensors");
  MaskedSlotPredictor model(predictor_config_of(f.json("clevrer_config")));
  models::load_predictor_file(model, model_file("clevrer_predictor.ckpt"));
  const io::TensorMap state = io::load_tensors(model_file("clevrer_predictor.ckpt"));
  EXPECT_EQ(models::find_predictor_prefix(state, "clevrer"), "");
  expect_weights_equal(model, state);
}

TEST(PredictorCheckpoint, PrefixedBarePredictorLoads) {
  // e.g. a predictor saved inside another wrapper: "module.", "net.predictor." without encoders
  PredictorFixture f = load_predictor_fixture("cjepa_predictor_pusht.safetensors");
  const io::TensorMap bare = io::load_tensors(model_file("clevrer_predictor.ckpt"));
  nn::StateDict wrapped;
  for (const auto& [k, v] : bare) wrapped["net.predictor." + k] = v;
  wrapped["net.head.weight"] = zeros({2, 2});
  MaskedSlotPredictor model(predictor_config_of(f.json("clevrer_config")));
  models::load_predictor_state(model, wrapped, "wrapped");
  expect_weights_equal(model, bare);
}

TEST(PredictorCheckpoint, WrongVariantOrShapeNamesTheKeyAndShapes) {
  PredictorFixture f = load_predictor_fixture("cjepa_predictor_pusht.safetensors");
  const nlohmann::json pusht = f.json(), clevrer = f.json("clevrer_config");
  {  // Push-T checkpoint into the CLEVRER predictor (same shapes otherwise)
    CjepaPredictorConfig config = predictor_config_of(pusht);
    MaskedSlotPredictor model(config);
    const std::string msg = error_of([&] { models::load_predictor_file(model, model_file("pusht_object.ckpt")); });
    expect_has(msg, "holds a Push-T AP world model ('model.action_encoder.patch_embed.weight' beside the predictor)");
  }
  {  // CLEVRER checkpoint into the Push-T model (its predictor would fit: 2 + 2 = 3 + 1 time steps)
    PushTWorldModel model(pusht_config_of(pusht));
    const std::string msg = error_of([&] { models::load_pusht_file(model, model_file("clevrer_predictor.ckpt")); });
    expect_has(msg, "holds a bare C-JEPA predictor");
    expect_has(msg, "the CLEVRER variant");
  }
  {  // another history length
    PushTPredictorConfig config = pusht_config_of(pusht);
    config.predictor.history = 4;
    PushTWorldModel model(config);
    const std::string msg = error_of([&] { models::load_pusht_file(model, model_file("pusht_object.ckpt")); });
    expect_has(msg, "'model.predictor.time_pos_embed' has shape [1, 4, 1, 32], the model expects [1, 5, 1, 32]");
    expect_has(msg, "history 4, preds 1");
  }
  {  // another action width (frameskip 4 instead of 5)
    PushTPredictorConfig config = pusht_config_of(pusht);
    config.action_dim = 8;
    PushTWorldModel model(config);
    const std::string msg = error_of([&] { models::load_pusht_file(model, model_file("pusht_weights.ckpt")); });
    expect_has(msg, "'model.action_encoder.patch_embed.weight' has shape [32, 10, 1], the model expects [32, 8, 1]");
  }
  {  // the spec's (1, 1, 1, D) mask token is not the reference's: refused by name
    MaskedSlotPredictor model(predictor_config_of(clevrer));
    io::TensorMap state = io::load_tensors(model_file("clevrer_predictor.ckpt"));
    state["mask_token"] = ops::reshape(state.at("mask_token"), {1, 1, 1, 32});
    const std::string msg = error_of([&] { models::load_predictor_state(model, state, "reshaped"); });
    expect_has(msg, "'mask_token' has shape [1, 1, 1, 32], the model expects [1, 1, 32]");
  }
  {  // a missing and an unexpected key
    MaskedSlotPredictor model(predictor_config_of(clevrer));
    io::TensorMap state = io::load_tensors(model_file("clevrer_predictor.ckpt"));
    state.erase("transformer.norm.bias");
    state["transformer.extra"] = zeros({1});
    const std::string msg = error_of([&] { models::load_predictor_state(model, state, "edited"); });
    expect_has(msg, "'transformer.norm.bias' is missing (expected shape [32])");
    expect_has(msg, "unexpected key 'transformer.extra'");
  }
  expect_has(error_of([&] { models::find_predictor_prefix({{"a.weight", zeros({1})}}, "x.ckpt"); }),
             "no C-JEPA predictor in x.ckpt");
  {
    const io::TensorMap bare = io::load_tensors(model_file("clevrer_predictor.ckpt"));
    nn::StateDict two;
    for (const auto& [k, v] : bare) {
      two["a." + k] = v;
      two["b." + k] = v;
    }
    expect_has(error_of([&] { models::find_predictor_prefix(two, "two.ckpt"); }),
               "two.ckpt holds 2 C-JEPA predictors, under 'a.' 'b.'");
  }
}
