#!/usr/bin/env python3
"""DINOv2 ViT-S/14 forward in PyTorch: transformers' Dinov2Model with SDPA attention and random
weights (hidden 384, 12 layers, 6 heads, MLP 1536, position table for 518x518 = 37x37 patches,
interpolated to the input), eval mode, no grad; the workload of bench/bench_dinov2.cpp.

    python3 bench/dinov2_reference.py [--batch 8] [--size 196] [--device cpu|cuda] [--dtype f32|bf16] [--compile]

GPU session (spec §5): --device cuda --batch 192 [--dtype bf16] --compile. Prints one JSON line per
variant (eager, and torch.compile with --compile), in frames/s; on CUDA with the peak memory.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model_bench  # noqa: E402


def main():
    p = model_bench.parser(__doc__, default_batch=8)
    p.add_argument("--size", type=int, default=196, help="image side in pixels (a multiple of 14)")
    args = p.parse_args()
    torch = model_bench.setup(args)
    from transformers import Dinov2Config, Dinov2Model

    torch.manual_seed(0)
    config = Dinov2Config(hidden_size=384, num_hidden_layers=12, num_attention_heads=6, mlp_ratio=4,
                          image_size=518, patch_size=14, attn_implementation="sdpa")
    device = torch.device(args.device)
    pixels = torch.rand(args.batch, 3, args.size, args.size, device=device) * 2 - 1
    sync = torch.cuda.synchronize if args.device == "cuda" else (lambda: None)
    variants = [("torch_eager_sdpa", False)] + ([("torch_compile_sdpa", True)] if args.compile else [])
    for impl, compiled in variants:
        model = Dinov2Model(config).to(device).eval()
        forward = torch.compile(model) if compiled else model

        def run():
            with torch.no_grad(), torch.autocast(args.device, dtype=torch.bfloat16, enabled=args.dtype == "bf16"):
                forward(pixel_values=pixels).last_hidden_state

        if args.device == "cuda":
            torch.cuda.reset_peak_memory_stats()
        median, best = model_bench.time_calls(run, args.warmup, args.iters, sync)
        row = dict(bench=f"dinov2_s14_forward_{args.size}", impl=impl, device=args.device, dtype=args.dtype,
                   batch=args.batch, threads=torch.get_num_threads(), torch=torch.__version__,
                   frames_per_s=args.batch / median, ms_per_batch=median * 1e3, min_ms_per_batch=best * 1e3)
        if args.device == "cuda":
            row["peak_mib"] = torch.cuda.max_memory_allocated() / 2**20
        model_bench.emit(args, row)


if __name__ == "__main__":
    main()
