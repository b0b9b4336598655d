#!/usr/bin/env python3
"""Times the pymunk Push-T references and cjepa's bench_pusht in the same run; prints the ratios.

    pip install gym-pusht          # pymunk 6, pygame, shapely, opencv (never needed to build cjepa)
    python3 bench/pusht_reference.py build/bin/bench_pusht

Steps: gym-pusht's env.step (10 pymunk substeps + shapely coverage), absolute random targets,
reset every 200 steps, like BM_PushTStep. Frames: the same env's pygame drawing plus cv2.resize to
224x224 and 96x96 (what gym-pusht and stable-worldmodel call per observation), like BM_PushTRender.
Single thread both sides.
"""
import json
import os
import subprocess
import sys
import time

import numpy as np


def time_loop(fn, min_seconds=2.0):
    n, start = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return n / elapsed


def reference_rates():
    import cv2
    import gymnasium as gym
    import gym_pusht  # noqa: F401
    env = gym.make("gym_pusht/PushT-v0", obs_type="state").unwrapped
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    count = [0]

    def step():
        count[0] += 1
        if count[0] % 200 == 0:
            env.reset(seed=count[0])
        env.step(rng.uniform(50, 450, 2))

    rates = {"steps": time_loop(step)}
    env.reset(options={"reset_to_state": [250, 330, 256, 200, 0.4]})
    env.step(np.array([250.0, 270.0]))
    for size in (224, 96):
        def frame():
            screen = env._draw()
            env._get_img(screen, size, size)
        rates[f"frames_{size}"] = time_loop(frame)
    return rates


def cjepa_rates(binary):
    out = subprocess.run([binary, "--benchmark_format=json", "--benchmark_min_time=1"], check=True,
                         capture_output=True, text=True).stdout
    rates = {}
    for b in json.loads(out)["benchmarks"]:
        key = "steps" if b["name"] == "BM_PushTStep" else "frames_" + b["name"].split("/")[1]
        rates[key] = b["items_per_second"]
    return rates


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join("build", "bench", "bench_pusht")
    ours = cjepa_rates(binary)
    ref = reference_rates()
    print(f"{'':12s} {'cjepa /s':>12s} {'reference /s':>14s} {'ratio':>8s}")
    for key in ("steps", "frames_224", "frames_96"):
        print(f"{key:12s} {ours[key]:12.0f} {ref[key]:14.0f} {ours[key] / ref[key]:7.1f}x")


if __name__ == "__main__":
    main()
