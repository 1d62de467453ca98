"""A 3 x 2 grid x 4 seeds PPO sweep as one command, against the same 24 runs one at a time.

    python benchmarks/sweep_throughput.py [--env InvManagement-v1] [--cli-runs 6]
        [--default-steps 120000] [--small-steps 48000] [--settings default,small]

The grid is ``lr`` in {3e-4, 1e-3, 3e-3} x ``ent_coef`` in {0, 0.01}, 4 seeds: 24 runs of
``--*-steps`` env steps each, at two PPO settings: ``default`` (200 envs x 30 steps per
update, the ``jaxinv train`` default, which alone already keeps two CPU cores busy) and
``small`` (16 envs x 30 steps, where one run leaves most of the machine idle and batching
runs pays). For each setting, wall times of:

(a) ``jaxinv sweep`` as one command in a fresh process: import, compile, train all 24 runs,
    evaluate every greedy policy, write the sweep directory. By default the sweep splits its
    runs over one XLA CPU device per core; it is also timed with ``--devices 1`` (a1);
(b) the 24 runs as a user would make them one after another: ``jaxinv train`` once per
    configuration and seed, each a fresh process (import + compile + train + evaluate).
    ``--cli-runs K`` of them are timed (one per configuration first, then more seeds) and
    their mean is multiplied by 24; ``--cli-runs 24`` times them all;
(c) the strongest sequential baseline: in this process, one compiled ``train(config, key)``
    (traced hyperparameters, so one compilation serves all 24) and one compiled greedy
    evaluation, called 24 times one after another (compile time included once).

Every process runs with the persistent compilation cache off (``JAXINV_COMPILATION_CACHE=0``),
as when these figures were first taken: with it on (the command line's default), each of
(b)'s runs after the first would load its programs instead of compiling them.

Ratios (b)/(a) and (c)/(a) say how many times faster the sweep is; (b)/(a1) and (c)/(a1) the
same for the one-device sweep. Every run trains the same
number of env steps and is evaluated on the same evaluation episodes. The machine's load
average is recorded: figures taken while other work shares the CPU are noisy. Writes
``benchmarks/results/sweep_throughput_<env>_cpu.json``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jax
import numpy as np
from common import write_results

from jaxinv import agents, runs, training
from jaxinv import evaluate as evaluate_lib
from jaxinv.agents import base

GRID = {"lr": [3e-4, 1e-3, 3e-3], "ent_coef": [0.0, 0.01]}
SEEDS = 4
SETTINGS = {
    "default": {"num_envs": 200, "num_steps": 30},
    "small": {"num_envs": 16, "num_steps": 30},
}


def jaxinv_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "jaxinv.cli", *args]


def timed(command: list[str]) -> float:
    """Wall seconds of ``command`` in a fresh process (which must succeed)."""
    start = time.perf_counter()
    env = {**os.environ, "JAXINV_COMPILATION_CACHE": "0"}  # every process compiles (module doc)
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    if done.returncode:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return wall


def set_flags(overrides: dict) -> list[str]:
    return [f for k, v in overrides.items() for f in ("--set", f"{k}={json.dumps(v)}")]


def sweep_command(env: str, overrides: dict, out: Path, devices: int | None) -> list[str]:
    grid = [f"{k}={','.join(str(v) for v in vs)}" for k, vs in GRID.items()]
    flags = [] if devices is None else ["--devices", str(devices)]
    return jaxinv_command(
        "sweep", "--env", env, "--algo", "ppo", *[f for g in grid for f in ("--grid", g)],
        "--seeds", str(SEEDS), *set_flags(overrides), *flags, "--out", str(out), "--quiet",
    )  # fmt: skip


def in_process_loop(env_id: str, overrides: dict) -> dict:
    """(c): one compiled train(config, key) and one compiled evaluation, called 24 times."""
    start = time.perf_counter()
    built = training.build(env_id, "ppo", training.resolved_overrides(env_id, "ppo", overrides))
    module = agents.algorithm("ppo")
    setup = training.evaluation_set(built.env, built.params, None)
    steps = evaluate_lib.default_num_steps(built.env)

    def train(config, key):
        return base.train_fn(module.make_learner(config, built.env, built.params))(key)

    def evaluate(config, agent):
        policy = module.make_learner(config, built.env, built.params).policy(agent, True)
        return evaluate_lib.episode_returns(
            built.env, policy, setup["params"], setup["key"], setup["num_episodes"], steps
        )

    train, evaluate = jax.jit(train), jax.jit(evaluate)
    combos = [dict(zip(GRID, v, strict=True)) for v in itertools.product(*GRID.values())]
    configs = [
        module.make_config(**training.split_overrides({**overrides, **c})[1]) for c in combos
    ]
    keys = jax.random.split(jax.random.PRNGKey(0), SEEDS)
    means = []
    first_s = None
    for config, key in itertools.product(configs, keys):
        state, _ = train(config, key)
        means.append(float(np.mean(np.asarray(evaluate(config, state.agent)))))
        if first_s is None:
            first_s = time.perf_counter() - start  # includes both compilations
    return {"wall_s": time.perf_counter() - start, "first_run_s": first_s, "eval_means": means}


def measure(env: str, name: str, total_steps: int, cli_runs: int, scratch: Path) -> dict:
    overrides = {**SETTINGS[name], "total_steps": total_steps}
    print(f"[{name}] {overrides}", file=sys.stderr, flush=True)
    out = scratch / f"sweep_{name}"
    sweep_wall = timed(sweep_command(env, overrides, out, None))
    summary = runs.read_json(out / runs.SUMMARY)
    print(f"  (a) jaxinv sweep: {sweep_wall:.1f}s on {summary['devices']} devices",
          file=sys.stderr, flush=True)  # fmt: skip
    one_wall = timed(sweep_command(env, overrides, scratch / f"sweep1_{name}", 1))
    print(f"  (a1) jaxinv sweep --devices 1: {one_wall:.1f}s", file=sys.stderr, flush=True)

    combos = list(itertools.product(*GRID.values()))
    order = [(c, s) for s in range(SEEDS) for c in combos][:cli_runs]
    cli_walls = []
    for values, seed in order:
        config = {**overrides, **dict(zip(GRID, values, strict=True))}
        command = jaxinv_command(
            "train", "--env", env, "--algo", "ppo", "--seed", str(seed), *set_flags(config),
            "--out", str(scratch / f"train_{name}_{len(cli_walls)}"), "--quiet",
        )  # fmt: skip
        cli_walls.append(timed(command))
        print(f"  (b) jaxinv train {len(cli_walls)}/{len(order)}: {cli_walls[-1]:.1f}s",
              file=sys.stderr, flush=True)  # fmt: skip
    runs_total = len(combos) * SEEDS
    cli_total = float(np.mean(cli_walls)) * runs_total

    loop = in_process_loop(env, overrides)
    print(f"  (c) in-process loop: {loop['wall_s']:.1f}s", file=sys.stderr, flush=True)
    return {
        "overrides": overrides,
        "runs": runs_total,
        "env_steps_per_run": summary["total_steps"],
        "sweep": {
            "wall_s": sweep_wall,
            "devices": summary["devices"],
            "inner_wall_s": summary["wall_s"],
            "compile_s": summary["compile_s"],
            "train_s": sum(g["train_s"] for g in summary["groups"]),
            "batches": [g["batches"] for g in summary["groups"]],
            "best": summary["best"]["values"],
        },
        "sweep_one_device": {"wall_s": one_wall},
        "cli_sequential": {
            "runs_timed": len(cli_walls),
            "walls_s": cli_walls,
            "mean_s": float(np.mean(cli_walls)),
            "total_s": cli_total,
            "extrapolated": len(cli_walls) < runs_total,
        },
        "in_process_loop": {"wall_s": loop["wall_s"], "first_run_s": loop["first_run_s"]},
        "speedup_vs_cli": cli_total / sweep_wall,
        "speedup_vs_in_process_loop": loop["wall_s"] / sweep_wall,
        "one_device_speedup_vs_cli": cli_total / one_wall,
        "one_device_speedup_vs_in_process_loop": loop["wall_s"] / one_wall,
        "sweep_env_steps_per_s": runs_total * summary["total_steps"] / sweep_wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="InvManagement-v1")
    parser.add_argument("--settings", default="default,small")
    parser.add_argument("--default-steps", type=int, default=120_000, help="env steps per run")
    parser.add_argument("--small-steps", type=int, default=48_000, help="env steps per run")
    parser.add_argument("--cli-runs", type=int, default=6, help="fresh-process runs timed")
    args = parser.parse_args()
    if not 1 <= args.cli_runs <= 24:
        raise SystemExit(f"--cli-runs={args.cli_runs} must be in [1, 24]")
    steps = {"default": args.default_steps, "small": args.small_steps}
    names = [n.strip() for n in args.settings.split(",") if n.strip()]
    unknown = [n for n in names if n not in SETTINGS]
    if unknown:
        raise SystemExit(f"--settings {unknown} unknown; choose from {list(SETTINGS)}")
    load_before = os.getloadavg()
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        for name in names:
            results[name] = measure(args.env, name, steps[name], args.cli_runs, Path(scratch))
    report = {
        "benchmark": "sweep_throughput",
        "env": args.env,
        "grid": GRID,
        "seeds": SEEDS,
        "settings": results,
    }
    path = write_results(f"sweep_throughput_{args.env}_cpu", report, load_before)
    for name, r in results.items():
        b = r["cli_sequential"]
        print(
            f"{name:8s} {r['runs']} runs x {r['env_steps_per_run']} steps: (a) sweep "
            f"{r['sweep']['wall_s']:.1f}s | (b) jaxinv train x24 {b['total_s']:.1f}s"
            f"{' (from ' + str(b['runs_timed']) + ' timed)' if b['extrapolated'] else ''} "
            f"-> {r['speedup_vs_cli']:.1f}x | (c) in-process loop "
            f"{r['in_process_loop']['wall_s']:.1f}s -> {r['speedup_vs_in_process_loop']:.2f}x | "
            f"(a1) sweep on 1 device {r['sweep_one_device']['wall_s']:.1f}s: "
            f"{r['one_device_speedup_vs_cli']:.1f}x, "
            f"{r['one_device_speedup_vs_in_process_loop']:.2f}x"
        )
    print(f"-> {path}")


if __name__ == "__main__":
    main()
