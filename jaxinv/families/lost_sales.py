"""LostSales (Zipkin's periodic-review lost-sales system, ``jaxinv/envs/lost_sales.py``).

Baselines, each with its exact long-run average cost (``expected_average_cost``, cost per
period, from ``jaxinv.solvers.lost_sales``) in its summary beside the simulated evaluation,
and ``long_run``: its simulated average cost per period over 100 paths x 10,000 periods after
1,000 (``long_run_average_cost``; the same paths for every baseline):

- ``base_stock``: order up to ``S`` on the inventory position, orders capped only by the
  env's ``max_order``; ``S`` searched by exact evaluation (option ``S`` fixes it);
- ``capped_base_stock``: ``min((S - IP)^+, r)``, every cap ``r`` up to Zipkin's order bound
  with its best ``S`` (options ``S`` and ``r`` fix them);
- ``myopic``: Zipkin's myopic policy (the expected cost of the period the order arrives in);
- ``optimal``: the average-cost optimum by relative value iteration on Zipkin's truncated
  state space.

With the default ``max_order`` (Zipkin's bound on an optimal order, the p/(p+h) quantile of
one period's demand) the base-stock policy is capped there too; the literature's uncapped
base-stock policy is ``base_stock`` with ``env.max_order`` at least its ``S``.
"""

from __future__ import annotations

import time
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

from jaxinv.envs import lost_sales
from jaxinv.families import CompareSpec, ConfigDoc, Family, UserState

Fitted = tuple[Any, dict[str, Any], dict[str, Any]]


def _problem(env, params):
    from jaxinv.solvers import lost_sales as solver

    return solver.problem_from_env(env, params)


def _evaluation_extras(evaluation, start: float) -> dict[str, Any]:
    return {
        "expected_average_cost": evaluation.average_cost,
        "expected_average_cost_bracket": [evaluation.lower, evaluation.upper],
        "exact_states": evaluation.states,
        "fit_wall_s": time.perf_counter() - start,
    }


def _whole(options: dict[str, Any], key: str, low: int) -> int | None:
    if key not in options:
        return None
    value = options.pop(key)
    if isinstance(value, bool) or not float(value).is_integer() or int(value) < low:
        raise ValueError(f"option {key!r}={value!r}: expected a whole number >= {low}")
    return int(value)


def _base_stock(env, params, options: dict[str, Any]) -> Fitted:
    from jaxinv.policies import lost_sales as policies
    from jaxinv.solvers import lost_sales as solver

    start = time.perf_counter()
    problem = _problem(env, params)
    level = _whole(options, "S", 0)
    if level is None:
        level, evaluation, searched = solver.best_base_stock(problem)
        search = {"levels": {str(s): g for s, g in searched.items()}}
    else:
        evaluation, search = solver.base_stock(problem, level), None
    extras = _evaluation_extras(evaluation, start)
    extras["order_cap"] = problem.max_order
    if search is not None:
        extras["search"] = search
    policy = policies.base_stock_policy(level, problem.max_order)
    return policy, {"S": level}, extras


def _capped_base_stock(env, params, options: dict[str, Any]) -> Fitted:
    from jaxinv.policies import lost_sales as policies
    from jaxinv.solvers import lost_sales as solver

    start = time.perf_counter()
    problem = _problem(env, params)
    level, cap = _whole(options, "S", 0), _whole(options, "r", 1)
    if (level is None) != (cap is None):
        raise ValueError("capped_base_stock: give both 'S' and 'r', or neither (searched)")
    extras: dict[str, Any] = {}
    if level is None:
        (level, cap), evaluation, searched = solver.best_capped_base_stock(problem)
        extras["search"] = {"pairs_evaluated": len(searched)}
    else:
        cap = min(cap, problem.max_order)
        evaluation = solver.capped_base_stock(problem, level, cap)
    extras = {**_evaluation_extras(evaluation, start), **extras}
    return policies.base_stock_policy(level, cap), {"S": level, "r": cap}, extras


def _myopic(env, params, options: dict[str, Any]) -> Fitted:
    from jaxinv.policies import lost_sales as policies
    from jaxinv.solvers import lost_sales as solver

    start = time.perf_counter()
    problem = _problem(env, params)
    orders = solver.myopic_orders(problem)
    evaluation = solver.evaluate(problem, orders, problem.position_bound, problem.order_bound)
    extras = _evaluation_extras(evaluation, start)
    table = {"position_bound": problem.position_bound, "order_bound": problem.order_bound}
    return policies.table_policy(orders, problem.position_bound), table, extras


