"""The serial chain's LPs: the perfect-information oracle and the shrinking-horizon LP policy."""

from __future__ import annotations

import itertools
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxinv
from jaxinv import baselines
from jaxinv import evaluate as evaluate_lib
from jaxinv.policies import base_stock, constant
from jaxinv.solvers import lp

ENV_IDS = ("InvManagement-v0", "InvManagement-v1")
TWO_STAGES = {
    "p": 2.0,
    "r": [1.5, 1.0, 0.6],
    "k": [0.5, 0.2, 0.1],
    "h": [0.2, 0.1],
    "alpha": 0.9,
}


def tiny_chain(env_id: str, lead_times, demand, **extra):
    """Two stages, capacities (3, 2), a fixed demand path (dist=5)."""
    config = {
        **TWO_STAGES,
        "I0": [1, 2],
        "c": [3, 2],
        "L": list(lead_times),
        "periods": len(demand),
        "dist": 5,
        "user_D": list(demand),
        **extra,
    }
    return jaxinv.make(env_id, **config)


def brute_force_best(env, params, demand) -> float:
    """The best return over every plan of whole orders 0..c_i, simulated with the env itself.

    Orders above what the supplier can ship only add unfilled costs (and in v0 forced later
    shipments a plan could request directly), so plans within 0..c reach the optimum.
    """
    c = np.asarray(params.c, int)
    per_period = list(itertools.product(*(range(ci + 1) for ci in c)))  # (C, M)
    plans = np.array(list(itertools.product(per_period, repeat=len(demand))), np.float32)
    returns = lp.replay_returns(
        env, params, np.broadcast_to(demand, (len(plans), len(demand))), plans
    )
    return float(returns.max())


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.parametrize(
    ("lead_times", "demand"), [((1, 0), (2.0, 3.0, 1.0)), ((0, 2), (3.0, 0.0, 4.0))]
)
def test_oracle_equals_brute_force_optimum(env_id, lead_times, demand) -> None:
    env, params = tiny_chain(env_id, lead_times, demand)
    plan = lp.SerialChainLP(env, params).solve(demand)
    best = brute_force_best(env, params, np.asarray(demand))
    assert plan.value == pytest.approx(best, abs=1e-4)
    # The LP's vertex is integral and replaying it in the env earns the LP value exactly.
    np.testing.assert_allclose(plan.shipments, np.round(plan.shipments), atol=1e-9)
    replayed = lp.replay_returns(env, params, np.asarray(demand)[None], plan.shipments[None])
    assert replayed[0] == pytest.approx(plan.value, abs=1e-4)


def brute_force_from(env, params, start, demand) -> float:
    """The best return of the remaining periods from ``start`` over every whole-order plan."""
    c = np.asarray(params.c, int)
    per_period = list(itertools.product(*(range(ci + 1) for ci in c)))
    plans = np.array(list(itertools.product(per_period, repeat=len(demand))), np.float32)
    paths = np.broadcast_to(demand, (len(plans), len(demand)))
    return float(lp.replay_returns(env, params, paths, plans, start=start).max())


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_planning_lp_from_a_mid_episode_state_equals_brute_force(env_id) -> None:
    """What SHLP solves every period: the rest of the horizon from the true state, here with
    stock in transit and (v0) a retail backlog, against every whole-order plan from it."""
    demand = np.array([4.0, 5.0, 1.0, 3.0, 2.0])
    env, params = tiny_chain(env_id, (1, 2), demand, I0=[2, 3])
    _, state = env.reset_env(None, params)
    for d, action in zip(demand[:2], ([2.0, 1.0], [1.0, 2.0]), strict=True):
        _, state, _, _, _ = env.transition(jnp.float32(d), state, jnp.asarray(action), params)
    assert int(state.time) == 2 and float(state.pipeline.sum()) > 0
    assert float(state.unfilled[0]) > 0 and float(state.unfilled[1:].sum()) == 0
    plan = lp.SerialChainLP(env, params).solve(
        demand[2:],
        on_hand=np.asarray(state.on_hand),
        pipeline=np.asarray(state.pipeline),
        unfilled=np.asarray(state.unfilled),
        period=2,
    )
    assert plan.value == pytest.approx(brute_force_from(env, params, state, demand[2:]), abs=1e-4)


