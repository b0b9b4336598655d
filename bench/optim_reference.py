#!/usr/bin/env python3
"""PyTorch's side of bench/bench_optim.cpp: one AdamW step and one clip_grad_norm_ over the C-JEPA
predictor's 83 parameter tensors (3.6 M values, the same shapes), on the CPU (2 threads, as ours).

    python3 bench/optim_reference.py [--repeat 20]

Prints one line per variant: AdamW single-tensor (foreach=False), foreach, fused; clip_grad_norm_
with foreach. Milliseconds, median of --repeat after a warm-up.
"""
import argparse
import statistics
import time

import torch


def predictor_shapes():
    shapes = [(1, 1, 128), (1, 16, 128), (128, 128), (128,)]
    layer = [(384, 128), (384,), (128, 128), (128,), (2048, 128), (2048,), (128, 2048), (128,), (128,), (128,),
             (128,), (128,)]
    shapes += layer * 6
    shapes += [(128,), (128,), (128, 128), (128,), (128,), (128,), (128, 128)]
    return shapes


def params_with_grads():
    torch.manual_seed(0)
    params = []
    for s in predictor_shapes():
        p = torch.nn.Parameter(torch.rand(s) * 2 - 1)
        p.grad = (torch.rand(s) * 2 - 1) * 1e-2
        params.append(p)
    return params


def median_ms(fn, repeat):
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    torch.set_num_threads(2)
    print(f"parameters: {sum(p.numel() for p in params_with_grads()):,} in {len(predictor_shapes())} tensors")
    for name, kwargs in [("single-tensor", dict(foreach=False)), ("foreach", dict(foreach=True)),
                         ("fused", dict(fused=True))]:
        params = params_with_grads()
        opt = torch.optim.AdamW(params, lr=5e-4, **kwargs)
        print(f"adamw_step {name}: {median_ms(opt.step, args.repeat):.2f} ms")
    params = params_with_grads()
    norm = float(torch.nn.utils.clip_grad_norm_(params, 1e30))
    ms = median_ms(lambda: torch.nn.utils.clip_grad_norm_(params, norm * 0.9999999, foreach=True), args.repeat)
    print(f"clip_grad_norm foreach: {ms:.2f} ms")


if __name__ == "__main__":
    main()
