"""Echelon base-stock orders (by hand and against or-gym) and the search for their levels."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxinv
from jaxinv import evaluate
from jaxinv.policies import base_stock

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "orgym_base_stock.json").read_text())


def constructed_state(env_id: str):
    """Three stages, lead times (1, 2, 3), a batch of two chains: one short of stock, one flush.

    Chain 0: on-hand (5, 15, 40), in transit (4 + 3, 10, 5 + 15), unfilled (6, 2, 5, 9).
    """
    env, params = jaxinv.make(env_id, L=[1, 2, 3], c=[100, 30, 80])
    _, state = env.reset(jax.random.key(0), params)
    short = state.replace(
        on_hand=jnp.array([5.0, 15.0, 40.0]),
        pipeline=jnp.array([[4.0, 0.0, 5.0], [3.0, 10.0, 0.0], [0.0, 0.0, 15.0]]),
        unfilled=jnp.array([6.0, 2.0, 5.0, 9.0]),
    )
    flush = short.replace(on_hand=jnp.array([50.0, 60.0, 300.0]))
    batch = jax.tree.map(lambda a, b: jnp.stack([a, b]), short, flush)
    return env, params, batch


@pytest.mark.parametrize(
    ("env_id", "position", "orders"),
    [
        # v0: position cumsum(5 + 7 - 6, 15 + 10 - 2, 40 + 20 - 5) = (6, 29, 84);
        # wanted (20.5, 60, 120) - position = (14.5, 31, 36): whole units, stage 1 capped by c=30.
        ("InvManagement-v0", [6.0, 29.0, 84.0], [14.0, 30.0, 36.0]),
        # v1 ignores unfilled (lost): position cumsum(12, 25, 60) = (12, 37, 97).
        ("InvManagement-v1", [12.0, 37.0, 97.0], [8.0, 23.0, 23.0]),
    ],
)
def test_orders_by_hand(env_id, position, orders) -> None:
    env, params, state = constructed_state(env_id)
    np.testing.assert_array_equal(
        base_stock.echelon_inventory_position(state, env.backlog)[0], position
    )
    policy = base_stock.echelon_base_stock(env, params, [20.5, 60.0, 120.0])
    action = np.asarray(policy(None, None, state))
    np.testing.assert_array_equal(action[0], orders)
    np.testing.assert_array_equal(action[1], 0.0)  # flush chain: above every level


def test_orders_capped_by_upstream_stock_and_capacity() -> None:
    """High levels: stage 0 gets the 15 units stage 1 holds, stages 1 and 2 their capacity."""
    env, params, state = constructed_state("InvManagement-v0")
    policy = base_stock.echelon_base_stock(env, params, [1000.0, 2000.0, 3000.0])
    np.testing.assert_array_equal(np.asarray(policy(None, None, state))[0], [15.0, 30.0, 80.0])


@pytest.mark.parametrize("case", FIXTURE["cases"], ids=lambda c: c["env_id"][-2:])
def test_matches_orgym_base_stock(case) -> None:
    """Orders and rewards of or-gym 0.5.0's base-stock action on its recorded demand paths."""
    env, params = jaxinv.make(case["env_id"], **case["config"])
    policy = base_stock.echelon_base_stock(env, params, case["levels"])
    _, trajectory = evaluate.episode_trajectories(
        env, policy, params, jax.random.key(0), 1, env.periods
    )
    np.testing.assert_array_equal(np.asarray(trajectory["action"])[:, 0], case["orders"])
    np.testing.assert_allclose(
        np.asarray(trajectory["reward"])[:, 0], case["rewards"], rtol=1e-5, atol=1e-3
    )


def test_levels_and_increments_round_trip() -> None:
    levels = np.array([[3, 10, 10], [0, 5, 9]])
    increments = base_stock.increments_from_levels(levels)
    np.testing.assert_array_equal(increments, [[3, 7, 0], [0, 5, 4]])
    np.testing.assert_array_equal(base_stock.levels_from_increments(increments), levels)


SMALL = {
    "periods": 8,
    "I0": [6, 3],
    "c": [6, 5],
    "L": [1, 3],
    "r": [1.5, 1.0, 0.5],
    "k": [0.5, 0.2, 0.1],
    "h": [0.3, 0.1],
    "dist_param": {"mu": 4},
}


@pytest.mark.parametrize("env_id", ["InvManagement-v0", "InvManagement-v1"])
def test_search_matches_exhaustive_grid(env_id) -> None:
    """On every increment in 0..24 x 0..24 and the same 64 paths, the grid's best is no better
    than what the coarse-to-fine search finds."""
    env, params = jaxinv.make(env_id, **SMALL)
    key, paths, upper = jax.random.key(7), 64, 24
    increments = np.array(list(itertools.product(range(upper + 1), repeat=2)))
    levels = jnp.asarray(base_stock.levels_from_increments(increments), jnp.float32)
    grid = evaluate.episode_returns_many(
        env,
        lambda z: base_stock.echelon_base_stock(env, params, z),
        levels,
        params,
        key,
        paths,
        env.periods,
    )
    grid_means = np.asarray(jax.jit(lambda g: g.mean(axis=1))(grid))
    found = base_stock.search_base_stock(
        env, params, key, paths, upper=[upper, upper], grid_points=4, starts=3
    )
    assert found.evaluations < increments.shape[0]
    assert found.mean_return >= grid_means.max() - 1e-4 * abs(grid_means.max())
    # The found point is on the grid and scores there what the search reports.
    at = np.flatnonzero((increments == found.increments).all(axis=1))
    assert at.size == 1
    assert grid_means[at[0]] == pytest.approx(found.mean_return, rel=1e-5)
    np.testing.assert_array_equal(found.base_stock_level, np.cumsum(found.increments))
    # ... and what evaluate() gives the policy on the same key and number of paths.
    policy = base_stock.echelon_base_stock(env, params, found.base_stock_level)
    assert evaluate.evaluate(env, policy, params, key, paths).mean == pytest.approx(
        found.mean_return, rel=1e-5
    )


def test_default_upper_increments_cover_lead_time_demand() -> None:
    env, params = jaxinv.make("InvManagement-v1")  # Poisson(20): 0.999 quantile 35
    np.testing.assert_array_equal(base_stock.default_upper_increments(env, params), [140, 210, 385])
