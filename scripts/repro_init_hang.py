"""Try to reproduce the vmapped-init hang (issue 17, item 6) in a fresh process per case.

    python scripts/repro_init_hang.py            # every case, each under a 60 s timeout
    python scripts/repro_init_hang.py CASE       # one case in this process (no timeout)

Cases:
- ``vmap_ppo_init``: ``jit(vmap(learner.init))`` of 16 and 32 PPO seeds on InvManagement-v1,
  then ``block_until_ready`` (what ``training.make_init`` avoids with ``lax.map``);
- ``vmap_orthogonal``: ``jit(vmap(flax orthogonal init))`` of 64 (64, 64) matrices;
- ``vmap_orthogonal_six``: ``jit(vmap(f))`` over 16 keys, where ``f`` draws flax's
  orthogonal init for the six kernels of the default PPO network on InvManagement-v1
  ((33, 64), (64, 64), (33, 64), (64, 64), (64, 303), (64, 1)): JAX and flax only;
- ``vmap_orthogonal_four``: the first four of them; ``vmap_qr_six``: ``jnp.linalg.qr`` of
  normal matrices of the six (transposed) shapes, without flax;
- ``shard_map_orthogonal``: the same inside a ``shard_map`` over 2 host devices
  (``--xla_force_host_platform_device_count=2``; what ``benchmarks/train_throughput.py``
  avoids by initialising on one device and then splitting);
- ``shard_map_ppo_init``: the vmapped PPO init of 16 seeds inside that ``shard_map``;
- ``sequential_then_placed``: the workaround jaxinv uses: ``training.init_seeds`` (one seed
  after another, ``lax.map``) of 32 PPO seeds on one device, then placed over the 2 devices
  (``tests/test_init_hang.py`` runs it under a timeout).

Measured on a 2-core Intel Xeon, JAX 0.10.2, flax 0.12.8, CPU backend (2026-12-02):
``vmap_ppo_init``, ``shard_map_ppo_init`` and ``vmap_orthogonal_six`` hang (no result in
60 s; they compile in seconds and hang running); ``vmap_orthogonal``,
``vmap_orthogonal_four``, ``vmap_qr_six``, ``shard_map_orthogonal`` finish in 3-6 s,
``sequential_then_placed`` in 5-25 s. The same vmapped PPO init of 8 or 12 seeds finishes;
single-threaded XLA (``--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1``)
still hangs. So: not ``shard_map``, not the env reset and not one QR, but several vmapped
orthogonal initialisers in one program, past some batch size. Cause inside XLA not found.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

CASES = (
    "vmap_ppo_init",
    "vmap_orthogonal",
    "vmap_orthogonal_four",
    "vmap_orthogonal_six",
    "vmap_qr_six",
    "shard_map_orthogonal",
    "shard_map_ppo_init",
    "sequential_then_placed",
)
TIMEOUT_S = 60
# The kernels of the default PPO network on InvManagement-v1 (33 observations, 303 logits).
PPO_KERNELS = [(33, 64), (64, 64), (33, 64), (64, 64), (64, 303), (64, 1)]


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

    def kernels(shapes, init):
        def f(key):
            keys = jax.random.split(key, len(shapes))
            return [init(k, shape) for k, shape in zip(keys, shapes, strict=True)]

        keys = jax.random.split(jax.random.PRNGKey(0), 16)
        jax.block_until_ready(jax.jit(jax.vmap(f))(keys))

    if case in ("vmap_orthogonal_six", "vmap_orthogonal_four"):
        shapes = PPO_KERNELS if case.endswith("six") else PPO_KERNELS[:4]
        kernels(shapes, lambda k, shape: nn.initializers.orthogonal()(k, shape, jnp.float32))
    elif case == "vmap_qr_six":
        shapes = [shape[::-1] for shape in PPO_KERNELS]
        kernels(shapes, lambda k, shape: jnp.linalg.qr(jax.random.normal(k, shape))[0])
    elif case == "vmap_ppo_init":
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
