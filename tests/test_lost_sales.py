"""LostSales-v0 and its exact solver: Zipkin's (2008) published optima, the published best
base-stock gaps, brute-force value iteration on tiny systems, exact evaluation against
simulation with the env, the env's step by hand, and config validation."""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxinv
from jaxinv import families
from jaxinv.envs import lost_sales
from jaxinv.envs.lost_sales import demand_pmf
from jaxinv.families import lost_sales as lost_sales_family
from jaxinv.solvers import lost_sales as solver


def zipkin(model: str, lead_time: int, p: float, **kwargs) -> solver.Problem:
    """Zipkin's (2008) grid: demand mean 5, h = 1; orders uncapped unless ``max_order``."""
    return solver.Problem(demand_pmf(model, 5.0), lead_time, 1.0, float(p), **kwargs)


# Zipkin (2008), "Old and new methods for lost-sales inventory systems", Operations Research
# 56(5): optimal average cost, demand mean 5, h = 1.
ZIPKIN_OPTIMA = [
    ("poisson", 2, 4, 4.40),
    ("poisson", 2, 19, 7.66),
    ("poisson", 4, 4, 4.73),
    ("poisson", 4, 19, 8.89),
    ("geometric", 2, 4, 10.24),
    ("geometric", 2, 19, 20.89),
    ("geometric", 4, 4, 10.61),
    ("geometric", 4, 19, 22.95),
]


@pytest.mark.parametrize(("model", "lead_time", "p", "published"), ZIPKIN_OPTIMA)
def test_solver_reproduces_zipkin_s_optima_to_their_printed_precision(
    model, lead_time, p, published
):
    problem = zipkin(model, lead_time, p)
    solution = solver.solve(problem)
    assert solution.upper - solution.lower < solver.SPAN_TOL
    assert round(solution.average_cost, 2) == pytest.approx(published, abs=1e-9)
    check = solver.truncation_check(problem, solution)
    assert not check["binds"], check
    assert check["largest_position"] <= solution.position_bound


def test_truncation_check_tells_a_bound_reached_from_a_bound_that_binds():
    # Poisson, L = 1, p = 19: the optimal policy orders q_bar = 9 and up to S_bar = 15 on
    # recurrent states (the bounds are inclusive); one unit wider changes nothing.
    problem = zipkin("poisson", 1, 19)
    check = solver.truncation_check(problem, solver.solve(problem))
    assert check["order_bound_hits"] > 0 and not check["binds"]
    assert check["widened"]["largest_order"] == problem.order_bound
    # Bounds three units tighter than Zipkin's do bind, and the check says so.
    tight = zipkin("poisson", 2, 4, widen=-3)
    check = solver.truncation_check(tight, solver.solve(tight))
    assert check["binds"]
    assert check["widened"]["average_cost"] < solver.solve(tight).average_cost - 1e-3


# Best (uncapped) base-stock gap to the optimum, Poisson mean 5, h = 1, in % (the Deep
# Controlled Learning authors' logs, Temizoz et al. 2025, as quoted in issue 15); all twelve
# cells are in benchmarks/lost_sales_solve.py.
BASE_STOCK_GAPS = [(2, 4, 5.54), (3, 9, 5.09), (4, 19, 3.88), (2, 39, 0.92)]


@pytest.mark.parametrize(("lead_time", "p", "published"), BASE_STOCK_GAPS)
def test_best_base_stock_gap_equals_the_published_one(lead_time, p, published):
    problem = zipkin("poisson", lead_time, p)
    optimum = solver.solve(problem).average_cost
    level, evaluation, costs = solver.best_base_stock(problem)
    gap = 100.0 * (evaluation.average_cost / optimum - 1.0)
    assert abs(gap - published) <= 0.01
    # The level found is a minimum of what was tried, and its neighbours were tried.
    assert {level - 1, level + 1} <= set(costs) and evaluation.average_cost == min(costs.values())


