"""Hand-made baseline policies by name, fitted and evaluated the way ``jaxinv baseline`` does.

Every baseline is evaluated on the same evaluation set as trained agents
(``training.evaluation_set``), so their per-episode returns pair with a run's. Policies whose
parameters are searched are fitted on paths drawn from a different key (``SEARCH_SEED``), so
the evaluation is out of sample.

InvManagement: ``constant`` (order ``quantity`` per stage every period; default the mean
demand), ``random`` (uniform orders in 0..c), ``base_stock`` (echelon base-stock with levels
searched on ``paths`` common-random-number paths, or given as ``levels``), ``shlp`` (the
shrinking-horizon LP on mean demand, re-planned every period) and ``oracle`` (not a policy:
the perfect-information LP's value on each evaluation path, an upper bound); both take
``episodes`` (evaluation paths, default the evaluation set's). See ``jaxinv.solvers.lp``.

RetailStore: ``sS`` (the (s, S) pair searched exhaustively on the article's training year, or
given as ``s`` and ``S``), ``dp`` (the exact optimum of the env's demand model by dynamic
programming; adds ``expected_return``). Both are scored on the 100 test years.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import numpy as np

import jaxinv
from jaxinv import evaluate as evaluate_lib
from jaxinv import runs, training
from jaxinv.envs.validate import suggest
from jaxinv.policies import base_stock, constant

SEARCH_SEED = 7_777  # base-stock levels are searched on paths from PRNGKey(SEARCH_SEED)

Fitted = tuple[Callable, dict[str, Any], dict[str, Any]]  # policy, its params, extras


def _constant(env, params, options: dict[str, Any]) -> Fitted:
    from jaxinv.envs.demand import DemandTable, table_mean

    if "quantity" in options:
        quantity = np.broadcast_to(np.asarray(options.pop("quantity"), float), (env.num_stages,))
    else:
        mean = (
            table_mean(params.demand)
            if isinstance(params.demand, DemandTable)
            else float(np.mean(np.asarray(params.demand)))
        )
        quantity = np.full(env.num_stages, round(mean), float)
    return constant.constant_order(quantity), {"quantity": quantity.tolist()}, {}


def _random(env, params, options: dict[str, Any]) -> Fitted:
    return constant.uniform_random(params.c), {}, {}


def _base_stock(env, params, options: dict[str, Any]) -> Fitted:
    if "levels" in options:
        levels = np.asarray(options.pop("levels"), float)
        if levels.shape != (env.num_stages,):
            raise ValueError(f"base_stock: 'levels' needs {env.num_stages} entries, got {levels}")
        return base_stock.echelon_base_stock(env, params, levels), {"levels": levels.tolist()}, {}
    paths = int(options.pop("paths", 2000))
    if paths < 2:
        raise ValueError(f"base_stock: 'paths'={paths} must be at least 2")
    result = base_stock.search_base_stock(env, params, jax.random.PRNGKey(SEARCH_SEED), paths)
    extras = {
        "search": {
            "paths": result.num_paths,
            "in_sample_mean": result.mean_return,
            "evaluations": result.evaluations,
            "wall_s": result.wall_s,
        }
    }
    policy = base_stock.echelon_base_stock(env, params, result.base_stock_level)
    return policy, {"levels": result.base_stock_level.tolist()}, extras


def _s_S(env, params, options: dict[str, Any]) -> Fitted:
    from jaxinv.envs import retail
    from jaxinv.policies import s_S

    max_order = float(np.asarray(params.max_order))
    if "s" in options or "S" in options:
        pair = int(options.pop("s", 15)), int(options.pop("S", 32))
        return s_S.s_S_policy(*pair, max_order), {"s": pair[0], "S": pair[1]}, {}
    max_up_to = int(options.pop("max_S", 60))
    start = time.perf_counter()
    result = s_S.search_s_S(env, retail.train_year_params(env, params), max_up_to)
    extras = {
        "search": {
            "fitted_on": "the article's training year",
            "pairs": max_up_to * (max_up_to + 1) // 2,
            "in_sample_profit": result.profit,
            "wall_s": time.perf_counter() - start,
        }
    }
    policy = s_S.s_S_policy(result.reorder_point, result.order_up_to, max_order)
    return policy, {"s": result.reorder_point, "S": result.order_up_to}, extras


def _dp(env, params, options: dict[str, Any]) -> Fitted:
    from jaxinv.solvers import dp

    start = time.perf_counter()
    solution = dp.solve(env, params)
    extras = {
        "expected_return": solution.expected_profit,
        "solve_s": time.perf_counter() - start,
    }
    return dp.dp_policy(solution), {"policy_table_shape": list(solution.policy.shape)}, extras


def _episodes_option(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """The LP baselines' ``episodes`` option (evaluation paths) as an extra for baseline_run."""
    if "episodes" not in options:
        return {}
    episodes = options.pop("episodes")
    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
        raise ValueError(f"{name}: option 'episodes'={episodes!r} must be a whole number >= 1")
    return {"eval_episodes": episodes}


