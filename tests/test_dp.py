"""Exact dynamic programming for the retail store, against brute force and simulation.

The brute force is a plain-Python expectimax over the env's own state (on hand, every pipeline
slot, day) with the demand pmf computed independently (trace frequencies, or scipy's normal);
the DP works on a reduced state (shelf stock after arrival, later pipeline slots) in JAX.
"""

from __future__ import annotations

import functools
import itertools

import jax
import numpy as np
import pytest
from scipy import stats

import jaxinv
from jaxinv import evaluate
from jaxinv.envs import retail
from jaxinv.policies.s_S import s_S_policy
from jaxinv.solvers import dp

TRACE = (0, 1, 3, 2, 1, 0, 2, 1, 1, 2, 0, 3, 2, 2)  # two weeks of small demand
TINY = {
    "capacity": 4,
    "max_order": 2,
    "horizon": 5,
    "initial_stock": 1,
    "start_weekday": 5,  # Saturday: the horizon crosses into a new week
    "price": 5.0,
    "unit_cost": 1.5,
    "fixed_cost": 2.0,
    "holding_cost": 0.5,
}
NORMAL = {"demand_mean": [1, 1, 1, 1, 1.5, 2.5, 2.5], "demand_std": [0.8] * 7}


def trace_pmfs() -> list[dict[int, float]]:
    """Each weekday's demand frequencies in TRACE (a list starts on ``start_weekday``)."""
    pmfs = []
    for w in range(7):
        seen = TRACE[(w - TINY["start_weekday"]) % 7 :: 7]
        pmfs.append({d: seen.count(d) / len(seen) for d in set(seen)})
    return pmfs


def normal_pmfs() -> list[dict[int, float]]:
    """round(max(N(mean, std), 0)) by weekday, to 40 standard deviations."""
    pmfs = []
    for mean, std in zip(NORMAL["demand_mean"], NORMAL["demand_std"], strict=True):
        law = stats.norm(mean, std)
        top = int(mean + 40 * std)
        pmf = {0: law.cdf(0.5)}
        pmf.update({k: law.cdf(k + 0.5) - law.cdf(k - 0.5) for k in range(1, top + 1)})
        pmfs.append(pmf)
    return pmfs


def brute_force(config: dict, pmfs: list[dict[int, float]]):
    """``value(t, on_hand, pipeline)``: the best expected profit from day t, by expectimax."""
    cap, most, lead = config["capacity"], config["max_order"], config["lead_time"]

    @functools.cache
    def value(t: int, on_hand: int, pipeline: tuple[int, ...]) -> float:
        if t == config["horizon"]:
            return 0.0
        best = -np.inf
        for order in range(most + 1):
            if lead == 0:
                arriving, later = order, ()
            else:
                arriving, later = pipeline[0], (*pipeline[1:], order)
            shelf = min(cap, on_hand + arriving)
            total = -config["fixed_cost"] * (order > 0) - config["unit_cost"] * order
            total -= config["holding_cost"] * shelf
            for wanted, p in pmfs[(config["start_weekday"] + t) % 7].items():
                sold = min(shelf, wanted)
                total += p * (config["price"] * sold + value(t + 1, shelf - sold, later))
            best = max(best, total)
        return best

    return value


CASES = {
    f"{model}-L{lead}": (model, lead) for model in ("empirical", "normal") for lead in (0, 1, 2)
}


@pytest.mark.parametrize(("model", "lead_time"), CASES.values(), ids=CASES.keys())
def test_dp_equals_brute_force_and_simulation(model: str, lead_time: int) -> None:
    config = {**TINY, "lead_time": lead_time}
    if model == "empirical":
        env, params = jaxinv.make("RetailStore-v0", demand="empirical", trace=TRACE, **config)
        value = brute_force(config, trace_pmfs())
    else:
        env, params = jaxinv.make("RetailStore-v0", **NORMAL, **config)
        value = brute_force(config, normal_pmfs())
    solution = dp.solve(env, params)
    initial = value(0, 1, (0,) * lead_time)
    assert solution.expected_profit == pytest.approx(initial, rel=1e-6, abs=1e-5)

    # Every state on days 0 and 3, through the DP's reduced state.
    for t in (0, 3):
        for on_hand in range(5):
            for pipeline in itertools.product(range(3), repeat=lead_time):
                if lead_time == 0:
                    index = (t, on_hand)
                else:
                    index = (t, min(4, on_hand + pipeline[0]), *pipeline[1:])
                expected = value(t, on_hand, pipeline)
                assert solution.values[index] == pytest.approx(expected, rel=1e-6, abs=1e-5)

    # The DP policy, simulated, earns the DP value.
    result = evaluate.evaluate(env, dp.dp_policy(solution), params, jax.random.key(7), 20_000)
    standard_error = result.std / np.sqrt(result.episodes)
    assert abs(result.mean - initial) < 4 * standard_error + 1e-6


def test_dp_policy_orders_within_range_and_reads_the_state() -> None:
    config = {**TINY, "lead_time": 2}
    env, params = jaxinv.make("RetailStore-v0", **NORMAL, **config)
    solution = dp.solve(env, params)
    assert solution.policy.shape == (5, 5, 3) and solution.values.shape == (5, 5, 3)
    assert solution.policy.min() >= 0 and solution.policy.max() <= 2
    _, state = jax.vmap(env.reset, (0, None))(jax.random.split(jax.random.key(0), 2), params)
    state = state.replace(
        on_hand=np.asarray([3.0, 0.0], np.float32),
        pipeline=np.asarray([[2.0, 1.0], [0.0, 0.0]], np.float32),
        time=np.asarray([3, 4], np.int32),
    )
    orders = np.asarray(dp.dp_policy(solution)(None, None, state))
    assert orders.tolist() == [solution.policy[3, 4, 1], solution.policy[4, 0, 0]]


def test_article_year_dp_beats_s_S_and_matches_simulation() -> None:
    env, params = jaxinv.make("RetailStore-v0")
    solution = dp.solve(env, params)
    assert solution.policy.shape == (364, 51, 21)
    key = jax.random.key(3)
    result = evaluate.evaluate(env, dp.dp_policy(solution), params, key, 4000)
    assert abs(result.mean - solution.expected_profit) < 4 * result.std / np.sqrt(4000)
    # The article's (s, S) = (15, 32) on the same demand model and paths earns less.
    s_S = evaluate.evaluate(env, s_S_policy(15, 32, 20), params, key, 4000)
    paired = np.asarray(result.returns) - np.asarray(s_S.returns)
    assert paired.mean() > 4 * paired.std() / np.sqrt(4000)


def test_dp_refuses_traces_and_huge_problems() -> None:
    env, params = jaxinv.make("RetailStore-v0")
    with pytest.raises(ValueError, match="demand distribution"):
        dp.solve(env, retail.train_year_params(env, params))
    env, params = jaxinv.make("RetailStore-v0", lead_time=4, max_order=40)
    with pytest.raises(ValueError, match="at most"):
        dp.solve(env, params)