def test_dynaplex_s_precise_figures():
    """DynaPlex 1.14.1 measured on this CPU (issue 15): optimum 4.395295 (L=2, p=4) and
    8.887178 (L=4, p=19); uncapped base-stock 4.6386 and 9.2319."""
    for lead_time, p, optimum, base_stock in ((2, 4, 4.395295, 4.6386), (4, 19, 8.887178, 9.2319)):
        problem = zipkin("poisson", lead_time, p)
        assert solver.solve(problem).average_cost == pytest.approx(optimum, abs=5e-7)
        assert solver.best_base_stock(problem)[1].average_cost == pytest.approx(
            base_stock, abs=5e-5
        )


# -- brute force ----------------------------------------------------------------------------


def brute_force_average_cost(pmf, lead_time, h, p, c, position_cap, order_cap, iters=4000):
    """Relative value iteration in plain numpy over every state with position <= cap and
    every order <= order_cap (wider than Zipkin's bounds), built from the definition."""
    states = [
        s
        for s in itertools.product(
            range(position_cap + 1), *[range(order_cap + 1)] * (lead_time - 1)
        )
        if sum(s) <= position_cap
    ]
    index = {s: i for i, s in enumerate(states)}
    n, actions = len(states), order_cap + 1
    cost = np.full((n, actions), np.inf)
    move = np.zeros((n, actions, n))
    for s in states:
        for a in range(actions):
            if sum(s) + a > position_cap:
                continue
            total = c * a
            for d, prob in enumerate(pmf):
                left = max(s[0] - d, 0)
                total += prob * (h * left + p * max(d - s[0], 0))
                nxt = (left + a,) if lead_time == 1 else (left + s[1], *s[2:], a)
                move[index[s], a, index[nxt]] += prob
            cost[index[s], a] = total
    v = np.zeros(n)
    for _ in range(iters):
        q = cost + np.where(np.isfinite(cost), move @ v, 0.0)
        new = q.min(1)
        diff = new - v
        v = new - new[0]
        if diff.max() - diff.min() < 1e-11:
            break
    return 0.5 * (diff.max() + diff.min())


@pytest.mark.parametrize(
    ("pmf", "lead_time", "p", "c"),
    [
        ([0.3, 0.4, 0.3], 1, 4.0, 0.0),
        ([0.3, 0.4, 0.3], 2, 4.0, 0.0),
        ([0.2, 0.5, 0.0, 0.3], 2, 9.0, 0.5),
        ([0.5, 0.3, 0.2], 3, 3.0, 0.0),
    ],
)
def test_solver_matches_brute_force_value_iteration_on_a_wider_space(pmf, lead_time, p, c):
    problem = solver.Problem(np.asarray(pmf), lead_time, 1.0, p, order_cost=c)
    solution = solver.solve(problem)
    wider = brute_force_average_cost(
        pmf, lead_time, 1.0, p, c, problem.position_bound + 3, problem.order_bound + 2
    )
    assert solution.average_cost == pytest.approx(wider, abs=1e-6)
    # The optimal table, evaluated as a fixed policy, has the optimum's cost.
    evaluation = solver.evaluate(
        problem, solution.policy, solution.position_bound, solution.order_bound
    )
    assert evaluation.average_cost == pytest.approx(solution.average_cost, abs=1e-6)


def test_heuristics_cost_at_least_the_optimum_and_the_searches_are_exhaustive():
    problem = zipkin("poisson", 2, 9, max_order=None)
    optimum = solver.solve(problem).average_cost
    level, best, _ = solver.best_base_stock(problem, start=3)  # from far below
    every = {s: solver.base_stock(problem, s).average_cost for s in range(0, 26)}
    assert level == min(every, key=every.get) and best.average_cost == every[level]
    _, capped, tried = solver.best_capped_base_stock(problem)
    assert capped.average_cost < every[level]  # capping helps here, as in Xin (2021)
    myopic = solver.evaluate(
        problem, solver.myopic_orders(problem), problem.position_bound, problem.order_bound
    )
    for cost in (best.average_cost, capped.average_cost, myopic.average_cost):
        assert cost >= optimum - 1e-7
    assert len(tried) >= problem.order_bound


