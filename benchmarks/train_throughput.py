"""Training throughput: env steps per second while learning, compilation timed apart.

    python benchmarks/train_throughput.py [--env InvManagement-v1] [--algos ppo,a2c,dqn]
        [--seeds 4] [--updates 20] [--sb3-python PATH]

For each algorithm, with its default config (the one ``jaxinv train`` uses for the env):
one seed, and ``--seeds`` seeds ``vmap``ped on one CPU device (with ``--split-seeds``, also
the seeds split over one device per core by ``shard_map``). A chunk of ``--updates`` updates
is compiled first (``compile_s``), then run ``--repeats`` times; the best run gives the env
steps per second (all seeds together). With ``--sb3-python``, Stable-Baselines3's PPO and A2C
train on or-gym's env in that interpreter in the same run (benchmarks/sb3_steps.py) and the
ratios are reported against them. Writes
``benchmarks/results/train_throughput_<env>_cpu.json`` with the machine it ran on.
"""

from __future__ import annotations

import argparse
import os
import sys

# One XLA CPU device per core, fixed before JAX starts; single-device runs use the first.
os.environ.setdefault("XLA_FLAGS", f"--xla_force_host_platform_device_count={os.cpu_count() or 1}")

import json
import subprocess
import time
from pathlib import Path

import jax
from common import RESULTS, best_of
from jax.sharding import PartitionSpec

from jaxinv import runs, training
from jaxinv.agents import base


def measure(learner: base.Learner, seeds: int, devices: list, updates: int, repeats: int) -> dict:
    """Compile time and best-of-``repeats`` env steps/s of ``updates`` updates x ``seeds``."""
    keys = jax.random.split(jax.random.PRNGKey(0), seeds)

    def chunk(state):
        return jax.vmap(lambda s: base.run(learner, s, updates))(state)

    start = time.perf_counter()
    state = training.init_seeds(learner, jax.device_put(keys, devices[0]))
    if len(devices) > 1:
        # Initialised on one device (one seed after another), then split: a vmapped PPO
        # init, alone or inside a shard_map, hangs on the CPU backend (JAX 0.10.2;
        # scripts/repro_init_hang.py; the orthogonal initialiser alone does not).
        mesh = jax.sharding.Mesh(devices, ("seeds",))
        spec = PartitionSpec("seeds")
        chunk = jax.shard_map(chunk, mesh=mesh, in_specs=spec, out_specs=spec, check_vma=False)
        state = jax.device_put(state, jax.sharding.NamedSharding(mesh, spec))
    state = jax.block_until_ready(state)
    compiled = jax.jit(chunk).lower(state).compile()
    compile_s = time.perf_counter() - start
    state, best = best_of(compiled, state, repeats)
    steps = updates * learner.steps_per_update * seeds
    return {
        "seeds": seeds,
        "devices": len(devices),
        "steps_per_s": steps / best,
        "compile_s": compile_s,
        "steps_timed": steps,
        "best_s": best,
    }


def sb3_reference(python: str, env_id: str, algo: str, steps: int) -> dict:
    script = Path(__file__).parent / "sb3_steps.py"
    out = subprocess.run(
        [python, str(script), "--env", env_id, "--algo", algo, "--steps", str(steps)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--env", default="InvManagement-v1")
    parser.add_argument("--algos", default="ppo,a2c,dqn")
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--updates", type=int, default=20, help="updates per timed chunk")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--split-seeds",
        action="store_true",
        help="also split the seeds over one CPU device per core (no gain measured: XLA already "
        "runs these matmuls on both cores; it has also hung on this machine)",
    )
    parser.add_argument("--sb3-python", default=None)
    parser.add_argument("--sb3-steps", type=int, default=20_000)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    devices = jax.local_devices()
    result: dict = {"env": args.env, "machine": runs.machine(), "algos": {}}
    for algo in args.algos.split(","):
        overrides = training.resolved_overrides(args.env, algo, {})
        built = training.build(args.env, algo, overrides)
        rows = [measure(built.learner, 1, devices[:1], args.updates, args.repeats)]
        rows.append(measure(built.learner, args.seeds, devices[:1], args.updates, args.repeats))
        if args.split_seeds and len(devices) > 1 and args.seeds % len(devices) == 0:
            rows.append(measure(built.learner, args.seeds, devices, args.updates, args.repeats))
        entry: dict = {"config": training.config_dict(built.config), "runs": rows}
        if args.sb3_python and algo in ("ppo", "a2c"):  # SB3 DQN needs a Discrete space
            reference = sb3_reference(args.sb3_python, args.env, algo, args.sb3_steps)
            entry["sb3"] = reference
            for row in rows:
                row["x_sb3"] = row["steps_per_s"] / reference["steps_per_s"]
        result["algos"][algo] = entry
        for row in rows:
            ratio = f"  {row['x_sb3']:6.1f}x SB3" if "x_sb3" in row else ""
            print(
                f"{algo:4s} seeds={row['seeds']} devices={row['devices']}: "
                f"{row['steps_per_s'] / 1e3:8.1f}k env steps/s (compile {row['compile_s']:.1f}s)"
                f"{ratio}",
                flush=True,
            )
        if "sb3" in entry:
            print(f"{algo:4s} SB3 on or-gym: {entry['sb3']['steps_per_s']:.0f} env steps/s")
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"train_throughput_{args.env}_{jax.default_backend()}.json"
    path.write_text(json.dumps(runs.jsonable(result), indent=2) + "\n")
    print(f"wrote {path}")
    return result


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