def _optimal(env, params, options: dict[str, Any]) -> Fitted:
    from jaxinv.policies import lost_sales as policies
    from jaxinv.solvers import lost_sales as solver

    start = time.perf_counter()
    problem = _problem(env, params)
    solution = solver.solve(problem)
    check = solver.truncation_check(problem, solution)
    if check["binds"]:
        raise RuntimeError(f"the truncation of the state space binds: {check}")
    extras = {
        "expected_average_cost": solution.average_cost,
        "expected_average_cost_bracket": [solution.lower, solution.upper],
        "iterations": solution.iterations,
        "exact_states": solution.states,
        "truncation": check,
        "solve_s": solution.wall_s,
        "fit_wall_s": time.perf_counter() - start,
    }
    table = {"position_bound": solution.position_bound, "order_bound": solution.order_bound}
    return policies.table_policy(solution.policy, solution.position_bound), table, extras


# -- long-run evaluation -------------------------------------------------------------------------

LONG_RUN = {"paths": 100, "periods": 10_000, "warm_up": 1_000}
"""The long-run evaluation's defaults: paths, periods counted, periods discarded first."""


@partial(jax.jit, static_argnames=("env", "policy", "paths", "periods", "warm_up"))
def _path_costs(env, policy, params, key, *, paths, periods, warm_up):
    """Mean cost per period of each path over ``periods`` after ``warm_up``, (paths,)."""
    _, state = jax.vmap(env.reset, (0, None))(jax.random.split(key, paths), params)
    obs = jax.vmap(env.get_obs, (0, None))(state, params)
    demand_key, policy_key = jax.random.split(key)
    transition = jax.vmap(env.transition, (0, 0, 0, None))

    def period(carry, t):
        state, obs, total = carry
        action = policy(jax.random.fold_in(policy_key, t), obs, state)
        demand = env.draw_demand(jax.random.fold_in(demand_key, t), state, params, (paths,))
        obs, state, reward, _, _ = transition(demand, state, action, params)
        total = total + jnp.where(t >= warm_up, -reward, 0.0).astype(jnp.float64)
        return (state, obs, total), None

    start = (state, obs, jnp.zeros(paths, jnp.float64))
    (_, _, total), _ = jax.lax.scan(period, start, jnp.arange(warm_up + periods))
    return total / periods


def long_run_average_cost(
    env: Any,
    params: Any,
    policies: dict[str, Any],
    key: jax.Array,
    *,
    paths: int = LONG_RUN["paths"],
    periods: int = LONG_RUN["periods"],
    warm_up: int = LONG_RUN["warm_up"],
    optimum: float | None = None,
) -> dict[str, dict[str, Any]]:
    """Average cost per period of each policy from long runs, every policy on the same paths.

    Each of ``paths`` runs starts from the env's initial state, discards ``warm_up`` periods
    and averages the cost of the next ``periods`` (no resets: the horizon is ignored). Demand
    depends on ``key`` and the period only, so every policy sees the same demand paths.
    Returns ``name -> {"average_cost", "std", "ci95", "paths", "per_path"}`` (t interval over
    paths; ``per_path`` (paths,) for paired comparisons) and, with ``optimum`` given (or an
    ``"optimal"`` policy among them), ``"gap_pct"`` to it.
    """
    results = {}
    with jax.enable_x64(True):
        for name, policy in policies.items():
            per_path = np.asarray(
                _path_costs(env, policy, params, key, paths=paths, periods=periods, warm_up=warm_up)
            )
            mean, std = float(per_path.mean()), float(per_path.std(ddof=1))
            half = float(stats.t.ppf(0.975, paths - 1)) * std / np.sqrt(paths)
            results[name] = {
                "average_cost": mean,
                "std": std,
                "ci95": [mean - half, mean + half],
                "paths": paths,
                "periods": periods,
                "warm_up": warm_up,
                "per_path": per_path,
            }
    best = optimum if optimum is not None else results.get("optimal", {}).get("average_cost")
    if best is not None:
        for row in results.values():
            row["gap_pct"] = 100.0 * (row["average_cost"] / best - 1.0)
    return results


LONG_RUN_SEED = 2008
"""Every baseline's long run uses the demand paths of ``jax.random.key(LONG_RUN_SEED)``."""


