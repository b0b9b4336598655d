#!/usr/bin/env python3
"""Times the rows of bench/bench_tensor_ops.cpp with PyTorch on the CPU (same shapes, f32, 2 threads)
and, given our Google Benchmark JSON (--benchmark_format=json), prints one table with the speed ratio
ours/PyTorch per row (PyTorch time / our time: above 1 means we are faster).

    build/bin/bench_tensor_ops --benchmark_format=json > ours.json
    python3 bench/torch_reference.py --ours ours.json
"""
import argparse
import json
import statistics
import sys
import time

import torch
import torch.nn.functional as F


def filled(*shape, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(*shape, generator=g) * 2 - 1


def linear(rows, din, dout):
    x, w, b = filled(rows, din, seed=1), filled(dout, din, seed=2), filled(dout, seed=3)
    return lambda: F.linear(x, w, b)


def attention_fwd(B, H, L, E):
    q, k, v = (filled(B, H, L, E, seed=s) for s in (4, 5, 6))
    return lambda: F.scaled_dot_product_attention(q, k, v)


def with_backward(make_inputs, forward):
    """Times backward only: the graph is built once and replayed with retain_graph."""
    inputs = [t.requires_grad_(True) for t in make_inputs()]
    y = forward(*inputs)
    gy = torch.rand_like(y)

    def run():
        for t in inputs:
            t.grad = None
        y.backward(gy, retain_graph=True)
    return run


def attention_bwd(B, H, L, E):
    return with_backward(lambda: [filled(B, H, L, E, seed=s) for s in (4, 5, 6)], F.scaled_dot_product_attention)


def layer_norm_fwd(rows, D):
    x, w, b = filled(rows, D, seed=8), filled(D, seed=9), filled(D, seed=10)
    return lambda: F.layer_norm(x, (D,), w, b)


def layer_norm_bwd(rows, D):
    return with_backward(lambda: [filled(rows, D, seed=8), filled(D, seed=9), filled(D, seed=10)],
                         lambda x, w, b: F.layer_norm(x, (D,), w, b))


def conv2d_fwd(N, C, S):
    x, w, b = filled(N, C, S, S, seed=12), filled(C, C, 5, 5, seed=13), filled(C, seed=14)
    return lambda: F.conv2d(x, w, b, padding=2)


def conv2d_bwd(N, C, S):
    return with_backward(lambda: [filled(N, C, S, S, seed=12), filled(C, C, 5, 5, seed=13), filled(C, seed=14)],
                         lambda x, w, b: F.conv2d(x, w, b, padding=2))


def conv_transpose2d_fwd(N, C, S):
    x, w, b = filled(N, C, S, S, seed=16), filled(C, C, 5, 5, seed=17), filled(C, seed=18)
    return lambda: F.conv_transpose2d(x, w, b, stride=2, padding=2, output_padding=1)


def conv_transpose2d_bwd(N, C, S):
    return with_backward(lambda: [filled(N, C, S, S, seed=16), filled(C, C, 5, 5, seed=17), filled(C, seed=18)],
                         lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=2, output_padding=1))


# Same names as bench_tensor_ops.cpp.
ROWS = {
    "linear/dinov2_qkv_192x197x384x1152": lambda: linear(192 * 197, 384, 1152),
    "linear/predictor_ffn_256x112x128x2048": lambda: linear(256 * 112, 128, 2048),
    "linear/predictor_ffn_out_256x112x2048x128": lambda: linear(256 * 112, 2048, 128),
    "attention_fwd/predictor_256x16x112x8": lambda: attention_fwd(256, 16, 112, 8),
    "attention_bwd/predictor_256x16x112x8": lambda: attention_bwd(256, 16, 112, 8),
    "attention_fwd/dinov2_16x6x197x64": lambda: attention_fwd(16, 6, 197, 64),
    "attention_bwd/dinov2_16x6x197x64": lambda: attention_bwd(16, 6, 197, 64),
    "layer_norm_fwd/predictor_28672x128": lambda: layer_norm_fwd(256 * 112, 128),
    "layer_norm_bwd/predictor_28672x128": lambda: layer_norm_bwd(256 * 112, 128),
    "conv2d_fwd/savi_enc_8x64x64x64_k5": lambda: conv2d_fwd(8, 64, 64),
    "conv2d_bwd/savi_enc_8x64x64x64_k5": lambda: conv2d_bwd(8, 64, 64),
    "conv_transpose2d_fwd/savi_dec_7x64x32x32_s2": lambda: conv_transpose2d_fwd(7, 64, 32),
    "conv_transpose2d_bwd/savi_dec_7x64x32x32_s2": lambda: conv_transpose2d_bwd(7, 64, 32),
}


def time_row(make, min_time=0.5, repeats=5):
    """Median over `repeats` of the mean time per call (seconds) after a warm-up call."""
    fn = make()
    fn()
    samples = []
    for _ in range(repeats):
        n, start = 0, time.perf_counter()
        while True:
            fn()
            n += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_time / repeats:
                break
        samples.append(elapsed / n)
    return statistics.median(samples)


def our_times(path):
    """Row name -> seconds per iteration from Google Benchmark JSON (real time)."""
    scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
    with open(path) as f:
        data = json.load(f)
    out = {}
    for b in data["benchmarks"]:
        if b.get("run_type", "iteration") != "iteration":
            continue
        name = b["name"].split("/min_time")[0].split("/real_time")[0]
        out[name] = b["real_time"] * scale[b["time_unit"]]
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ours", help="Google Benchmark JSON of bench_tensor_ops")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--filter", default="", help="only rows whose name contains this")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    ours = our_times(args.ours) if args.ours else {}
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads, f32; ratio = PyTorch time / our time")
    print(f"{'row':48s} {'ours ms':>10s} {'torch ms':>10s} {'ratio':>7s}")
    for name, make in ROWS.items():
        if args.filter not in name:
            continue
        grad = torch.enable_grad() if "_bwd/" in name else torch.no_grad()
        with grad:
            t = time_row(make)
        mine = ours.get(name)
        ratio = f"{t / mine:7.2f}" if mine else "      -"
        mine_ms = f"{mine * 1e3:10.2f}" if mine else "         -"
        print(f"{name:48s} {mine_ms} {t * 1e3:10.2f} {ratio}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
