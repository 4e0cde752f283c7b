"""Environment stepping from Python: steps/s at batch 4096 through metarl.make_env's
zero-copy arrays, through the Gymnasium-style adapter (copies, and views with
copy=False), and of an environment written in Python, beside `metarl bench`'s C++ figure
for the same environment and batch (docs/benchmarks.md, "Python").

    PYTHONPATH=build/python /usr/bin/python3 bench/python_stepping.py [--env point-nav] [--batch 4096] [--steps 2000]

Actions are drawn before timing (64 batches, cycled), as `metarl bench` does. One thread.
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

import metarl

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "python"))
import drift  # noqa: E402  (examples/python/drift.py: an environment written in NumPy)


def timed(step, actions, steps, repetitions=3):
    """Best of `repetitions` runs of `steps` steps: steps/s over all rows."""
    best = 0.0
    for _ in range(repetitions):
        start = time.perf_counter()
        for t in range(steps):
            step(actions[t % len(actions)])
        elapsed = time.perf_counter() - start
        best = max(best, steps * actions.shape[1] / elapsed)
    return best


def actions_for(env, rng):
    if env.discrete_actions:
        return rng.integers(0, env.num_actions, size=(64, env.batch_size, 1)).astype(np.float32)
    low, high = np.asarray(env.action_low), np.asarray(env.action_high)
    return rng.uniform(low, high, size=(64, env.batch_size, env.action_dim)).astype(np.float32)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--env", default="point-nav")
    parser.add_argument("--batch", type=int, default=4096)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--cli", default=None, help="metarl executable, for the C++ figure")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    rows = {}

    env = metarl.make_env(args.env, args.batch, 1)
    env.set_step_threads(1)
    env.reset()
    actions = actions_for(env, rng)
    rows["make_env (NumPy views)"] = timed(env.step, actions, args.steps)

    for copy in (True, False):
        vector = metarl.VectorEnv(args.env, num_envs=args.batch, seed=1, copy=copy)
        vector.env.set_step_threads(1)
        vector.reset()
        rows[f"VectorEnv (copy={copy})"] = timed(vector.step, actions, args.steps)

    drift.register("bench-py-drift")
    python_env = metarl.make_env("bench-py-drift", args.batch, 1)
    python_env.set_step_threads(1)
    python_env.reset()
    drift_actions = rng.uniform(-0.1, 0.1, size=(64, args.batch, 1)).astype(np.float32)
    rows["Python-defined env (bench-py-drift, make_env)"] = timed(python_env.step, drift_actions, args.steps // 4)

    if args.cli:
        out = subprocess.run([args.cli, "bench", "--env", args.env, "--skip-meta", "--batch", str(args.batch),
                              "--json"], capture_output=True, text=True, check=True).stdout
        stepping = json.loads(out)["env_stepping"][args.env]
        rows["metarl bench (C++, one thread)"] = stepping["steps_per_second"]
    for name, value in rows.items():
        print(f"{args.env if 'drift' not in name else 'bench-py-drift':16s} {name:48s} {value / 1e6:10.2f} M steps/s")


if __name__ == "__main__":
    main()