def with_long_run(fit):
    """``fit`` plus ``extras["long_run"]``: the policy's ``long_run_average_cost`` on the
    family's fixed long-run paths (the same for every baseline, so their costs pair). Option
    ``long_run_paths`` sets the number of paths (default 100; 0 skips it)."""

    def fit_with_long_run(env, params, options: dict[str, Any]) -> Fitted:
        paths = _whole(options, "long_run_paths", 0)
        paths = LONG_RUN["paths"] if paths is None else paths
        policy, policy_params, extras = fit(env, params, options)
        if paths:
            key = jax.random.key(LONG_RUN_SEED)
            run = long_run_average_cost(env, params, {"policy": policy}, key, paths=max(paths, 2))
            extras["long_run"] = {k: v for k, v in run["policy"].items() if k != "per_path"}
        return policy, policy_params, extras

    fit_with_long_run.__doc__ = fit.__doc__
    return fit_with_long_run


def _demo_policies(env, params) -> dict[str, Any]:
    """``jaxinv demo``: base-stock at Zipkin's bound S_bar (the backorder system's level)."""
    from jaxinv.policies import lost_sales as policies

    problem = _problem(env, params)
    level = problem.position_bound
    return {f"base stock S={level}": policies.base_stock_policy(level, problem.max_order)}


ZIPKIN_2008 = "Zipkin (2008), Operations Research 56(5), optimal average cost (h = 1)"

STATE_FIELDS = {
    "on_hand": "x0: units on hand now, this period's arrival included (whole, >= 0)",
    "pipeline": "x1..x_{L-1}: units arriving 1, ..., L-1 periods from now, one per period "
    "([] with lead_time 1); each whole, 0 to max_order",
    "period": "periods done in the training window, 0 to horizon - 1 (default 0; no policy "
    "here reads it)",
}


def user_state(env: lost_sales.LostSales, params: lost_sales.EnvParams, fields):
    """The system's state from the user's numbers (``STATE_FIELDS``); unknown and missing
    names are checked by ``jaxinv.recommend.check_fields``."""
    from jaxinv.recommend import counts, whole

    max_order = float(np.asarray(params.max_order))
    on_hand = counts(env.name, "on_hand", fields["on_hand"], (), "units on hand")
    why = f"lead time {env.lead_time}: the next period's arrival first, each at most max_order"
    pipeline = counts(
        env.name, "pipeline", fields["pipeline"], (env.lead_time - 1,), why, max_order
    )
    period = whole(env.name, "period", fields.get("period", 0), 0, env.horizon - 1, "periods done")
    return lost_sales.EnvState(
        on_hand=jnp.asarray(on_hand, jnp.float32),
        pipeline=jnp.asarray(pipeline, jnp.float32),
        time=jnp.asarray(period, jnp.int32),
    )


FAMILY = Family(
    name="LostSales",
    envs={lost_sales.ENV_ID: lost_sales.make_lost_sales},
    descriptions={
        lost_sales.ENV_ID: "Zipkin's lost-sales system with a lead time: the exact optimum "
        "by relative value iteration, base-stock, capped base-stock and myopic policies",
    },
    baselines={
        "base_stock": with_long_run(_base_stock),
        "capped_base_stock": with_long_run(_capped_base_stock),
        "myopic": with_long_run(_myopic),
        "optimal": with_long_run(_optimal),
    },
    # Why (docs/tuning.md, LostSales-v0): an order's cost shows L periods later and the
    # problem has no end, so a discount well below 1 suffices and trains faster.
    tuned={
        "ppo": {"gamma": 0.95},
        "a2c": {"gamma": 0.9, "lr": 7e-4},
        "dqn": {"lr": 3e-4, "total_steps": 3_000_000},
    },
    compare=CompareSpec(
        baselines=("base_stock", "capped_base_stock", "myopic", "optimal"),
        reference="base_stock",
        bound="optimal",
        bound_kind="optimum",
        cost_per_period=True,
    ),
    display={
        "base_stock": "base-stock",
        "capped_base_stock": "capped base-stock",
        "myopic": "myopic",
        "optimal": "optimal (RVI)",
    },
    demo_policies=_demo_policies,
    # Ordering never pays when a unit costs more than the sale it saves (order_cost > p): the
    # optimum orders nothing and beats every other policy on every path, as the family
    # contract's tiny comparison asserts of its bound row (on 4 short episodes the long-run
    # optimum of the default problem need not beat capped base-stock, 0.24% behind it).
    smoke_config={lost_sales.ENV_ID: {"horizon": 12, "order_cost": 5.0}},
    config={lost_sales.ENV_ID: ConfigDoc(lost_sales.DEFAULT_CONFIG, lost_sales.CONFIG_ALLOWED)},
    user_state=UserState(STATE_FIELDS, ("on_hand", "pipeline"), user_state),
)
