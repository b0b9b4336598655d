#!/usr/bin/env python3
"""Records Push-T reference transitions for cjepa's C++ simulator tests (tests/envs/).

Needs `pip install gym-pusht stable-worldmodel pymunk` (never needed to build or test cjepa).
gym-pusht 0.1.8 pins pymunk < 7 while stable-worldmodel calls pymunk 7's `Space.on_collision`, so the
stable-worldmodel half runs under a second interpreter whose environment has pymunk >= 7:

    python3 -m venv --system-site-packages /tmp/swm-venv && /tmp/swm-venv/bin/pip install 'pymunk>=7'
    python3 tools/make_pusht_fixture.py --swm-python /tmp/swm-venv/bin/python

Writes tests/fixtures/pusht/reference.json (states, actions, next states, coverage, layout of the blob)
and tests/fixtures/pusht/frames.bin (uint8 frames and uint16 block sums, little-endian), together
well under 2 MB. Each transition is: fresh reset to the state, then one step with the action.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "tests", "fixtures", "pusht")

# Body-frame edges of the T (bar, then stem) used to place the agent next to the block.
T_EDGES = [((-60, 0), (60, 0)), ((60, 0), (60, 30)), ((-60, 0), (-60, 30)), ((-60, 30), (-15, 30)),
           ((15, 30), (60, 30)), ((-15, 30), (-15, 120)), ((15, 30), (15, 120)), ((-15, 120), (15, 120))]


def block_sums(frame, block):
    """Per-block channel sums (uint16) of an HxWx3 uint8 frame: a compact, exact summary."""
    h, w, _ = frame.shape
    f = frame.astype(np.uint32).reshape(h // block, block, w // block, block, 3)
    return f.sum(axis=(1, 3)).astype(np.uint16)


def agent_touches_block(env):
    agent, block = env.agent, env.block
    return any(s.point_query(agent.position).distance < 15.5 for s in block.shapes)


def sample_pairs(rng, env, reset, n, relative):
    """Yields (state, action): half random, half with the agent just outside the T pushing into it."""
    count = 0
    while count < n:
        block = [rng.uniform(100, 400), rng.uniform(100, 400), rng.uniform(-math.pi, math.pi)]
        agent = [rng.uniform(50, 450), rng.uniform(50, 450)]
        contact = count % 2 == 1
        reset(agent + block)
        if contact:
            (ax, ay), (bx, by) = T_EDGES[rng.integers(len(T_EDGES))]
            t = rng.uniform(0, 1)
            q = env.block.local_to_world((ax + t * (bx - ax), ay + t * (by - ay)))
            c = env.block.local_to_world((0, 45))
            d = np.array([q[0] - c[0], q[1] - c[1]])
            d /= np.linalg.norm(d)
            agent = list(np.array([q[0], q[1]]) + d * (15 + rng.uniform(2, 25)))
            if not all(20 < v < 492 for v in agent):
                continue
            push = -d * rng.uniform(30, 90)
        reset(agent + block)
        if agent_touches_block(env):
            continue
        if relative:
            action = list(np.clip(push / 100, -1, 1)) if contact else list(rng.uniform(-1, 1, 2))
        else:
            action = list(np.array(agent) + push) if contact else list(rng.uniform(0, 512, 2))
        count += 1
        yield agent + block, [float(a) for a in action]


def record_gym(n, n_frames, seed):
    import gymnasium as gym
    import gym_pusht  # noqa: F401  registers gym_pusht/PushT-v0
    env = gym.make("gym_pusht/PushT-v0", obs_type="pixels_agent_pos", render_mode="rgb_array").unwrapped
    reset = lambda s: env.reset(options={"reset_to_state": s})  # noqa: E731
    rng = np.random.default_rng(seed)
    out = {"state": [], "action": [], "next_state": [], "next_agent_velocity": [], "coverage": [],
           "touching": []}
    sums, frames = [], []
    for state, action in sample_pairs(rng, env, reset, n, relative=False):
        reset(state)
        obs, _, _, _, info = env.step(np.array(action, dtype=np.float64))
        nxt = list(env.agent.position) + list(env.block.position) + [env.block.angle % (2 * math.pi)]
        out["state"].append(state)
        out["action"].append(action)
        out["next_state"].append(nxt)
        out["next_agent_velocity"].append(list(env.agent.velocity))
        out["coverage"].append(float(info["coverage"]))
        out["touching"].append(bool(info["n_contacts"] > 0))
        sums.append(block_sums(obs["pixels"], 8))
        if len(frames) < n_frames and (len(frames) % 2 == 0) == out["touching"][-1]:
            frames.append((len(out["state"]) - 1, obs["pixels"].copy()))
    doc = {"env": "gym-pusht " + _version("gym-pusht"), "pymunk": _version("pymunk"), **out}
    doc["frame_indices"] = [i for i, _ in frames]
    reset([0.0, 10.0, 20.0, 30.0, 1.0])
    doc["legacy_reset_example"] = list(env.block.position)
    return doc, np.stack(sums), np.stack([f for _, f in frames])


def record_swm(n, n_frames, seed, path):
    from stable_worldmodel.envs.pusht.env import PushT
    env = PushT(resolution=224)
    # The goal's agent is away from the T: swm's reset steps once at the goal state first, and an overlap
    # there would leave the block a velocity that the next state inherits.
    goal = np.array([80.0, 440.0, 256.0, 256.0, math.pi / 4, 0.0, 0.0])
    rng = np.random.default_rng(seed)

    def reset(s):
        full = np.array(list(s) + [0.0, 0.0]) if len(s) == 5 else np.array(s)
        env.reset(seed=0, options={"state": full, "goal_state": goal})

    out = {"state": [], "action": [], "next_state": []}
    sums, frames = [], []
    for state, action in sample_pairs(rng, env, reset, n, relative=True):
        state = state + list(rng.uniform(-60, 60, 2))  # a 7-d state: the agent velocity is set too
        reset(state)
        obs, _, _, _, _ = env.step(np.array(action, dtype=np.float64))
        frame = env.render()
        out["state"].append(state)
        out["action"].append(action)
        out["next_state"].append([float(v) for v in obs["state"]])
        sums.append(block_sums(frame, 32))
        if len(frames) < n_frames:
            frames.append((len(out["state"]) - 1, frame.copy()))
    doc = {"env": "stable-worldmodel " + _version("stable-worldmodel"), "pymunk": _version("pymunk"), **out,
           "goal_state": goal.tolist()}
    doc["frame_indices"] = [i for i, _ in frames]
    np.savez(path, sums=np.stack(sums), frames=np.stack([f for _, f in frames]))
    with open(path + ".json", "w") as f:
        json.dump(doc, f)


def resize_probe():
    """cv2.resize of a synthetic high-frequency image, regenerated by the C++ test from this formula."""
    import cv2
    y, x = np.mgrid[0:512, 0:512]
    img = np.stack([(x * 7 + y * 13) % 256, (x * x + 3 * y) % 256, (x ^ y) % 256], axis=-1).astype(np.uint8)
    return cv2.resize(img, (96, 96))


def _version(pkg):
    from importlib.metadata import version
    return version(pkg)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--swm-python", help="interpreter with stable-worldmodel and pymunk>=7")
    p.add_argument("--part", choices=["swm"], help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    p.add_argument("--seed", type=int, default=2024)
    args = p.parse_args()
    if args.part == "swm":
        record_swm(150, 1, args.seed + 1, args.out)
        return
    gym_doc, gym_sums, gym_frames = record_gym(500, 8, args.seed)
    blobs = []  # (name, array) appended to frames.bin in order

    def add(name, arr):
        blobs.append((name, np.ascontiguousarray(arr)))

    add("gym_block_sums", gym_sums)
    add("gym_frames", gym_frames)
    add("resize_probe_96", resize_probe())
    doc = {"gym": gym_doc, "tool": "tools/make_pusht_fixture.py", "seed": args.seed}
    if args.swm_python:
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "swm.npz")
            subprocess.run([args.swm_python, __file__, "--part", "swm", "--out", path, "--seed", str(args.seed)],
                           check=True)
            with open(path + ".json") as f:
                doc["swm"] = json.load(f)
            z = np.load(path)
            add("swm_block_sums", z["sums"])
            add("swm_frames", z["frames"])
    layout, offset = {}, 0
    os.makedirs(OUT_DIR, exist_ok=True)
    with open(os.path.join(OUT_DIR, "frames.bin"), "wb") as f:
        for name, arr in blobs:
            layout[name] = {"offset": offset, "shape": list(arr.shape), "dtype": str(arr.dtype)}
            data = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
            f.write(data)
            offset += len(data)
    doc["blobs"] = layout
    with open(os.path.join(OUT_DIR, "reference.json"), "w") as f:
        json.dump(doc, f, separators=(",", ":"))
    print("wrote", OUT_DIR, "frames.bin", offset, "bytes")


if __name__ == "__main__":
    main()