def small_stochastic_chain(env_id: str):
    return jaxinv.make(
        env_id,
        periods=6,
        I0=[8, 12],
        c=[10, 8],
        L=[1, 2],
        **TWO_STAGES,
        dist_param={"mu": 5},
    )


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_oracle_bounds_every_policy_on_the_same_paths(env_id) -> None:
    env, params = small_stochastic_chain(env_id)
    key, n = jax.random.PRNGKey(3), 40
    oracle = lp.OracleBound().evaluate_bound(env, params, key, n)
    policies = {
        "constant": constant.constant_order([5.0, 5.0]),
        "base_stock": base_stock.echelon_base_stock(env, params, [12.0, 30.0]),
        "shlp": lp.shlp_policy(env, params),
    }
    for name, policy in policies.items():
        result = evaluate_lib.evaluate(env, policy, params, key, n)
        assert result.crn == oracle.crn, name
        assert np.all(oracle.returns >= result.returns - 1e-3), name


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_shlp_with_an_exact_forecast_earns_the_oracle_value(env_id) -> None:
    """Known demand: re-planning from the true state every period loses nothing."""
    demand = (4.0, 0.0, 6.0, 3.0, 5.0, 2.0)
    env, params = tiny_chain(env_id, (1, 2), demand, c=[6, 5], I0=[3, 4])
    oracle = lp.SerialChainLP(env, params).solve(demand).value
    result = evaluate_lib.evaluate(env, lp.shlp_policy(env, params), params, jax.random.key(0), 2)
    np.testing.assert_allclose(result.returns, oracle, atol=1e-3)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_shlp_orders_are_whole_and_shippable(env_id) -> None:
    env, params = small_stochastic_chain(env_id)
    _, state = jax.vmap(env.reset, (0, None))(jax.random.split(jax.random.key(0), 64), params)
    rng = np.random.default_rng(0)
    state = state.replace(
        on_hand=jnp.asarray(rng.integers(0, 15, (64, 2)), jnp.float32),
        pipeline=jnp.asarray(rng.integers(0, 6, (64, 2, 2)) * [[1, 1], [0, 1]], jnp.float32),
        unfilled=jnp.asarray(rng.integers(0, 4, (64, 3)), jnp.float32),
        time=jnp.asarray(rng.integers(0, 6, 64), jnp.int32),
    )
    policy = jax.jit(lp.shlp_policy(env, params))
    orders = np.asarray(policy(jax.random.key(1), jnp.zeros((64, 1)), state))
    capacity = np.asarray(params.c)
    np.testing.assert_array_equal(orders, np.floor(orders))
    assert orders.min() >= 0 and np.all(orders <= capacity)
    # What the supplier is asked (plus v0's backlogged request) never exceeds its stock when
    # the planner asks for anything: stage 0's supplier is stage 1.
    owed = np.asarray(state.unfilled[:, 1:]) if env.backlog else 0.0
    asked = orders + owed
    shipped_ok = asked[:, 0] <= np.asarray(state.on_hand[:, 1])
    assert np.all(shipped_ok | (orders[:, 0] == 0))
    # The same orders under vmap (the callback batches over the extra axis).
    halves = jax.tree.map(lambda x: x.reshape(2, 32, *x.shape[1:]), state)
    vmapped = jax.vmap(lambda s: policy(jax.random.key(1), jnp.zeros((32, 1)), s))(halves)
    np.testing.assert_array_equal(np.asarray(vmapped).reshape(64, 2), orders)


def test_bad_input_raises_naming_the_field() -> None:
    env, params = small_stochastic_chain("InvManagement-v1")
    chain = lp.SerialChainLP(env, params)
    with pytest.raises(ValueError, match="demand"):
        chain.solve([3.0, -1.0])
    with pytest.raises(ValueError, match="on_hand"):
        chain.solve([3.0, 1.0], on_hand=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="forecast"):
        lp.shlp_policy(env, params, forecast=[5.0] * 3)
    for name in ("shlp", "oracle"):
        for bad in (0, 2.5, "ten"):
            with pytest.raises(ValueError, match="'episodes'"):
                baselines.fit("InvManagement-v1", name, env, params, {"episodes": bad})
        with pytest.raises(ValueError, match="unknown option"):
            baselines.fit("InvManagement-v1", name, env, params, {"paths": 10})


def test_oracle_baseline_run_pairs_with_other_baselines(tmp_path) -> None:
    overrides = {"env.periods": 6, "env.L": [1, 2, 3], "episodes": 12}
    oracle = baselines.baseline_run("InvManagement-v1", "oracle", overrides, tmp_path / "oracle")
    overrides = {"env.periods": 6, "env.L": [1, 2, 3]}
    fixed = baselines.baseline_run(
        "InvManagement-v1", "constant", overrides, tmp_path / "constant", episodes=12
    )
    summary = json.loads((tmp_path / "oracle" / "summary.json").read_text())
    assert summary["eval"]["episodes"] == 12 and summary["policy"] == "oracle"
    assert oracle["eval_crn"] == fixed["eval_crn"]
    bound = np.load(tmp_path / "oracle" / "eval_returns.npy")[0]
    returns = np.load(tmp_path / "constant" / "eval_returns.npy")[0]
    assert bound.shape == (12,) and np.all(bound >= returns - 1e-3)
    with pytest.raises(ValueError, match="'episodes'"):
        baselines.baseline_run("InvManagement-v1", "oracle", {"episodes": 5}, None, episodes=7)
