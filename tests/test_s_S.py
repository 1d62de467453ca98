"""The (s, S) policy and its search reproduce the article's published result to the cent.

Guangrui Xie's article fits (s, S) on its training year by trying every 0 <= s < S <= 60 and
reports (15, 32), with a mean profit of 17,202.08 over its 100 test years. The demand years
here come from ``scripts/make_retail_years.py``'s generator (test_retail.py checks the shipped
files equal it).
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxinv
from jaxinv import evaluate
from jaxinv.envs import retail
from jaxinv.policies.s_S import s_S_policy, search_s_S

ROOT = Path(__file__).resolve().parent.parent


@functools.cache
def article():
    """The default store, its training-year params and the 100 test years, from the script."""
    spec = importlib.util.spec_from_file_location(
        "make_retail_years", ROOT / "scripts" / "make_retail_years.py"
    )
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    train, test = script.article_data()
    env, params = jaxinv.make("RetailStore-v0")
    train_params = params.replace(demand=jnp.asarray(train, jnp.float32))
    test_params = jax.tree.map(lambda x: jnp.broadcast_to(x, (100, *x.shape)), train_params)
    test_params = test_params.replace(
        demand=jnp.asarray(np.stack(list(test.values())), jnp.float32)
    )
    return env, params, train_params, test_params


def plain_s_S_profit(s: int, big_s: int, demand: np.ndarray) -> float:
    """The year's profit of (s, S) in plain Python (reorder on IP before the day's arrival)."""
    on_hand, in_transit, total = 25.0, {}, 0.0
    for day, wanted in enumerate(demand):
        position = on_hand + sum(in_transit.values())
        order = min(20, big_s - position) if position <= s else 0
        if order:
            in_transit[day + 2] = order
        on_hand = min(50.0, on_hand + in_transit.pop(day, 0))
        sold = min(on_hand, wanted)
        total += 30 * sold - 3 * on_hand - 50 * (order > 0) - 10 * order
        on_hand -= sold
    return total


def test_search_reproduces_the_published_policy_and_test_profit() -> None:
    env, _, train_params, test_params = article()
    result = search_s_S(env, train_params, max_order_up_to=60)
    assert (result.reorder_point, result.order_up_to) == (15, 32)
    assert result.profit == 17_745.0  # on the training year
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


def test_shipped_evaluation_set_gives_the_same_result() -> None:
    env, params, _, test_params = article()
    shipped = retail.test_year_params(env, params)
    np.testing.assert_array_equal(shipped.demand, test_params.demand)
    result = evaluate.evaluate(
        env, s_S_policy(15, 32, 20), shipped, jax.random.key(1), batched_params=True
    )
    assert int(result.returns.sum()) == 1_720_208


def test_table_matches_a_plain_python_simulation() -> None:
    env, _, train_params, _ = article()
    table = search_s_S(env, train_params, max_order_up_to=40).table
    demand = np.asarray(train_params.demand, np.float64)
    rng = np.random.default_rng(0)
    for big_s in rng.integers(1, 41, 12):
        s = int(rng.integers(0, big_s))
        assert table[s, big_s] == plain_s_S_profit(s, int(big_s), demand), (s, big_s)


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


@pytest.mark.parametrize("years", [False, True], ids=["one-year", "mean-over-years"])
def test_search_on_random_demand_or_several_years(years: bool) -> None:
    env, params, _, test_params = article()
    if years:
        subset = jax.tree.map(lambda x: x[:3], test_params)
        result = search_s_S(env, subset, max_order_up_to=35, batched_params=True)
        best = s_S_policy(result.reorder_point, result.order_up_to, 20)
        check = evaluate.evaluate(env, best, subset, jax.random.key(2), batched_params=True)
        assert result.profit == check.mean
    else:
        result = search_s_S(env, params, 35, key=jax.random.key(1), num_episodes=8)
    assert 0 <= result.reorder_point < result.order_up_to <= 35
