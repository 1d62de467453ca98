"""Many supply chains stepped together under a hand-made policy, on one or all CPU cores.

``make_rollout`` builds a pure function ``key -> (return_sum, episodes)`` that steps
``num_envs`` chains for ``num_steps`` periods with the env's batched ``step_many`` and sums the
(discounted, as the env defines) reward of every episode that ends. ``shard_over_devices``
spreads independent slices of the batch over local devices (on a CPU, one per core when
``XLA_FLAGS=--xla_force_host_platform_device_count=N`` is set before JAX starts).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax.sharding import PartitionSpec

from jaxinv.policies.constant import Policy

Rollout = Callable[[jax.Array], tuple[jax.Array, jax.Array]]


def make_rollout(
    env, params, policy: Policy, num_envs: int, num_steps: int, per_env_keys: bool = False
) -> Rollout:
    """``key -> (return_sum, episodes)``, both (num_envs,): summed returns of finished episodes
    (ended by termination or, for an env that truncates, by truncation).

    Steps with ``env.step_many`` (one key per batch); ``per_env_keys=True`` uses the gymnax
    idiom instead, ``vmap(env.step)`` with a key split off for every chain every period.
    """
    vmapped_step = jax.vmap(env.step, (0, 0, 0, None))

    def step(key, state, action):
        if per_env_keys:
            return vmapped_step(jax.random.split(key, num_envs), state, action, params)
        return env.step_many(key, state, action, params)

    def rollout(key: jax.Array) -> tuple[jax.Array, jax.Array]:
        obs, state = jax.vmap(env.reset, (0, None))(jax.random.split(key, num_envs), params)

        def period(carry, step_key):
            obs, state, running, total, episodes = carry
            policy_key, env_key = jax.random.split(step_key)
            action = policy(policy_key, obs, state)
            obs, state, reward, terminated, truncated, _ = step(env_key, state, action)
            done = terminated | truncated  # an episode ends either way (auto-reset)
            running = running + reward
            total = total + jnp.where(done, running, 0.0)
            episodes = episodes + done
            running = jnp.where(done, 0.0, running)
            return (obs, state, running, total, episodes), None

        zeros = jnp.zeros((num_envs,), jnp.float32)
        carry = (obs, state, zeros, zeros, jnp.zeros((num_envs,), jnp.int32))
        carry, _ = jax.lax.scan(period, carry, jax.random.split(key, num_steps))
        return carry[3], carry[4]

    return rollout


def shard_over_devices(make: Callable[[int], Rollout], num_envs: int, devices=None):
    """Split ``num_envs`` evenly over ``devices``: each runs ``make(num_envs // n)`` on its own
    key, with no communication. Returns a jitted ``key -> (return_sum, episodes)``.

    Not ``distributed.Layout``, which lays out a *training state* (a leading axis of runs,
    built once on one device, placed, then donated chunk after chunk): here there is no state
    to place, only one key split per device and env-only rollouts generated on the devices
    themselves (this process's devices, for ``jaxinv demo`` and the env benchmarks), and the
    devices' outputs are simply concatenated."""
    devices = jax.local_devices() if devices is None else devices
    n = len(devices)
    if num_envs % n:
        raise ValueError(f"num_envs={num_envs} is not divisible by {n} devices")
    local = make(num_envs // n)
    if n == 1:
        return jax.jit(local)
    mesh = jax.sharding.Mesh(devices, ("envs",))

    def per_device(keys: jax.Array) -> tuple[jax.Array, jax.Array]:
        return local(keys[0])

    sharded = jax.shard_map(
        per_device,
        mesh=mesh,
        in_specs=PartitionSpec("envs"),
        out_specs=PartitionSpec("envs"),
        check_vma=False,
    )
    return jax.jit(lambda key: sharded(jax.random.split(key, n)))
