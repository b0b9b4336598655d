#!/usr/bin/env python3
"""Times bench/workloads.txt with PyTorch CUDA, the way bench_cuda_ops times ours (GPU time
between two events around 10 launches, median of 10 samples, TF32 off), and prints one table
with both: ratio = torch time / our time, so > 1 means we are faster.

usage: torch_cuda_reference.py [--ours bench_cuda_ops.json]   (Google Benchmark JSON output)
"""
import argparse
import json
import os
import statistics
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
LAUNCHES, SAMPLES = 10, 10
DTYPES = {"f32": torch.float32, "bf16": torch.bfloat16, "f16": torch.float16, "f64": torch.float64}


def workloads():
    with open(os.path.join(HERE, "workloads.txt")) as f:
        for line in f:
            line = line.split("#")[0].split()
            if line:
                yield line[0], line[1], DTYPES[line[2]], [int(d) for d in line[3:]]


def make(op, dtype, dims):
    g = torch.Generator(device="cuda").manual_seed(0)
    rand = lambda *s: torch.rand(*s, device="cuda", dtype=torch.float32, generator=g).mul_(2).sub_(1).to(dtype)
    if op == "mm":
        a, b = rand(dims[0], dims[1]), rand(dims[1], dims[2])
        return lambda: torch.mm(a, b)
    if op in ("attention_fwd", "attention_bwd"):  # dims: B H Lq Lk E; SDPA picks its own backend
        B, H, Lq, Lk, E = dims
        q, k, v = rand(B, H, Lq, E), rand(B, H, Lk, E), rand(B, H, Lk, E)
        sdpa = torch.nn.functional.scaled_dot_product_attention
        if op == "attention_fwd":
            return lambda: sdpa(q, k, v)
        q, k, v = (t.requires_grad_() for t in (q, k, v))
        out = sdpa(q, k, v)
        go = rand(B, H, Lq, E)
        return lambda: torch.autograd.grad(out, (q, k, v), go, retain_graph=True)
    if op.startswith("conv"):  # dims: N C S; SAVi's kernel 5, padding 2 (transposed: stride 2, output_padding 1)
        N, C, S = dims
        F = torch.nn.functional
        x, w, b = rand(N, C, S, S), rand(C, C, 5, 5), rand(C)
        conv = (lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=2, output_padding=1)) \
            if op.startswith("conv_transpose2d") else (lambda x, w, b: F.conv2d(x, w, b, padding=2))
        if op.endswith("_fwd"):
            return lambda: conv(x, w, b)
        x, w, b = (t.requires_grad_() for t in (x, w, b))
        out = conv(x, w, b)
        go = rand(*out.shape)
        return lambda: torch.autograd.grad(out, (x, w, b), go, retain_graph=True)
    x = rand(dims[0], dims[1])
    if op == "layer_norm":
        w, b = rand(dims[1]), rand(dims[1])
        return lambda: torch.nn.functional.layer_norm(x, (dims[1],), w, b, 1e-5)
    if op == "softmax":
        return lambda: torch.softmax(x, -1)
    if op == "softmax_backward":  # the backward kernel alone, from y = softmax(x), as autograd calls it
        y, gy = torch.softmax(x, -1), rand(dims[0], dims[1])
        return lambda: torch.ops.aten._softmax_backward_data(gy, y, -1, dtype)
    if op == "gelu":
        return lambda: torch.nn.functional.gelu(x)
    if op == "gelu_backward":  # the backward kernel alone
        gy = rand(dims[0], dims[1])
        return lambda: torch.ops.aten.gelu_backward(gy, x)
    raise SystemExit(f"torch_cuda_reference.py: unknown op {op}")


def time_ms(fn):
    for _ in range(3):
        fn()
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    samples = []
    for _ in range(SAMPLES):
        start.record()
        for _ in range(LAUNCHES):
            fn()
        stop.record()
        torch.cuda.synchronize()
        samples.append(start.elapsed_time(stop) / LAUNCHES)
    return statistics.median(samples)


def ours_ms(path):
    if not path or not os.path.exists(path):
        return {}
    try:
        with open(path) as f:
            report = json.load(f)
    except ValueError as e:  # bench_cuda_ops stopped mid-way: its console output in the log has what it measured
        print(f"torch_cuda_reference.py: {path} is not complete JSON ({e}); our column stays empty")
        return {}
    scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}
    out = {}
    for b in report.get("benchmarks", []):
        if b.get("aggregate_name") == "median":
            out[b["run_name"].split("/")[0]] = b["real_time"] * scale[b["time_unit"]]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ours", help="bench_cuda_ops --benchmark_out JSON")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print("torch_cuda_reference.py: skipped, torch sees no CUDA device")
        return 0
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    ours = ours_ms(args.ours)
    print(f"card: {torch.cuda.get_device_name()}, torch {torch.__version__}, TF32 off, median of {SAMPLES} x {LAUNCHES}")
    print(f"{'workload':<18}{'op':<22}{'dtype':<9}{'shape':<22}{'cjepa ms':>10}{'torch ms':>10}{'ratio':>8}")
    failed = 0
    for name, op, dtype, dims in workloads():
        o = ours.get(name)
        shape = "x".join(map(str, dims))
        dt = str(dtype).replace("torch.", "")
        o_s = f"{o:10.4f}" if o else f"{'-':>10}"
        try:
            t = time_ms(make(op, dtype, dims))
        except Exception as e:  # one workload failing (out of memory, say) keeps the others' rows
            print(f"{name:<18}{op:<22}{dt:<9}{shape:<22}{o_s}  torch failed: {type(e).__name__}: {e}")
            failed = 1
        else:
            r_s = f"{t / o:7.2f}x" if o else f"{'-':>8}"
            print(f"{name:<18}{op:<22}{dt:<9}{shape:<22}{o_s}{t:10.4f}{r_s}")
        torch.cuda.empty_cache()
    return failed


if __name__ == "__main__":
    sys.exit(main())
