"""Echelon base-stock policy for the serial chain, and a search for its best levels.

Stage ``i`` (0 = retailer, ``M - 1`` = most upstream) orders up to its echelon base-stock
level ``z_i`` (units) on its echelon inventory position: the on-hand stock of stages
``0..i`` plus every unit in transit to them, minus, in v0 (backlog), the unfilled amounts
``unfilled[0..i]`` (the retail backlog and the backlogged requests of stages ``0..i-1``). This
is OR-Gym 0.5.0's ``base_stock_action``: its state ``cumsum(I + T - B[:-1])``. The order is
``max(0, min(z_i - position_i, c_i, on-hand of stage i + 1))`` (the source above the top stage
has unlimited stock), in whole units; in v0 the env then adds last period's backlogged
request, as OR-Gym does.

Levels are parametrised in the search by *increments* ``x_i = z_i - z_{i-1} >= 0`` (whole
units; ``z = cumsum(x)``, so echelon levels never decrease upstream), as OR-Gym's derivative-free
model does. ``search_base_stock`` finds the increments that maximise the mean return over one
fixed set of simulated demand paths (common random numbers): a grid over a box of increments,
then a pattern search on the integer lattice from the best grid points, each step evaluating
every candidate in one jitted call.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxinv import evaluate as evaluate_lib
from jaxinv.envs.serial import EnvParams, EnvState, InvManagement
from jaxinv.policies.constant import Policy

DEMAND_QUANTILE = 0.999
"""Per-period demand quantile that sets the default upper bound of the searched increments."""


def echelon_inventory_position(state: EnvState, backlog: bool) -> jax.Array:
    """Echelon inventory position per stage, units: (..., M) for a state with leaves (..., ...).

    ``sum_{j <= i} (on_hand_j + in transit to j - [v0] unfilled_j)``, OR-Gym's definition.
    """
    local = state.on_hand + state.pipeline.sum(axis=-2)
    if backlog:
        local = local - state.unfilled[..., :-1]
    return jnp.cumsum(local, axis=-1)


def base_stock_orders(
    state: EnvState, base_stock_level: jax.Array, capacity: jax.Array, backlog: bool
) -> jax.Array:
    """Orders (..., M) raising each echelon position to ``base_stock_level`` (M,), whole units.

    Capped by the supplier's capacity ``capacity`` (M,) and its on-hand stock at the start of
    the period (unlimited for the top stage's source), never negative.
    """
    position = echelon_inventory_position(state, backlog)
    upstream = jnp.concatenate(
        [state.on_hand[..., 1:], jnp.full((*state.on_hand.shape[:-1], 1), jnp.inf)], axis=-1
    )
    wanted = jnp.minimum(jnp.minimum(base_stock_level - position, capacity), upstream)
    return jnp.floor(jnp.maximum(wanted, 0.0))


def echelon_base_stock(env: InvManagement, params: EnvParams, base_stock_level: Any) -> Policy:
    """The policy ``(key, obs, state) -> orders (N, M)`` for echelon levels ``z`` (M,), units.

    Capacities come from ``params.c`` and backlog or lost sales from ``env``.
    """
    level = jnp.asarray(base_stock_level, jnp.float32)
    capacity = jnp.asarray(params.c, jnp.float32)
    backlog = env.backlog

    def policy(key: jax.Array, obs: jax.Array, state: EnvState) -> jax.Array:
        del key, obs
        return base_stock_orders(state, level, capacity, backlog)

    return policy


def levels_from_increments(increments: Any) -> np.ndarray:
    """Echelon levels ``z = cumsum(x)`` (..., M) from increments ``x`` (..., M), units."""
    return np.cumsum(np.asarray(increments), axis=-1)


def increments_from_levels(levels: Any) -> np.ndarray:
    """Increments ``x_i = z_i - z_{i-1}`` (``x_0 = z_0``) from echelon levels ``z``."""
    levels = np.asarray(levels)
    return np.diff(levels, axis=-1, prepend=np.zeros_like(levels[..., :1]))


def demand_quantile(env: InvManagement, params: EnvParams, q: float) -> float:
    """The ``q`` quantile of one period's demand, units (a trace's largest value for dist=5)."""
    if env.demand_source == "trace":
        return float(np.max(np.asarray(params.demand)))
    thresholds = np.asarray(params.demand.thresholds, np.float64) / (1 << 31)
    return float(params.demand.low) + float(np.sum(thresholds < q))


def default_upper_increments(env: InvManagement, params: EnvParams) -> np.ndarray:
    """Largest increment searched per stage: ``(L_i + 1)`` periods of high demand, units."""
    high = demand_quantile(env, params, DEMAND_QUANTILE)
    lead_time = np.asarray(params.L, np.float64)
    return np.ceil((lead_time + 1.0) * max(high, 1.0)).astype(np.int64)


@dataclasses.dataclass(frozen=True)
class SearchResult:
    """Best levels found and their mean return on the search's own demand paths (in-sample)."""

    base_stock_level: np.ndarray  # (M,) int64 echelon levels z, units
    increments: np.ndarray  # (M,) int64 x = diff(z), units
    mean_return: float  # mean over the search's paths
    num_paths: int
    evaluations: int  # candidate evaluations, each over num_paths episodes
    wall_s: float  # including compilation


