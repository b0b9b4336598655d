#!/usr/bin/env python3
"""PyTorch's side of bench/bench_optim.cpp: one AdamW step and one clip_grad_norm_ over the C-JEPA
predictor's 83 parameter tensors (3.6 M values, the same shapes), on the CPU.

    python3 bench/optim_reference.py [--repeat 20] [--threads 2]   # ours: OMP_NUM_THREADS=2 build/bin/bench_optim

Prints one line per variant: AdamW single-tensor (foreach=False), foreach, fused; clip_grad_norm_
with foreach. Milliseconds, median and best of --repeat after a warm-up.
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


def timing(fn, repeat):
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return f"median {statistics.median(times):.2f} ms, best {min(times):.2f} ms"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"parameters: {sum(p.numel() for p in params_with_grads()):,} in {len(predictor_shapes())} tensors")
    for name, kwargs in [("single-tensor", dict(foreach=False)), ("foreach", dict(foreach=True)),
                         ("fused", dict(fused=True))]:
        params = params_with_grads()
        opt = torch.optim.AdamW(params, lr=5e-4, **kwargs)
        print(f"adamw_step {name}: {timing(opt.step, args.repeat)}")
    params = params_with_grads()
    norm = float(torch.nn.utils.clip_grad_norm_(params, 1e30))
    clip = lambda: torch.nn.utils.clip_grad_norm_(params, norm * 0.9999999, foreach=True)  # noqa: E731
    print(f"clip_grad_norm foreach: {timing(clip, args.repeat)}")


if __name__ == "__main__":
    main()