def _shlp(env, params, options: dict[str, Any]) -> Fitted:
    from jaxinv.solvers import lp

    extras = _episodes_option("shlp", options)
    forecast = lp.mean_demand(env, params)
    planned = float(forecast[0]) if np.all(forecast == forecast[0]) else forecast.tolist()
    return lp.shlp_policy(env, params, forecast), {"planned_demand": planned}, extras


def _oracle(env, params, options: dict[str, Any]) -> Fitted:
    from jaxinv.solvers import lp

    extras = _episodes_option("oracle", options)
    return lp.OracleBound(), {"bound": "perfect-information LP per evaluation path"}, extras


BASELINES: dict[str, dict[str, Callable[..., Fitted]]] = {
    "InvManagement": {
        "constant": _constant,
        "random": _random,
        "base_stock": _base_stock,
        "shlp": _shlp,
        "oracle": _oracle,
    },
    "RetailStore": {"sS": _s_S, "dp": _dp},
}


def register(env_family: str, name: str, fit: Callable[..., Fitted]) -> None:
    """Add a baseline ``name`` for envs whose id starts with ``env_family``."""
    BASELINES.setdefault(env_family, {})[name] = fit


def names(env_id: str) -> tuple[str, ...]:
    return tuple(BASELINES.get(training.family(env_id), {}))


def fit(env_id: str, name: str, env, params, options: dict[str, Any]) -> Fitted:
    """The baseline ``name``'s policy for this env; unknown names and options are errors."""
    available = names(env_id)
    if name not in available:
        raise ValueError(
            f"unknown policy {name!r} for {env_id}{suggest(name, available)} "
            f"Choose from: {', '.join(available) or 'none'}"
        )
    options = dict(options)
    fitted = BASELINES[training.family(env_id)][name](env, params, options)
    if options:
        raise ValueError(f"{name}: unknown option(s) {', '.join(map(repr, options))}")
    return fitted


def baseline_run(
    env_id: str,
    name: str,
    overrides: dict[str, Any],
    out: str | Path | None,
    *,
    episodes: int | None = None,
) -> dict[str, Any]:
    """Fit and evaluate baseline ``name``; writes ``out/summary.json`` when ``out`` is given."""
    start = time.perf_counter()
    env_config, options = training.split_overrides(overrides)
    env, params = jaxinv.make(env_id, **env_config)
    policy, policy_params, extras = fit(env_id, name, env, params, options)
    fit_s = time.perf_counter() - start
    own_episodes = extras.pop("eval_episodes", None)  # shlp/oracle: --set episodes=N
    if own_episodes is not None and episodes is not None and own_episodes != episodes:
        raise ValueError(f"{name}: option 'episodes'={own_episodes} but --episodes {episodes}")
    setup = training.evaluation_set(env, params, own_episodes if episodes is None else episodes)
    if hasattr(policy, "evaluate_bound"):  # a bound per path (the LP oracle), not a policy
        result = policy.evaluate_bound(env, **setup)
    else:
        result = evaluate_lib.evaluate(env, policy, **setup)
    summary = {
        "command": "baseline",
        "env": env_id,
        "policy": name,
        "config": options_config(overrides),
        "params": policy_params,
        "eval": result.as_dict(),
        "total_steps": 0,
        "fit_s": fit_s,
        "wall_s": time.perf_counter() - start,
        "compile_s": None,
        "eval_crn": result.crn,
        **extras,
    }
    if out is not None:
        out = runs.prepare(out)
        np.save(out / "eval_returns.npy", result.returns[None], allow_pickle=False)
        runs.write_json(out / runs.SUMMARY, summary)
    return summary


def options_config(overrides: dict[str, Any]) -> dict[str, Any]:
    return runs.jsonable(overrides)
