#!/usr/bin/env python3
"""Shared by the whole-model PyTorch references (predictor_reference.py, dinov2_reference.py): the
same flags as bench/model_bench.hpp, the same warm-up + median timer and the same one-line JSON
result; run as a script it prints the comparison table from the JSON lines of both sides:

    python3 bench/model_bench.py table results.jsonl

ratio = PyTorch time / our time (above 1: we are faster), per (bench, device, dtype, batch); when a
file holds several rounds, each implementation's fastest round counts.
"""
import argparse
import json
import statistics
import sys
import time


def parser(description, default_batch):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--dtype", default="f32", choices=["f32", "bf16"], help="bf16: torch.autocast(bfloat16)")
    p.add_argument("--batch", type=int, default=default_batch)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--iters", type=int, default=5)
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (CPU)")
    p.add_argument("--compile", action="store_true", help="also time the torch.compile'd module")
    p.add_argument("--json", default="", help="append the result lines to this file")
    return p


def setup(args):
    import torch
    torch.set_num_threads(args.threads)
    if args.device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False  # spec §5: TF32 off
        torch.backends.cudnn.allow_tf32 = False
    return torch


def time_calls(fn, warmup, iters, sync=lambda: None):
    """(median, min) seconds per call after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    sync()
    samples = []
    for _ in range(iters):
        start = time.perf_counter()
        fn()
        sync()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), min(samples)


def emit(args, row):
    line = json.dumps(row)
    print(line, flush=True)
    if args.json:
        with open(args.json, "a") as f:
            f.write(line + "\n")


def readable(v):
    return f"{v:.0f}" if v >= 100 else f"{v:.2f}" if v >= 1 else f"{v:.3f}"


def table(path):
    key = lambda r: (r["bench"], r["device"], r["dtype"], r["batch"])
    best = {}  # repeated rounds: keep each implementation's fastest round
    for line in open(path):
        if not line.strip().startswith("{"):
            continue
        r = json.loads(line)
        speed = 1 / r["ms_per_step"] if "ms_per_step" in r else r.get("frames_per_s", 0)
        k = key(r) + (r["impl"],)
        if k not in best or speed > best[k][0]:
            best[k] = (speed, r)
    rows = [r for _, r in best.values()]
    ours = {key(r): r for r in rows if r["impl"] == "cjepa"}
    torch_rows = [r for r in rows if r["impl"] != "cjepa"]
    torch_keys = {key(r) for r in torch_rows}
    # a workload without a PyTorch row (that side failed) still shows ours
    torch_rows += [dict(bench=r["bench"], device=r["device"], dtype=r["dtype"], batch=r["batch"], impl="(no result)")
                   for k, r in ours.items() if k not in torch_keys]
    print(f"{'workload':40s} {'PyTorch impl':18s} {'metric':>9s} {'PyTorch':>10s} {'ours':>10s} {'ratio':>6s}")
    for r in torch_rows:
        mine = ours.get(key(r), {})
        name = f"{r['bench']} {r['device']} {r['dtype']} B={r['batch']}"
        if "ms_per_step" in r or "ms_per_step" in mine:
            unit, theirs, ours_v = "ms/step", r.get("ms_per_step"), mine.get("ms_per_step")
            ratio = theirs / ours_v if theirs and ours_v else None
        else:
            unit, theirs, ours_v = "frames/s", r.get("frames_per_s"), mine.get("frames_per_s")
            ratio = ours_v / theirs if theirs and ours_v else None
        theirs_s = f"{readable(theirs):>10s}" if theirs else f"{'-':>10s}"
        ours_s = f"{readable(ours_v):>10s}" if ours_v else f"{'-':>10s}"
        ratio_s = f"{ratio:6.2f}" if ratio else f"{'-':>6s}"
        extra = f"  peak {r['peak_mib']:.0f} MiB" if r.get("peak_mib") else ""
        if mine.get("peak_mib"):
            extra += f" (ours {mine['peak_mib']:.0f} MiB)"
        print(f"{name:40s} {r['impl']:18s} {unit:>9s} {theirs_s} {ours_s} {ratio_s}{extra}")
        if "error" in mine:
            print(f"{'':40s} ours: {mine['error']}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "table":
        table(sys.argv[2])
    else:
        print(__doc__)
        sys.exit(1)
