"""The simplest policies: order a fixed quantity every period, or a uniformly random one.

A policy in jaxinv is ``policy(key, obs, state) -> action`` on a batch: ``obs`` (N, obs_size),
``state`` the env's batched ``EnvState`` (leading axis N) and ``action`` (N, M) requested units
per stage for the serial chain, or (N,) for an env with a discrete action. Hand-made policies
may read the state (a base-stock policy reads the units in transit); learned ones ignore it.
Neither policy here looks at ``obs`` or ``state``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

Policy = Callable[[jax.Array, jax.Array, Any], jax.Array]
"""``policy(key, obs, state) -> action`` on a batch of N envs (see the module docstring)."""


def constant_order(quantities: jax.Array | list[float]) -> Policy:
    """Order ``quantities`` (M,) units at every stage, every period."""
    quantities = jnp.asarray(quantities, jnp.float32)

    def policy(key: jax.Array, obs: jax.Array, state: Any) -> jax.Array:
        del key, state
        return jnp.broadcast_to(quantities, (obs.shape[0], quantities.shape[0]))

    return policy


def uniform_random(capacities: jax.Array) -> Policy:
    """Order a uniform whole number in ``0..c_i`` at each stage (a random valid action).

    Draws 24-bit uniforms, so each quantity's probability is exact to about 2**-24 relative.
    """
    capacities = jnp.asarray(capacities, jnp.float32)

    def policy(key: jax.Array, obs: jax.Array, state: Any) -> jax.Array:
        del state
        bits = jax.random.bits(key, (obs.shape[0], capacities.shape[0]), jnp.uint32) >> 8
        uniform = bits.astype(jnp.float32) * (1.0 / (1 << 24))
        return jnp.floor(uniform * (capacities + 1.0))

    return policy
