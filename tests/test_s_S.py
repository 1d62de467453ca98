"""The (s, S) policy and its search reproduce the article's published result to the cent.

Guangrui Xie's article fits (s, S) on its training year by trying every 0 <= s < S <= 60 and
reports (15, 32), with a mean profit of 17,202.08 over its 100 test years. The demand years are
the shipped files (test_retail.py checks they equal ``scripts/make_retail_years.py``'s output).
Every profit the search reports is checked against ``plain_s_S_profits``, an independent numpy
simulation of the store, on the same demand.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxinv
from jaxinv import evaluate
from jaxinv.envs import retail
from jaxinv.policies.s_S import s_S_policy, search_s_S


@functools.cache
def article():
    """The default store, its training-year params and the 100 test years (shipped files)."""
    env, params = jaxinv.make("RetailStore-v0")
    return env, params, retail.train_year_params(env, params), retail.test_year_params(env, params)


def plain_s_S_profits(s: np.ndarray, big_s: np.ndarray, demand: np.ndarray) -> np.ndarray:
    """Profit ($) of every (s, S) pair on every demand path, simulated in numpy.

    ``s``, ``big_s``: (P,) pairs; ``demand``: (T, E) cases wanted per day. Returns (P, E)
    float64. The article's store: 25 cases on hand at the start, room for 50, orders of at most
    20 cases that arrive 2 days after they are placed; (s, S) reorders when the inventory
    position before the day's arrival is at or below s; $30 a case sold, $3 a case held
    overnight (charged on the day's stock after the arrival, before sales), $50 an order and
    $10 a case ordered.
    """
    s, big_s = np.asarray(s, float)[:, None], np.asarray(big_s, float)[:, None]
    days, paths = demand.shape
    on_hand = np.full((s.shape[0], paths), 25.0)
    arriving = np.zeros((days + 2, *on_hand.shape))
    total = np.zeros_like(on_hand)
    for day in range(days):
        position = on_hand + arriving[day] + arriving[day + 1]
        order = np.where(position <= s, np.minimum(20.0, big_s - position), 0.0)
        arriving[day + 2] = order
        on_hand = np.minimum(50.0, on_hand + arriving[day])
        sold = np.minimum(on_hand, demand[day])
        total += 30 * sold - 3 * on_hand - 50 * (order > 0) - 10 * order
        on_hand -= sold
    return total


def all_pairs(max_order_up_to: int) -> tuple[np.ndarray, np.ndarray]:
    """Every 0 <= s < S <= max_order_up_to, as (s, S) arrays."""
    pairs = [(s, big_s) for big_s in range(1, max_order_up_to + 1) for s in range(big_s)]
    return tuple(np.array(pairs).T)


def test_search_reproduces_the_published_policy_and_test_profit() -> None:
    env, _, train_params, test_params = article()
    result = search_s_S(env, train_params, max_order_up_to=60)
    assert (result.reorder_point, result.order_up_to) == (15, 32)
    year = np.asarray(train_params.demand, np.float64)[:, None]
    assert result.profit == plain_s_S_profits([15], [32], year)[0, 0]  # on the training year
    assert np.isfinite(result.table).sum() == 60 * 61 // 2
    assert np.nanmax(result.table) == result.table[15, 32]
    assert np.isnan(result.table[32, 32]) and np.isnan(result.table[0, 0])

    result = evaluate.evaluate(
        env, s_S_policy(15, 32, 20), test_params, jax.random.key(0), batched_params=True
    )
    assert result.episodes == 100 and result.returns.shape == (100,)
    assert (result.returns == np.round(result.returns)).all()  # whole dollars, exact in float32
    assert round(result.mean, 2) == 17_202.08
    assert int(result.returns.sum()) == 1_720_208


def test_table_matches_a_numpy_simulation_of_every_pair() -> None:
    env, _, train_params, _ = article()
    table = search_s_S(env, train_params, max_order_up_to=40).table
    s, big_s = all_pairs(40)
    year = np.asarray(train_params.demand, np.float64)[:, None]
    np.testing.assert_array_equal(table[s, big_s], plain_s_S_profits(s, big_s, year)[:, 0])


def test_policy_orders_up_to_S_capped_at_max_order() -> None:
    env, params = jaxinv.make("RetailStore-v0")
    _, state = jax.vmap(env.reset, (0, None))(jax.random.split(jax.random.key(0), 5), params)
    state = state.replace(
        on_hand=jnp.asarray([15, 16, 0, 3, 14], jnp.float32),
        pipeline=jnp.asarray([[0, 0], [0, 0], [0, 0], [2, 10], [1, 1]], jnp.float32),
    )
    policy = s_S_policy(15, 32, 20)
    orders = policy(None, None, state)
    assert orders.dtype == jnp.int32
    np.testing.assert_array_equal(orders, [17, 0, 20, 17, 0])
    # One (s, S) pair per store.
    per_store = s_S_policy(jnp.asarray([0, 20, 5, 5, 5]), jnp.asarray([1, 25, 30, 30, 30]), 20)
    np.testing.assert_array_equal(per_store(None, None, state), [0, 9, 20, 0, 0])


@pytest.mark.parametrize("years", [False, True], ids=["random-demand", "mean-over-years"])
def test_search_on_random_demand_or_several_years(years: bool) -> None:
    """The search's table is every pair's mean profit on the same paths: random demand (the
    paths read back from the env's info) or three test years."""
    env, params, _, test_params = article()
    key, episodes = jax.random.key(1), 8
    if years:
        subset = jax.tree.map(lambda x: x[:3], test_params)
        result = search_s_S(env, subset, max_order_up_to=25, batched_params=True)
        demand = np.asarray(subset.demand, np.float64).T
    else:
        result = search_s_S(env, params, 25, key=key, num_episodes=episodes)
        _, trajectory = evaluate.episode_trajectories(
            env, s_S_policy(15, 32, 20), params, key, episodes, env.horizon
        )
        demand = np.asarray(trajectory["info"]["demand"], np.float64)
    s, big_s = all_pairs(25)
    expected = plain_s_S_profits(s, big_s, demand).mean(axis=1)
    np.testing.assert_allclose(result.table[s, big_s], expected, rtol=1e-6)
    best = int(np.argmax(expected))
    assert (result.reorder_point, result.order_up_to) == (s[best], big_s[best])
