"""Stable-Baselines3 on jaxinv's own dynamics (the Gymnasium bridge) beside jaxinv's learners.

    python benchmarks/sb3_bridge.py [--env InvManagement-v1] [--sb3-steps 50000]
        [--episodes 100] [--algos ppo,a2c]

Run it in an interpreter that has jaxinv and stable-baselines3 (with torch):
``pip install -e ".[sb3]"``. In one run it

1. runs SB3's ``check_env`` on ``gymnasium.make("jaxinv/<env>")``;
2. trains SB3's PPO and A2C (their defaults, MLP policy, one env, CPU, one torch thread) for
   ``--sb3-steps`` env steps on the bridge, after a 2,048-step warm-up that is not timed;
3. trains jaxinv's PPO and A2C with their defaults for this env twice: for the same
   ``--sb3-steps`` env steps, and for their default budget;
4. scores every policy greedily on the same ``--episodes`` demand paths: episodes of the
   bridge's vector env seeded 0, 1, ... (the demand does not depend on the orders, so every
   policy faces the same demand), and pairs each with SB3's policy on those paths.

Prints a table and writes ``benchmarks/results/sb3_bridge_<env>.json`` with the machine.
Throughput is env steps per second of training, compilation excluded for jaxinv (its compile
time is reported beside it); the ratio is jaxinv's over SB3's, measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings

import gymnasium
import jax
import numpy as np
from common import RESULTS, write_results

import jaxinv.gym_bridge
from jaxinv import evaluate, training


def bridge_returns(env_id: str, act, episodes: int) -> np.ndarray:
    """Undiscounted return of each of ``episodes`` bridge episodes (seeds 0..episodes-1) under
    ``act(obs (N, obs) numpy) -> actions (N, ...)``; (episodes,)."""
    vector = jaxinv.gym_bridge.JaxinvVectorEnv(env_id, num_envs=episodes)
    obs, _ = vector.reset(seed=0)
    total, alive = np.zeros(episodes), np.ones(episodes, bool)
    while alive.any():
        obs, reward, terminated, truncated, _ = vector.step(act(obs))
        total += np.where(alive, reward, 0.0)
        alive &= ~(terminated | truncated)
    return total


def sb3_run(env_id: str, algo: str, steps: int, episodes: int) -> dict:
    import stable_baselines3 as sb3
    import torch

    torch.set_num_threads(1)
    cls = {"ppo": sb3.PPO, "a2c": sb3.A2C}[algo]
    model = cls("MlpPolicy", gymnasium.make(f"jaxinv/{env_id}"), verbose=0, seed=0, device="cpu")
    model.learn(total_timesteps=2_048)  # warm-up: first rollout and update
    start = time.perf_counter()
    model.learn(total_timesteps=steps, reset_num_timesteps=False)
    seconds = time.perf_counter() - start
    returns = bridge_returns(
        env_id, lambda obs: model.predict(obs, deterministic=True)[0], episodes
    )
    return {
        "library": f"stable-baselines3 {sb3.__version__}, torch {torch.__version__}",
        "steps": steps,
        "train_s": seconds,
        "steps_per_s": steps / seconds,
        "returns": returns,
    }


def jaxinv_run(env_id: str, algo: str, steps: int | None, episodes: int) -> dict:
    overrides = {} if steps is None else {"total_steps": steps}
    with tempfile.TemporaryDirectory() as out:
        summary = training.train_run(env_id, algo, overrides, out, progress=False)
        loaded = training.load_run(out)
    policy = jax.jit(loaded.built.learner.policy(training.seed_slice(loaded.agent, 0), True))
    key = jax.random.key(0)
    returns = bridge_returns(env_id, lambda obs: np.asarray(policy(key, obs, None)), episodes)
    return {
        "steps": summary["total_steps"],
        "train_s": summary["train_s"],
        "compile_s": summary["compile_s"],
        "steps_per_s": summary["steps_per_s"],
        "returns": returns,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--env", default="InvManagement-v1")
    parser.add_argument("--sb3-steps", type=int, default=50_000)
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--algos", default="ppo,a2c")
    parser.add_argument(
        "--no-default-budget", action="store_true", help="skip jaxinv's default-budget runs"
    )
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    from stable_baselines3.common.env_checker import check_env

    load_before = os.getloadavg()
    check_env(jaxinv.gym_bridge.JaxinvEnv(args.env))  # raises on a failure
    rows = []
    for algo in args.algos.split(","):
        reference = sb3_run(args.env, algo, args.sb3_steps, args.episodes)
        runs = {
            f"SB3 {algo}": reference,
            f"jaxinv {algo}, same steps": jaxinv_run(args.env, algo, args.sb3_steps, args.episodes),
        }
        if not args.no_default_budget:
            runs[f"jaxinv {algo}, default steps"] = jaxinv_run(args.env, algo, None, args.episodes)
        for name, run in runs.items():
            result = evaluate.summarize(run.pop("returns"))
            row = {"policy": name, **run, "eval": result.as_dict()}
            if name != f"SB3 {algo}":
                row["x_sb3_steps_per_s"] = run["steps_per_s"] / reference["steps_per_s"]
            rows.append((row, result))
        base = rows[-len(runs)][1]
        for row, result in rows[1 - len(runs) :]:
            diff = result.returns - base.returns
            row["minus_sb3"] = evaluate.summarize(diff).as_dict()
    print(f"{args.env}: greedy return on {args.episodes} shared demand paths (95% CI)")
    for row, result in rows:
        lo, hi = result.ci95
        ratio = f"{row['x_sb3_steps_per_s']:7.1f}x" if "x_sb3_steps_per_s" in row else "  (ref)"
        versus = ""
        if "minus_sb3" in row:
            d = row["minus_sb3"]
            versus = f"  vs SB3 {d['mean']:+8.2f} [{d['ci95'][0]:+.2f}, {d['ci95'][1]:+.2f}]"
        print(
            f"{row['policy']:28s} {row['steps']:>9,d} steps {row['train_s']:7.1f} s "
            f"{row['steps_per_s']:>10,.0f} steps/s {ratio}  return {result.mean:8.2f} "
            f"[{lo:.2f}, {hi:.2f}]{versus}"
        )
    body = {
        "env": args.env,
        "episodes": args.episodes,
        "evaluation": "bridge vector env seeded 0..episodes-1, greedy, undiscounted",
        "rows": [row for row, _ in rows],
    }
    path = write_results(f"sb3_bridge_{args.env}", body, load_before)
    print(f"wrote {path.relative_to(RESULTS.parent.parent)}")


if __name__ == "__main__":
    main()
