// One C-JEPA predictor training step (forward_masked + backward + AdamW step) at the reference config
// (depth 6, D 128, 16 heads, FFN 2048, T_h 6 + T_p 10 steps of 7 slots, 4 masked slots, dropout 0.1,
// train mode). bench/predictor_reference.py times the same step in PyTorch; bench/run_models.sh
// prints both with the ratio.
//
//   build/bin/bench_predictor [--batch=32] [--device=cpu|cuda|cuda:N] [--dtype=f32|bf16] [--iters=5]
//                             [--warmup=2] [--json=out.jsonl]
#include <cstdio>
#include <exception>

#include "autograd/engine.hpp"
#include "bench/bench_util.hpp"
#include "bench/model_bench.hpp"
#include "models/cjepa_predictor.hpp"
#include "nn/optim/optimizer.hpp"

using namespace cj;

int main(int argc, char** argv) try {
  bench::ModelBenchArgs args = bench::parse_model_bench_args(argc, argv);
  if (args.batch == 0) args.batch = 32;
  const int64_t slots = 7, masked_slots = 4;
  bench::ResultRow row = bench::result_row("predictor_train_step", args);
  if (bench::report_unsupported("bench_predictor", args, row)) return 2;

  models::CjepaPredictorConfig config;  // the reference config (depth 6, D 128, 16 heads, FFN 2048)
  Generator gen(0);
  models::MaskedSlotPredictor model(config, gen);
  model.train();
  model.to(bench::device_of(args));  // before the optimizer, though either order works (state follows)
  nn::AdamOptions adam;
  adam.lr = 5e-4;
  nn::AdamW optimizer(model.parameters(), adam);
  const Tensor batch =
      ops::to(bench::filled({args.batch, config.total_steps(), slots, config.dim}, 1), bench::device_of(args));
  const std::vector<int64_t> masked = models::fixed_mask_indices(slots, masked_slots);

  double last_loss = 0;
  auto step = [&] {
    Tensor loss;
    bench::with_dtype(args, [&] { loss = model.forward_masked(batch, masked).loss; });
    cj::backward(loss);
    optimizer.step();
    optimizer.zero_grad();
    last_loss = loss.item<double>();  // reads back from the device: the step has finished
  };
  bench::reset_peak_memory();
  const bench::Timing t = bench::time_calls(step, args.warmup, args.iters);
  row.insert(row.end(), {{"ms_per_step", bench::number(t.median_s * 1e3)},
                         {"min_ms_per_step", bench::number(t.min_s * 1e3)},
                         {"loss", bench::number(last_loss)}});
  bench::add_peak_memory(args, row);
  bench::emit_result(args, row);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "bench_predictor: %s\n", e.what());
  return 1;
}