def _grid(lower: np.ndarray, upper: np.ndarray, points: int) -> np.ndarray:
    axes = [
        np.unique(np.rint(np.linspace(lo, hi, points)).astype(np.int64))
        for lo, hi in zip(lower, upper, strict=True)
    ]
    return np.array(list(itertools.product(*axes)), np.int64).reshape(-1, lower.size)


def _directions(m: int) -> np.ndarray:
    """Lattice moves: every vector in {-1, 0, 1}^M up to M = 4, else +-1 along each axis."""
    if m <= 4:
        return np.array(list(itertools.product((-1, 0, 1), repeat=m)), np.int64)
    eye = np.eye(m, dtype=np.int64)
    return np.concatenate([np.zeros((1, m), np.int64), eye, -eye])


def search_base_stock(
    env: InvManagement,
    params: EnvParams,
    key: jax.Array,
    num_paths: int = 2000,
    *,
    lower: Any = None,
    upper: Any = None,
    grid_points: int = 8,
    starts: int = 8,
    num_steps: int | None = None,
    batch_size: int = 64,
    max_iterations: int = 200,
) -> SearchResult:
    """Best integer increments in ``[lower, upper]`` (default 0 and ``default_upper_increments``).

    Every candidate is scored by its mean return over the same ``num_paths`` episodes drawn
    from ``key`` (common random numbers; ``evaluate.episode_returns_many``). First a grid of
    ``grid_points`` per stage; then from each of the ``starts`` best grid points a pattern
    search: evaluate the point moved by ``step * d`` for every lattice direction ``d``, move to
    the best if it is strictly better, else halve the step; a start stops when no move by a
    step of one unit improves it. Two compiled shapes (grid, pattern step), whatever the
    number of iterations. Returns the best candidate ever evaluated.
    """
    start_time = time.perf_counter()
    m = env.num_stages
    lower = np.zeros(m, np.int64) if lower is None else np.asarray(lower, np.int64)
    upper = default_upper_increments(env, params) if upper is None else np.asarray(upper, np.int64)
    if lower.shape != (m,) or upper.shape != (m,) or np.any(lower < 0) or np.any(upper < lower):
        raise ValueError(f"need 0 <= lower <= upper, shape ({m},); got {lower}, {upper}")
    steps = evaluate_lib.default_num_steps(env) if num_steps is None else int(num_steps)

    @jax.jit
    def mean_returns(levels: jax.Array) -> jax.Array:
        returns = evaluate_lib.episode_returns_many(
            env,
            lambda z: echelon_base_stock(env, params, z),
            levels,
            params,
            key,
            num_paths,
            steps,
            batch_size=batch_size,
        )
        return returns.mean(axis=1)

    best = {"value": -np.inf, "x": lower.copy()}
    evaluations = 0

    def score(increments: np.ndarray) -> np.ndarray:
        nonlocal evaluations
        levels = jnp.asarray(levels_from_increments(increments), jnp.float32)
        values = np.asarray(mean_returns(levels), np.float64)
        evaluations += len(increments)
        i = int(np.argmax(values))
        if values[i] > best["value"]:
            best["value"], best["x"] = float(values[i]), increments[i].copy()
        return values

    grid = _grid(lower, upper, grid_points)
    grid_values = score(grid)
    order = np.argsort(-grid_values, kind="stable")[: min(starts, len(grid))]
    points = grid[order]  # (K, M)
    values = grid_values[order]
    spacing = (upper - lower) / max(grid_points - 1, 1)
    step = np.maximum(np.ceil(spacing / 2.0), 1).astype(np.int64)
    step = np.tile(step, (len(points), 1))  # (K, M)
    active = np.ones(len(points), bool)
    moves = _directions(m)  # (D, M)
    for _ in range(max_iterations):
        if not active.any():
            break
        candidates = points[:, None, :] + moves[None, :, :] * step[:, None, :]  # (K, D, M)
        candidates = np.clip(candidates, lower, upper)
        candidate_values = score(candidates.reshape(-1, m)).reshape(len(points), -1)
        pick = np.argmax(candidate_values, axis=1)
        gain = candidate_values[np.arange(len(points)), pick] > values
        for k in np.flatnonzero(active):
            if gain[k]:
                points[k], values[k] = candidates[k, pick[k]], candidate_values[k, pick[k]]
            elif np.all(step[k] == 1):
                active[k] = False
            else:
                step[k] = np.maximum(step[k] // 2, 1)

    x = np.asarray(best["x"], np.int64)
    return SearchResult(
        base_stock_level=levels_from_increments(x),
        increments=x,
        mean_return=best["value"],
        num_paths=num_paths,
        evaluations=evaluations,
        wall_s=time.perf_counter() - start_time,
    )
