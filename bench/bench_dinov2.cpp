// DINOv2 ViT-S/14 forward (random weights, all 12 blocks, no grad) at batch 8 on 196x196 images
// (14x14 patches + CLS = 197 tokens), in frames per second. bench/dinov2_reference.py times
// transformers' Dinov2Model (SDPA) on the same input; bench/run_models.sh prints both with the ratio.
//
//   build/bin/bench_dinov2 [--batch=8] [--size=196] [--device=cpu|cuda|cuda:N] [--dtype=f32|bf16]
//                          [--iters=5] [--warmup=2] [--json=out.jsonl]
#include <cstdio>
#include <exception>

#include "autograd/grad_mode.hpp"
#include "bench/bench_util.hpp"
#include "bench/model_bench.hpp"

#include "models/dinov2.hpp"

using namespace cj;

int main(int argc, char** argv) try {
  bench::ModelBenchArgs args = bench::parse_model_bench_args(argc, argv);
  if (args.batch == 0) args.batch = 8;
  const int64_t size = args.extra.count("size") ? std::stoll(args.extra.at("size")) : 196;
  bench::ResultRow row = bench::result_row("dinov2_s14_forward_" + std::to_string(size), args);
  if (bench::report_unsupported("bench_dinov2", args, row)) return 2;
  models::Dinov2Config config;  // ViT-S/14: dim 384, depth 12, 6 heads, MLP 1536, 37x37 position table
  models::Dinov2 model(config);
  model.eval();
  model.to(bench::device_of(args));
  const Tensor pixels = ops::to(bench::filled({args.batch, 3, size, size}, 1), bench::device_of(args));
  NoGradGuard no_grad;
  auto forward = [&] {
    bench::with_dtype(args, [&] { bench::wait_for(model.forward(pixels).last_hidden_state); });
  };
  bench::reset_peak_memory();
  const bench::Timing t = bench::time_calls(forward, args.warmup, args.iters);
  row.insert(row.end(), {{"frames_per_s", bench::number(double(args.batch) / t.median_s)},
                         {"ms_per_batch", bench::number(t.median_s * 1e3)},
                         {"min_ms_per_batch", bench::number(t.min_s * 1e3)}});
  bench::add_peak_memory(args, row);
  bench::emit_result(args, row);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "bench_dinov2: %s\n", e.what());
  return 1;
}
