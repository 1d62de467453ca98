"""Single-env OR-Gym 0.5.0 stepping throughput (the reference baseline for jaxinv).

Run with the OR-Gym reference venv (no jax involved)::

    .venv-orgym/bin/python benchmarks/orgym_steps.py --env InvManagement-v1 --steps 200000

Steps ONE or-gym env with uniformly random valid integer actions in [0, c], calling
``env.reset()`` whenever an episode ends, and prints exactly one JSON line to stdout.

Timing: the actions are pre-generated with numpy before the clock starts, so RNG cost is NOT
counted. The timed loop covers ``env.step`` plus the ``env.reset`` calls at episode ends (resets
are part of a rollout; with the default 30-period horizon that is one reset per 30 steps).
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np
import or_gym


def run(env_id: str, steps: int, seed: int) -> dict[str, object]:
    """Time ``steps`` env steps and return the result record."""
    env = or_gym.make(env_id)
    cap = np.asarray(env.unwrapped.supply_capacity, dtype=np.int64)
    rng = np.random.default_rng(seed)
    actions = rng.integers(0, cap + 1, size=(steps, cap.size))  # pre-generated, not timed

    env.reset()
    start = time.perf_counter()
    for t in range(steps):
        _, _, done, _ = env.step(actions[t])
        if done:
            env.reset()
    seconds = time.perf_counter() - start

    return {
        "env": env_id,
        "steps": steps,
        "seconds": seconds,
        "steps_per_s": steps / seconds,
        "orgym_version": or_gym.__version__,
        "python": platform.python_version(),
    }


def main() -> None:
    """CLI entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="InvManagement-v1", help="or-gym env id")
    parser.add_argument("--steps", type=int, default=200_000, help="number of env steps")
    parser.add_argument("--seed", type=int, default=0, help="seed for the action sequence")
    args = parser.parse_args()
    if args.steps <= 0:
        parser.error("--steps must be positive")
    print(json.dumps(run(args.env, args.steps, args.seed)))


if __name__ == "__main__":
    main()
