"""Try to reproduce the vmapped-init hang (issue 17, item 6) in a fresh process per case.

    python scripts/repro_init_hang.py            # every case, each under a 60 s timeout
    python scripts/repro_init_hang.py CASE       # one case in this process (no timeout)

Cases:
- ``vmap_ppo_init``: ``jit(vmap(learner.init))`` of 16 and 32 PPO seeds on InvManagement-v1,
  then ``block_until_ready`` (what ``training.make_init`` avoids with ``lax.map``);
- ``vmap_orthogonal``: ``jit(vmap(flax orthogonal init))`` of 64 (64, 64) matrices;
- ``shard_map_orthogonal``: the same inside a ``shard_map`` over 2 host devices
  (``--xla_force_host_platform_device_count=2``; what ``benchmarks/train_throughput.py``
  avoids by initialising on one device and then splitting);
- ``shard_map_ppo_init``: the vmapped PPO init of 16 seeds inside that ``shard_map``;
- ``sequential_then_placed``: the workaround jaxinv uses: ``training.init_seeds`` (one seed
  after another, ``lax.map``) of 32 PPO seeds on one device, then placed over the 2 devices
  (``tests/test_init_hang.py`` runs it under a timeout).

Measured on a 2-core Intel Xeon, JAX 0.10.2, CPU backend (2026-12-02): ``vmap_ppo_init``
and ``shard_map_ppo_init`` hang (no result in 60 s), ``vmap_orthogonal`` and
``shard_map_orthogonal`` finish in about 3 s, ``sequential_then_placed`` in 5-25 s. So the
orthogonal initialiser's QR alone, vmapped or inside a ``shard_map``, does not hang; the
vmapped init of the whole PPO training state (env reset feeding the initialisers) does.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

CASES = (
    "vmap_ppo_init",
    "vmap_orthogonal",
    "shard_map_orthogonal",
    "shard_map_ppo_init",
    "sequential_then_placed",
)
TIMEOUT_S = 60


def _ppo_learner():
    from jaxinv import training

    return training.build("InvManagement-v1", "ppo", {}).learner


def run_case(case: str) -> None:
    """Run ``case`` here; returns once its result is ready."""
    import jax
    import jax.numpy as jnp
    from flax import linen as nn
    from jax.sharding import Mesh, PartitionSpec

    def orthogonal(key):
        return nn.initializers.orthogonal()(key, (64, 64), jnp.float32)

    if case == "vmap_ppo_init":
        learner = _ppo_learner()
        for n in (16, 32):
            keys = jax.random.split(jax.random.PRNGKey(0), n)
            jax.block_until_ready(jax.jit(jax.vmap(learner.init))(keys))
    elif case == "vmap_orthogonal":
        keys = jax.random.split(jax.random.PRNGKey(0), 64)
        jax.block_until_ready(jax.jit(jax.vmap(orthogonal))(keys))
    elif case in ("shard_map_orthogonal", "shard_map_ppo_init"):
        init = _ppo_learner().init if case == "shard_map_ppo_init" else orthogonal
        mesh = Mesh(jax.devices()[:2], ("runs",))
        spec = PartitionSpec("runs")
        f = jax.shard_map(jax.vmap(init), mesh=mesh, in_specs=spec, out_specs=spec)
        keys = jax.random.split(jax.random.PRNGKey(0), 16)
        jax.block_until_ready(jax.jit(f)(keys))
    elif case == "sequential_then_placed":
        from jax.sharding import NamedSharding

        from jaxinv import training

        keys = jax.random.split(jax.random.PRNGKey(0), 32)
        state = training.init_seeds(_ppo_learner(), jax.device_put(keys, jax.devices()[0]))
        mesh = Mesh(jax.devices()[:2], ("runs",))
        placed = jax.device_put(state, NamedSharding(mesh, PartitionSpec("runs")))
        jax.block_until_ready(placed)
        print(f"{case}: ok, {len(jax.devices())} devices")
    else:
        raise SystemExit(f"unknown case {case!r}; choose from {', '.join(CASES)}")


def main(argv: list[str]) -> None:
    if argv:
        run_case(argv[0])
        return
    import jax

    print(f"JAX {jax.__version__}, backend {jax.default_backend()}, {os.cpu_count()} cores")
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    env["JAXINV_COMPILATION_CACHE"] = "0"
    for case in CASES:
        start = time.perf_counter()
        try:
            done = subprocess.run(
                [sys.executable, __file__, case],
                env=env,
                capture_output=True,
                text=True,
                timeout=TIMEOUT_S,
            )
        except subprocess.TimeoutExpired:
            print(f"{case}: HANG (no result in {TIMEOUT_S} s)", flush=True)
            continue
        took = time.perf_counter() - start
        if done.returncode:
            print(f"{case}: error ({done.stderr.strip().splitlines()[-1:]})", flush=True)
        else:
            print(f"{case}: ok in {took:.1f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
