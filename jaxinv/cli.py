"""``jaxinv`` on the command line: thin over the library.

    jaxinv demo [--env InvManagement-v1] [--envs 16384] [--periods 300] [--set key=value ...]

``demo`` steps thousands of supply chains in parallel on every CPU core under two simple
policies (uniformly random orders, and a constant order of mean demand at every stage) and
prints the throughput and the mean episode return of each.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """``["L=[2,3,4]", "alpha=0.9"]`` -> config dict; values are JSON, else plain strings."""
    config: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"--set expects key=value, got {pair!r}")
        try:
            config[key] = json.loads(text)
        except json.JSONDecodeError:
            config[key] = text
    return config


def demo(args: argparse.Namespace) -> None:
    """Random and constant-order policies on many chains: throughput and mean returns."""
    import jax
    import numpy as np

    import jaxinv
    from jaxinv import simulate
    from jaxinv.policies.constant import constant_order, uniform_random

    try:
        env, params = jaxinv.make(args.env, **parse_overrides(args.set))
    except ValueError as error:
        raise SystemExit(f"error: {error}") from None
    mean_demand = round(_mean_demand(params))
    policies = {
        "uniform random orders": uniform_random(params.c),
        f"constant order {mean_demand:g}/stage": constant_order([mean_demand] * env.num_stages),
    }
    devices = jax.local_devices()
    num_envs = args.envs - args.envs % len(devices)
    print(
        f"{env.name}: {num_envs} chains x {args.periods} periods "
        f"({args.periods // env.periods} episodes each) on {len(devices)} {jax.default_backend()} "
        f"device(s)"
    )
    for name, policy in policies.items():
        start = time.perf_counter()
        rollout = simulate.shard_over_devices(
            lambda n, policy=policy: simulate.make_rollout(env, params, policy, n, args.periods),
            num_envs,
            devices,
        )
        jax.block_until_ready(rollout(jax.random.key(args.seed)))
        compile_s = time.perf_counter() - start
        start = time.perf_counter()
        total, episodes = jax.block_until_ready(rollout(jax.random.key(args.seed + 1)))
        run_s = time.perf_counter() - start
        per_env = np.asarray(total) / np.maximum(np.asarray(episodes), 1)
        half_width = 1.96 * per_env.std(ddof=1) / np.sqrt(per_env.size)
        print(
            f"  {name:<28} mean return {per_env.mean():9.2f} ± {half_width:.2f} (95% CI) | "
            f"{num_envs * args.periods / run_s / 1e6:6.2f}M steps/s "
            f"(first call incl. compile {compile_s:.1f}s)"
        )


def _mean_demand(params) -> float:
    """Mean retail demand per period: of the demand path, or of the demand table."""
    import numpy as np

    from jaxinv.envs.demand import DemandTable, table_mean

    if isinstance(params.demand, DemandTable):
        return table_mean(params.demand)
    return float(np.mean(np.asarray(params.demand)))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jaxinv", description="Inventory RL in JAX.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="step many supply chains in parallel; print throughput")
    p.add_argument("--env", default="InvManagement-v1")
    p.add_argument("--envs", type=int, default=16384, help="chains stepped in parallel")
    p.add_argument("--periods", type=int, default=300, help="periods each chain is stepped")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="env config override, value as JSON (e.g. L=[2,3,4])",
    )
    p.set_defaults(func=demo)
    return parser


DEVICE_FLAG = "--xla_force_host_platform_device_count"


def use_every_core(argv: list[str]) -> None:
    """Re-run this command with one XLA CPU device per core, unless the user chose already.

    The flag only takes effect before JAX's backend starts, and importing jaxinv (gymnax)
    starts it, so the command starts once more in a fresh interpreter.
    """
    flags = os.environ.get("XLA_FLAGS", "")
    if DEVICE_FLAG in flags or (os.cpu_count() or 1) < 2:
        return
    os.environ["XLA_FLAGS"] = f"{flags} {DEVICE_FLAG}={os.cpu_count()}".strip()
    os.execv(sys.executable, [sys.executable, "-m", "jaxinv.cli", *argv])


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        use_every_core(argv)
    if getattr(args, "envs", 1) < 1 or getattr(args, "periods", 1) < 1:
        raise SystemExit("error: --envs and --periods must be positive")
    args.func(args)


if __name__ == "__main__":
    main()
