"""Environment steps per second against the number of chains stepped in parallel.

    python benchmarks/env_throughput.py [--env ID] [--orgym-python .venv-orgym/bin/python]

For each batch size, N chains are stepped for T periods under uniformly random valid orders
(``jaxinv.simulate``; auto-reset at the horizon included), on a single CPU device and split over
one device per core, through the env's batched ``step_many`` (one key per batch) and through the
gymnax idiom ``vmap(env.step)`` with a key per chain. Compilation is timed apart
from running; the run time is the best of ``--repeats``. With ``--orgym-python``, one or-gym env
is stepped in that interpreter in the same run (benchmarks/orgym_steps.py) and the ratio is
reported against it. Writes ``benchmarks/results/env_throughput_<env>.json`` (with machine
info) and a PNG plot beside it.
"""

from __future__ import annotations

import argparse
import os
import sys

# One XLA CPU device per core, fixed before JAX starts; a single-device run uses one of them.
os.environ.setdefault("XLA_FLAGS", f"--xla_force_host_platform_device_count={os.cpu_count() or 1}")

import json
import subprocess
import time
from pathlib import Path

import jax

import jaxinv
from jaxinv import simulate
from jaxinv.policies.constant import uniform_random
from jaxinv.runs import machine

RESULTS = Path(__file__).parent / "results"


APIS = {"step_many": False, "vmap(step)": True}  # name -> per_env_keys


def time_rollout(
    env, params, num_envs: int, num_steps: int, devices, repeats: int, api: str
) -> dict:
    """Compile and run one rollout configuration; steps/s from the best repeat."""
    policy = uniform_random(params.c)
    start = time.perf_counter()
    rollout = simulate.shard_over_devices(
        lambda n: simulate.make_rollout(env, params, policy, n, num_steps, APIS[api]),
        num_envs,
        devices,
    )
    jax.block_until_ready(rollout(jax.random.key(0)))
    first_call = time.perf_counter() - start
    best = float("inf")
    for repeat in range(repeats):
        start = time.perf_counter()
        total, episodes = jax.block_until_ready(rollout(jax.random.key(repeat + 1)))
        best = min(best, time.perf_counter() - start)
    steps = num_envs * num_steps
    return {
        "api": api,
        "num_envs": num_envs,
        "num_steps": num_steps,
        "devices": len(devices),
        "compile_s": first_call - best,
        "run_s": best,
        "steps_per_s": steps / best,
        "mean_return": float(total.sum() / max(int(episodes.sum()), 1)),
    }


def orgym_reference(python: str, env_id: str, steps: int) -> dict:
    """One or-gym env stepped in its own interpreter; the JSON line it prints."""
    script = Path(__file__).parent / "orgym_steps.py"
    out = subprocess.run(
        [python, str(script), "--env", env_id, "--steps", str(steps)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def plot(result: dict, path: Path) -> None:
    """Steps/s against batch size, one line per device count, or-gym as a reference line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for api, style in zip(APIS, ("o-", "s--"), strict=True):
        for devices in sorted({r["devices"] for r in result["runs"]}):
            runs = [r for r in result["runs"] if r["devices"] == devices and r["api"] == api]
            label = f"jaxinv {api}, {devices} CPU device{'s' if devices > 1 else ''}"
            xs, ys = [r["num_envs"] for r in runs], [r["steps_per_s"] for r in runs]
            ax.plot(xs, ys, style, label=label)
    if result.get("orgym"):
        ax.axhline(result["orgym"]["steps_per_s"], color="grey", ls="--", label="or-gym, 1 env")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("chains stepped in parallel")
    ax.set_ylabel("env steps / s")
    ax.set_title(f"{result['env']}, random orders, {result['machine']['cores']}-core CPU")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="InvManagement-v1")
    parser.add_argument(
        "--batch-sizes",
        default="1,16,256,1024,4096,16384,65536",
        help="comma-separated numbers of parallel chains",
    )
    parser.add_argument("--min-steps", type=int, default=1 << 22, help="env steps per timed run")
    parser.add_argument("--max-periods", type=int, default=4096, help="periods per timed run")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--orgym-python", help="a Python with or-gym 0.5.0 installed")
    parser.add_argument("--orgym-steps", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    env, params = jaxinv.make(args.env)
    all_devices = jax.local_devices()
    device_sets = [all_devices[:1]] + ([all_devices] if len(all_devices) > 1 else [])
    runs = []
    for api in APIS:
        for devices in device_sets:
            for num_envs in (int(b) for b in args.batch_sizes.split(",")):
                if num_envs % len(devices):
                    continue
                num_steps = min(args.max_periods, max(env.periods, args.min_steps // num_envs))
                run = time_rollout(env, params, num_envs, num_steps, devices, args.repeats, api)
                runs.append(run)
                print(
                    f"{api:>10} {len(devices)} device(s) {num_envs:>6} envs: "
                    f"{run['steps_per_s'] / 1e6:8.2f}M steps/s (compile {run['compile_s']:.1f}s)",
                    flush=True,
                )
    best = max(runs, key=lambda r: r["steps_per_s"])
    result = {
        "env": args.env,
        "policy": "uniform random orders 0..c",
        "machine": machine(),
        "runs": runs,
        "best": best,
        "orgym": None,
    }
    if args.orgym_python:
        result["orgym"] = orgym_reference(args.orgym_python, args.env, args.orgym_steps)
        result["speedup_vs_orgym"] = best["steps_per_s"] / result["orgym"]["steps_per_s"]
        print(
            f"or-gym, 1 env: {result['orgym']['steps_per_s']:,.0f} steps/s; "
            f"jaxinv best / or-gym = {result['speedup_vs_orgym']:,.0f}x"
        )
    print(
        f"best: {best['steps_per_s'] / 1e6:.2f}M steps/s at {best['num_envs']} envs "
        f"on {best['devices']} device(s) with {best['api']}"
    )
    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"env_throughput_{args.env}_{result['machine']['backend']}"
    (args.out / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    plot(result, args.out / f"{stem}.png")
    print(f"wrote {args.out / stem}.json and .png")
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
