"""Policies for Zipkin's lost-sales system (``LostSales-v0``) as ``policy(key, obs, state)``.

Each reads the env state (units, float32): on hand ``x0`` (this period's arrival included) and
the pipeline ``x1..x_{L-1}``; the inventory position is their sum. Orders are whole units.

- ``base_stock_policy(S, cap)``: order up to ``S`` on the inventory position,
  ``min((S - IP)^+, cap)``; with ``cap`` the env's ``max_order`` that is the plain base-stock
  policy as far as the env allows, with a smaller ``cap`` the capped base-stock policy
  (Johansen and Thorstenson 2008; Xin 2021).
- ``table_policy(orders, position_bound)``: an order per state from a table on the solver's
  truncated box (``jaxinv.solvers.lost_sales``): the optimal and the myopic policy.

Their parameters are searched, and the policies evaluated exactly, by
``jaxinv.solvers.lost_sales``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxinv.policies.constant import Policy


def _position(state: Any) -> jax.Array:
    return state.on_hand + state.pipeline.sum(-1)


def base_stock_policy(level: float, cap: float) -> Policy:
    """``min((S - IP)^+, cap)`` units for each env of the batch, (N,) float32."""
    level, cap = jnp.float32(level), jnp.float32(cap)

    def policy(key: jax.Array, obs: jax.Array, state: Any) -> jax.Array:
        del key, obs
        return jnp.clip(level - _position(state), 0.0, cap)

    return policy


def table_policy(orders: np.ndarray, position_bound: int) -> Policy:
    """``orders[x0, x1, ..., x_{L-1}]`` for each env of the batch, (N,) float32.

    ``orders`` is a table on the box ``x0 <= position_bound``, ``x_j <= r``. A state outside it
    (reached only from an unusual initial state) takes the order of the nearest cell, capped so
    that the position after ordering stays within ``position_bound`` (none at or above it).
    """
    table = jnp.asarray(orders, jnp.float32)
    shape = orders.shape

    def policy(key: jax.Array, obs: jax.Array, state: Any) -> jax.Array:
        del key, obs
        x = jnp.concatenate([state.on_hand[:, None], state.pipeline], 1)
        x = jnp.round(x).astype(jnp.int32)
        index = tuple(jnp.clip(x[:, i], 0, shape[i] - 1) for i in range(len(shape)))
        room = jnp.maximum(position_bound - _position(state), 0.0)
        return jnp.minimum(table[index], room)

    return policy
