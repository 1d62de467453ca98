"""Hand-made baseline policies by name, fitted and evaluated the way ``jaxinv baseline`` does.

Every baseline is evaluated on the same evaluation set as trained agents
(``training.evaluation_set``), so their per-episode returns pair with a run's. Policies whose
parameters are searched are fitted on paths drawn from a different key (``SEARCH_SEED``), so
the evaluation is out of sample.

Which baselines an env has, and what their options are, its family declares
(``jaxinv.families``; e.g. ``families/serial.py`` for InvManagement).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import jaxinv
from jaxinv import evaluate as evaluate_lib
from jaxinv import families, runs, training
from jaxinv.envs.validate import suggest

SEARCH_SEED = 7_777  # base-stock levels are searched on paths from PRNGKey(SEARCH_SEED)

Fitted = tuple[Callable, dict[str, Any], dict[str, Any]]  # policy, its params, extras


def names(env_id: str) -> tuple[str, ...]:
    """The baselines the family of ``env_id`` declares."""
    return tuple(families.family_of(env_id).baselines)


def fit(env_id: str, name: str, env, params, options: dict[str, Any]) -> Fitted:
    """The baseline ``name``'s policy for this env; unknown names and options are errors."""
    available = names(env_id)
    if name not in available:
        raise ValueError(
            f"unknown policy {name!r} for {env_id}{suggest(name, available)} "
            f"Choose from: {', '.join(available) or 'none'}"
        )
    options = dict(options)
    fitted = families.family_of(env_id).baselines[name](env, params, options)
    if options:
        raise ValueError(f"{name}: unknown option(s) {', '.join(map(repr, options))}")
    return fitted


@dataclass
class BaselineRun:
    """A fitted and evaluated baseline: its summary, per-episode returns, and the policy with
    the env and params it was fitted for (so figures need not fit it again)."""

    summary: dict[str, Any]
    returns: np.ndarray  # (episodes,) on the evaluation set
    policy: Any
    env: Any
    params: Any


def evaluate_baseline(
    env_id: str, name: str, overrides: dict[str, Any], *, episodes: int | None = None
) -> BaselineRun:
    """Fit baseline ``name`` and evaluate it on the env's evaluation set (see module doc)."""
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
        "config": runs.jsonable(overrides),
        "params": policy_params,
        "eval": result.as_dict(),
        "total_steps": 0,
        "fit_s": fit_s,
        "wall_s": time.perf_counter() - start,
        "compile_s": None,
        "eval_crn": result.crn,
        **extras,
    }
    return BaselineRun(summary, result.returns, policy, env, params)


def write_baseline(out: str | Path, run: BaselineRun) -> Path:
    """``out/summary.json`` and ``out/eval_returns.npy`` of a baseline run; returns ``out``."""
    out = runs.prepare(out)
    np.save(out / "eval_returns.npy", run.returns[None], allow_pickle=False)
    runs.write_json(out / runs.SUMMARY, run.summary)
    return out


def baseline_run(
    env_id: str,
    name: str,
    overrides: dict[str, Any],
    out: str | Path | None,
    *,
    episodes: int | None = None,
) -> dict[str, Any]:
    """Fit and evaluate baseline ``name``; writes ``out`` when given; returns the summary."""
    run = evaluate_baseline(env_id, name, overrides, episodes=episodes)
    if out is not None:
        write_baseline(out, run)
    return run.summary
