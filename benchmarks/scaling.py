"""How PPO training throughput scales with envs, seeds in parallel and devices; state sizes.

    python benchmarks/scaling.py [--env InvManagement-v1] [--long]

Env steps per second (all runs together) of PPO training on ``--env``, compilation excluded,
best of ``--repeats`` timed chunks of updates:

* against ``num_envs`` (16 .. 1024; one seed, 30 steps per update);
* against seeds trained at once (1 .. 16, ``vmap`` over seeds; 16 envs each, the setting where
  one run leaves the machine idle);
* against devices (1, 2, 4 forced XLA host devices) through the sweep's sharded path
  (``sweep.train_group``: runs split over a ``Mesh`` with ``shard_map``), each in a fresh
  process since the device count is fixed when JAX starts; 8 runs of 16 envs.

Also the bytes of state per env: one env's state and observation (``jax.eval_shape``), and
the learner's whole training state divided by ``num_envs``; and, per ``num_envs``, the
sweep's memory estimate for one run beside XLA's own memory analysis of the compiled chunk.
``--long`` times more updates and adds larger settings. Writes
``benchmarks/results/scaling_<env>_cpu.json`` and ``.png``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import jax
import numpy as np
from common import best_of, write_results

from jaxinv import runs, sweep, training
from jaxinv.agents import base


def tree_bytes(tree) -> int:
    return sum(math.prod(x.shape) * np.dtype(x.dtype).itemsize for x in jax.tree.leaves(tree))


def throughput(env_id: str, num_envs: int, seeds: int, updates: int, repeats: int) -> dict:
    """Env steps/s of ``updates`` PPO updates x ``seeds`` seeds vmapped on one device."""
    overrides = {"num_envs": num_envs, "num_steps": 30, "total_steps": num_envs * 30 * updates}
    built = training.build(env_id, "ppo", training.resolved_overrides(env_id, "ppo", overrides))
    learner = built.learner
    state = training.init_seeds(learner, jax.random.split(jax.random.PRNGKey(0), seeds))
    start = time.perf_counter()
    chunk = jax.jit(jax.vmap(lambda s: base.run(learner, s, updates)))
    compiled = chunk.lower(state).compile()
    compile_s = time.perf_counter() - start
    memory = compiled.memory_analysis()
    state, best = best_of(compiled, state, repeats)
    steps = updates * learner.steps_per_update * seeds
    return {
        "num_envs": num_envs,
        "seeds": seeds,
        "steps_per_s": steps / best,
        "best_s": best,
        "steps_timed": steps,
        "compile_s": compile_s,
        "xla_temp_bytes": getattr(memory, "temp_size_in_bytes", None),
        "xla_argument_bytes": getattr(memory, "argument_size_in_bytes", None),
        "state_bytes": tree_bytes(state),
    }


def state_bytes(env_id: str, num_envs_list: list[int]) -> dict:
    """Bytes of one env's state and observation, and of PPO's training state per env."""
    built = training.build(env_id, "ppo", training.resolved_overrides(env_id, "ppo", {}))
    obs, env_state = jax.eval_shape(built.env.reset, jax.random.PRNGKey(0), built.params)
    rows = []
    for n in num_envs_list:
        overrides = {"num_envs": n, "num_steps": 30}
        group = sweep.plan(env_id, "ppo", overrides, [{}])[0]
        learner = group.built.learner
        learner_state = jax.eval_shape(learner.init, jax.random.PRNGKey(0))
        estimate = sweep.run_bytes(group, lambda c, k, learner=learner: learner.init(k))
        rows.append(
            {
                "num_envs": n,
                "learner_state_bytes": tree_bytes(learner_state),
                "learner_state_bytes_per_env": tree_bytes(learner_state) / n,
                "sweep_run_bytes_estimate": estimate,
            }
        )
    return {
        "env_state_bytes": tree_bytes(env_state),
        "observation_bytes": tree_bytes(obs),
        "ppo": rows,
    }


DEVICE_SCRIPT = """
import json, sys, jax
from jaxinv import sweep
env_id, devices, runs_, updates = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
overrides = {"num_envs": 16, "num_steps": 30, "total_steps": 16 * 30 * updates}
lrs = [1e-3 * (1 + i) for i in range(runs_)]
(group,) = sweep.plan(env_id, "ppo", overrides, [{"lr": lr} for lr in lrs])
result = sweep.train_group(group, 1, 0, devices=jax.devices()[:devices], episodes=10)
steps = runs_ * group.built.learner.num_updates * group.built.learner.steps_per_update
print(json.dumps({"devices": devices, "runs": runs_, "steps_per_s": steps / result.train_s,
                  "train_s": result.train_s, "compile_s": result.compile_s}))
"""


def over_devices(env_id: str, devices: int, runs_: int, updates: int) -> dict:
    env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")
    done = subprocess.run(
        [sys.executable, "-c", DEVICE_SCRIPT, env_id, str(devices), str(runs_), str(updates)],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parents[1],
    )
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def figure(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    panels = [
        ("num_envs", report["num_envs"], "envs (one seed)"),
        ("seeds", report["seeds"], "seeds in parallel (16 envs each)"),
        ("devices", report["devices"], "forced host devices (8 runs x 16 envs)"),
    ]
    for ax, (key, rows, label) in zip(axes, panels, strict=True):
        x = [r[key] for r in rows]
        y = [r["steps_per_s"] / 1e3 for r in rows]
        ax.plot(x, y, "o-")
        ax.set_xscale("log", base=2)
        ax.set_xlabel(label)
        ax.set_ylabel("env steps/s (thousands)")
        ax.grid(alpha=0.3)
        ax.set_ylim(bottom=0)
    fig.suptitle(f"PPO training throughput on {report['env']} ({report['machine']['cpu']})")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="InvManagement-v1")
    parser.add_argument("--long", action="store_true", help="more updates, larger settings")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    env_counts = [16, 64, 256, 1024] + ([4096] if args.long else [])
    seed_counts = [1, 2, 4, 8, 16] + ([32] if args.long else [])
    steps_per_chunk = 240_000 if args.long else 60_000  # env steps per timed chunk, about
    load_before = os.getloadavg()

    def updates_for(num_envs: int, seeds: int) -> int:
        return max(2, steps_per_chunk // (num_envs * 30 * seeds))

    by_envs = []
    for n in env_counts:
        by_envs.append(throughput(args.env, n, 1, updates_for(n, 1), args.repeats))
        print(f"num_envs {n}: {by_envs[-1]['steps_per_s'] / 1e3:.1f}k steps/s", file=sys.stderr)
    by_seeds = []
    for s in seed_counts:
        by_seeds.append(throughput(args.env, 16, s, updates_for(16, s), args.repeats))
        print(f"seeds {s}: {by_seeds[-1]['steps_per_s'] / 1e3:.1f}k steps/s", file=sys.stderr)
    by_devices = []
    for d in (1, 2, 4):
        by_devices.append(over_devices(args.env, d, 8, updates_for(16, 8)))
        print(f"devices {d}: {by_devices[-1]['steps_per_s'] / 1e3:.1f}k steps/s", file=sys.stderr)
    report = {
        "benchmark": "scaling",
        "env": args.env,
        "algo": "ppo",
        "long": args.long,
        "num_envs": by_envs,
        "seeds": by_seeds,
        "devices": by_devices,
        "state_bytes": state_bytes(args.env, env_counts),
    }
    path = write_results(f"scaling_{args.env}_cpu", report, load_before)
    figure(runs.read_json(path), path.with_suffix(".png"))
    print(f"-> {path} and {path.with_suffix('.png').name}")


if __name__ == "__main__":
    main()