def test_myopic_orders_minimise_the_arrival_period_cost_by_enumeration():
    pmf = np.array([0.2, 0.5, 0.3])
    problem = solver.Problem(pmf, 3, 1.0, 4.0)
    orders = solver.myopic_orders(problem)
    for state in [(0, 0, 0), (1, 2, 0), (3, 0, 1), (2, 1, 1)]:
        costs = []
        for a in range(problem.order_bound + 1):
            if sum(state) + a > problem.position_bound:
                continue
            expected = 0.0  # E[C(on hand at t + 3)] by enumerating three demands
            for ds in itertools.product(range(3), repeat=3):
                prob = np.prod(pmf[list(ds)])
                on_hand = state[0]
                for d, arrival in zip(ds[:2], state[1:], strict=True):
                    on_hand = max(on_hand - d, 0) + arrival
                on_hand = max(on_hand - ds[2], 0) + a
                expected += prob * sum(
                    q * (max(on_hand - d, 0) + 4.0 * max(d - on_hand, 0)) for d, q in enumerate(pmf)
                )
            costs.append(expected)
        assert orders[state] == int(np.argmin(costs)), state


# -- the env ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def default_system():
    """The default system, its optimum and the four baselines fitted (exact costs too)."""
    env, params = jaxinv.make("LostSales-v0")
    fitted = {
        name: fit(env, params, {}) for name, fit in families.family_of(env.name).baselines.items()
    }
    return env, params, fitted


def test_exact_average_costs_lie_within_the_simulated_confidence_intervals(default_system):
    env, params, fitted = default_system
    policies_ = {name: f[0] for name, f in fitted.items()}
    runs = lost_sales_family.long_run_average_cost(
        env, params, policies_, jax.random.key(11), paths=64, periods=4000, warm_up=500
    )
    for name, (_, _, extras) in fitted.items():
        row, exact = runs[name], extras["expected_average_cost"]
        half = row["ci95"][1] - row["average_cost"]
        # A 99.99% interval: the fixed key makes this deterministic, the margin keeps it honest.
        assert abs(row["average_cost"] - exact) < 2.0 * half, (name, row["ci95"], exact)
        assert half < 0.02  # tight enough to tell the policies apart (4.40 to 4.58)
        # The summary's own long run (100 paths x 10,000 periods, the family's fixed paths).
        own = extras["long_run"]
        own_half = own["ci95"][1] - own["average_cost"]
        assert abs(own["average_cost"] - exact) < 2.0 * own_half, (name, own, exact)
        assert (own["paths"], own["periods"], own["warm_up"]) == (100, 10_000, 1_000)
    # Same paths: the optimum's per-path costs are below the others' on average, clearly.
    for name in ("base_stock", "myopic"):
        diff = runs[name]["per_path"] - runs["optimal"]["per_path"]
        assert diff.mean() > 4 * diff.std(ddof=1) / np.sqrt(diff.size), name
    assert runs["optimal"]["gap_pct"] == 0.0 and runs["base_stock"]["gap_pct"] > 3.0
    # The base-stock baseline is capped at the env's max_order (7): 4.5776, not 4.6386.
    assert fitted["base_stock"][1] == {"S": 16}
    assert fitted["base_stock"][2]["expected_average_cost"] == pytest.approx(
        solver.base_stock(solver.problem_from_env(env, params), 16).average_cost
    )


