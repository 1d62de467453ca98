"""The (s, S) policy for one store, and its exhaustive search over a demand record.

Each day, if the inventory position ``IP`` (on hand + on order, cases, before the day's
arrival) is at or below the reorder point ``s``, order up to ``S``: ``min(max_order, S - IP)``
cases; otherwise order nothing. With a fixed cost per order this is the classic policy
structure (Scarf, 1960).

``search_s_S`` scores every pair ``0 <= s < S <= max_order_up_to`` on the same demand (for the
article, its training year: ``retail.train_year_params``), all pairs in one jitted, vectorised
rollout (``jaxinv.evaluate.evaluate_many``), and returns the most profitable pair with the
whole table.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from jaxinv import evaluate
from jaxinv.envs import retail
from jaxinv.policies.constant import Policy


def s_S_policy(
    reorder_point: jax.Array | float, order_up_to: jax.Array | float, max_order: float
) -> Policy:
    """``policy(key, obs, state) -> orders (N,)`` int32, reading the inventory position from
    ``state``. ``reorder_point`` and ``order_up_to`` are scalars or (N,), one pair per store."""
    s = jnp.asarray(reorder_point, jnp.float32)
    big_s = jnp.asarray(order_up_to, jnp.float32)

    def policy(key: jax.Array, obs: jax.Array, state: retail.EnvState) -> jax.Array:
        del key, obs
        position = retail.inventory_position(state)  # (N,)
        order = jnp.where(position <= s, jnp.clip(big_s - position, 0.0, max_order), 0.0)
        return order.astype(jnp.int32)

    return policy


@dataclass(frozen=True)
class SearchResult:
    """The best (s, S) pair and every pair's profit."""

    reorder_point: int  # s
    order_up_to: int  # S
    profit: float  # $ per episode of the best pair (mean over years if several)
    table: np.ndarray  # (S_max + 1, S_max + 1) float64 profit[s, S]; NaN where not s < S


def search_s_S(
    env: retail.RetailStore,
    params: retail.EnvParams,
    max_order_up_to: int = 60,
    key: jax.Array | None = None,
    num_episodes: int | None = None,
    batched_params: bool = False,
) -> SearchResult:
    """Score every ``0 <= s < S <= max_order_up_to`` (1,830 pairs for 60) in one jitted call.

    ``params`` of one store: ``num_episodes`` episodes per pair (default 1: enough for a trace
    such as the training year), on common random numbers for a demand distribution; with
    ``batched_params``, one episode per params in the batch (e.g. several years). A pair's
    score is its mean profit per episode. Ties go to the smallest S, then the smallest s.
    """
    s_values, big_s_values = np.array(
        [(s, big_s) for big_s in range(1, max_order_up_to + 1) for s in range(big_s)]
    ).T
    max_order = float(np.max(np.asarray(params.max_order)))
    candidates = jnp.asarray(np.stack([s_values, big_s_values], 1), jnp.float32)  # (P, 2)
    results = evaluate.evaluate_many(
        env,
        functools.partial(_pair_policy, max_order=max_order),
        candidates,
        params,
        jax.random.key(0) if key is None else key,
        num_episodes=(num_episodes or 1) if not batched_params else num_episodes,
        batched_params=batched_params,
    )
    profits = np.array([result.mean for result in results])
    table = np.full((max_order_up_to + 1, max_order_up_to + 1), np.nan)
    table[s_values, big_s_values] = profits
    best = int(np.argmax(profits))  # first maximum: pairs run by S, then s
    return SearchResult(
        reorder_point=int(s_values[best]),
        order_up_to=int(big_s_values[best]),
        profit=float(profits[best]),
        table=table,
    )


def _pair_policy(pair: jax.Array, max_order: float) -> Policy:
    """The (s, S) policy of ``pair = (s, S)``, for ``evaluate_many``."""
    return s_S_policy(pair[0], pair[1], max_order)
