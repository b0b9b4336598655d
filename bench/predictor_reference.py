#!/usr/bin/env python3
"""One C-JEPA predictor training step in PyTorch (forward_masked + backward + AdamW step), the
workload of bench/bench_predictor.cpp: reference config (depth 6, D 128, 16 heads, FFN 2048,
T_h 6 + T_p 10 steps of 7 slots, 4 masked slots, dropout 0.1, train mode). The module is the one
tools/fixtures/cjepa_predictor.py writes from the reference formulas, with the reference's dropout
(0.1 in the attention and the feed-forward) put back.

    python3 bench/predictor_reference.py [--batch 32] [--device cpu|cuda] [--dtype f32|bf16] [--compile]

Prints one JSON line per variant (eager, and torch.compile with --compile); on CUDA with the peak
memory (torch.cuda.max_memory_allocated).
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "fixtures"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model_bench  # noqa: E402
from cjepa_predictor import MaskedSlotPredictor  # noqa: E402

CONFIG = dict(depth=6, heads=16, dim=128, ffn=2048, history=6, preds=10, slots=7, masked=4, dropout=0.1)


def build(torch, config, device):
    torch.manual_seed(0)
    model = MaskedSlotPredictor(config)
    for m in model.modules():  # the fixture module is built without dropout
        if isinstance(m, torch.nn.Dropout):
            m.p = config["dropout"]
        elif isinstance(m, torch.nn.MultiheadAttention):
            m.dropout = config["dropout"]
    return model.to(device).train()


def main():
    args = model_bench.parser(__doc__, default_batch=32).parse_args()
    torch = model_bench.setup(args)
    c = CONFIG
    device = torch.device(args.device)
    masked = [int(i) for i in np.random.RandomState(42).choice(c["slots"], c["masked"], replace=False)]
    slots = torch.rand(args.batch, c["history"] + c["preds"], c["slots"], c["dim"], device=device) * 2 - 1
    sync = torch.cuda.synchronize if args.device == "cuda" else (lambda: None)
    variants = [("torch_eager", False)] + ([("torch_compile", True)] if args.compile else [])
    for impl, compiled in variants:
        model = build(torch, c, device)
        optimizer = torch.optim.AdamW(model.parameters(), lr=5e-4)
        forward = torch.compile(model.forward_masked) if compiled else model.forward_masked

        def step():
            with torch.autocast(args.device, dtype=torch.bfloat16, enabled=args.dtype == "bf16"):
                loss = forward(slots, masked)[3]
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

        if args.device == "cuda":
            torch.cuda.reset_peak_memory_stats()
        median, best = model_bench.time_calls(step, args.warmup, args.iters, sync)
        row = dict(bench="predictor_train_step", impl=impl, device=args.device, dtype=args.dtype, batch=args.batch,
                   threads=torch.get_num_threads(), torch=torch.__version__, ms_per_step=median * 1e3,
                   min_ms_per_step=best * 1e3)
        if args.device == "cuda":
            row["peak_mib"] = torch.cuda.max_memory_allocated() / 2**20
        model_bench.emit(args, row)


if __name__ == "__main__":
    main()