def test_step_by_hand():
    env, params = jaxinv.make(
        "LostSales-v0", lead_time=3, holding_cost=2.0, lost_sale_cost=7.0, order_cost=0.5
    )
    state = lost_sales.EnvState(
        on_hand=jnp.float32(3.0), pipeline=jnp.asarray([2.0, 4.0]), time=jnp.int32(0)
    )
    # Demand 5 > 3 on hand: 3 sold, 2 lost; the order of 5 joins the end of the pipeline.
    obs, new, reward, terminated, info = env.transition(jnp.float32(5.0), state, 5.0, params)
    assert float(reward) == -(7.0 * 2 + 0.5 * 5)
    assert float(new.on_hand) == 2.0 and new.pipeline.tolist() == [4.0, 5.0]
    assert int(new.time) == 1 and not bool(terminated)
    assert float(info["lost_sales"]) == 2.0 and float(info["sales"]) == 3.0
    np.testing.assert_allclose(obs, np.array([2.0, 4.0, 5.0]) / float(params.max_order))
    # Demand 1: 2 left over (held), then 2 arrive.
    _, new, reward, *_ = env.transition(jnp.float32(1.0), state, 0.0, params)
    assert float(reward) == -(2.0 * 2) and float(new.on_hand) == 4.0
    # With L = 1 the order is on hand next period.
    env1, params1 = jaxinv.make("LostSales-v0", lead_time=1, initial_state=[4])
    _, state1 = env1.reset(None, params1)
    _, new1, reward1, *_ = env1.transition(jnp.float32(1.0), state1, 3.0, params1)
    assert float(new1.on_hand) == 3.0 + 3.0 and float(reward1) == -3.0
    # The horizon truncates; the problem never terminates.
    _, stepped = env.reset(None, params)
    out = env.step(jax.random.key(0), stepped.replace(time=jnp.int32(env.horizon - 1)), 0.0)
    assert bool(out[4]) and not bool(out[3]) and int(out[1].time) == 0


def test_demand_models_and_defaults():
    for model in lost_sales.DEMAND_MODELS:
        pmf = demand_pmf(model, 5.0)
        assert np.dot(np.arange(pmf.size), pmf) == pytest.approx(5.0, abs=1e-9)
        assert pmf.sum() == pytest.approx(1.0)
    env, params = jaxinv.make("LostSales-v0")
    # Zipkin's order bound for Poisson(5), p/(p+h) = 0.8: P(d <= 6) = 0.762, P(d <= 7) = 0.867.
    assert float(params.max_order) == 7 and env.action_space(params).n == 8
    assert float(params.initial_on_hand) == 10 and params.initial_pipeline.tolist() == [0.0]
    assert not env.never_truncates
    table = lost_sales.params_pmf(params)
    np.testing.assert_allclose(table[:15], demand_pmf("poisson", 5.0)[:15], atol=1e-9)
    env, params = jaxinv.make("LostSales-v0", demand=[0.25, 0.25, 0.5], lead_time=1)
    assert lost_sales.params_pmf(params) == pytest.approx([0.25, 0.25, 0.5])


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({"lead_time": 0}, "lead_time"),
        ({"demand": "normal"}, "demand"),
        ({"demand_mean": -1.0}, "demand_mean"),
        ({"demand": "binomial", "demand_mean": 2.3}, "demand_mean"),
        ({"demand": [0.5, -0.1]}, "demand"),
        ({"demand": [0.5, 0.5], "demand_mean": 3.0}, "demand_mean"),
        ({"holding_cost": 0.0}, "holding_cost"),
        ({"order_cost": -1.0}, "order_cost"),
        ({"max_order": 0}, "max_order"),
        ({"horizon": 2.5}, "horizon"),
        ({"initial_state": [3]}, "initial_state"),
        ({"initial_state": [3, -1]}, "initial_state"),
        ({"lead_tme": 2}, "lead_tme"),
    ],
)
def test_bad_config_raises_naming_the_key(config, key):
    with pytest.raises(ValueError, match=repr(key)):
        jaxinv.make("LostSales-v0", **config)
