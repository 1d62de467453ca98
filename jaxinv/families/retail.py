"""RetailStore (the 2022 article's single store, ``jaxinv/envs/retail.py``): its declaration.

Baselines: ``sS`` (the (s, S) pair searched exhaustively on the article's training year, or
given as ``s`` and ``S``) and ``dp`` (the exact optimum of the env's demand model by dynamic
programming; adds ``expected_return``). Every policy is scored on the article's 100 test years
(``--episodes N`` scores the first N of them). Why the tuned learner defaults are what they
are: docs/tuning.md.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import jax
import numpy as np

from jaxinv.envs import retail
from jaxinv.families import (
    CompareSpec,
    ConfigDoc,
    Family,
    FigureContext,
    Published,
    UserState,
)

Fitted = tuple[Any, dict[str, Any], dict[str, Any]]
TEST_YEARS = 100
ARTICLE_S_S = (15, 32)  # the article's (s, S)


def _s_S(env, params, options: dict[str, Any]) -> Fitted:
    from jaxinv.policies import s_S

    max_order = float(np.asarray(params.max_order))
    if "s" in options or "S" in options:
        pair = int(options.pop("s", ARTICLE_S_S[0])), int(options.pop("S", ARTICLE_S_S[1]))
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


def test_years(env, params, episodes: int | None) -> dict[str, Any]:
    """The evaluation set: the article's 100 test years, or the first ``episodes`` of them."""
    years = retail.test_year_params(env, params)
    if episodes is not None:
        if isinstance(episodes, bool) or not isinstance(episodes, int):
            raise ValueError(f"episodes={episodes!r} must be a whole number of test years")
        if not 1 <= episodes <= TEST_YEARS:
            raise ValueError(
                f"episodes={episodes}: {env.name} is scored on the article's {TEST_YEARS} test "
                f"years; choose 1 to {TEST_YEARS} (the first N years) or leave it unset"
            )
        if episodes < TEST_YEARS:
            years = jax.tree.map(lambda leaf: leaf[:episodes], years)
    return {"params": years, "batched_params": True}


test_years.__test__ = False  # not a test, though pytest would collect it by name


def year_trajectory(env: Any, year_params: Any, policy: Any) -> dict[str, Any]:
    """Orders, end-of-day stock (cases) and profit of one retail year under ``policy``."""
    from jaxinv import evaluate

    batched = jax.tree.map(lambda leaf: leaf[None], year_params)
    returns, steps = evaluate.episode_trajectories(
        env, policy, batched, jax.random.PRNGKey(0), 1, env.horizon, batched_params=True
    )
    info = {k: np.asarray(v)[:, 0] for k, v in steps["info"].items()}
    flow = info["arrivals"] - info["discarded"] - info["sales"]
    stock = float(np.asarray(year_params.initial_stock)) + np.cumsum(flow)
    return {"order": info["order"], "stock": stock, "profit": float(np.asarray(returns)[0])}


def test_year(env: Any, params: Any, year: int) -> Any:
    """The params of test year ``year`` (0-based) alone."""
    return jax.tree.map(lambda leaf: leaf[year], retail.test_year_params(env, params))


test_year.__test__ = False


def trajectories_figure(ctx: FigureContext, year: int = 0) -> Path:
    """``trajectories.png``: test year ``year`` under each baseline and each learner (seed 0)."""
    from jaxinv import plots, training

    lines = {}
    for name, (policy, env, params) in ctx.baselines.items():
        lines[ctx.display.get(name, name)] = year_trajectory(
            env, test_year(env, params, year), policy
        )
    for label in ctx.learners:
        loaded = training.load_run(ctx.out / label)
        env, params = loaded.built.env, loaded.built.params
        policy = loaded.built.learner.policy(training.seed_slice(loaded.agent, 0), True)
        lines[label] = year_trajectory(env, test_year(env, params, year), policy)
    path = ctx.out / "trajectories.png"
    plots.test_year(lines, path, f"{ctx.env_id}, test year {TEST_YEARS + year}")
    return path


STATE_FIELDS = {
    "on_hand": "cases on the shelf this morning, before today's arrival (0 to capacity)",
    "pipeline": "cases on order, one per day of the lead time: what arrives today (before "
    "today's demand) first; each 0 to max_order ([] with lead_time 0)",
    "weekday": "today's weekday: 0 = Monday .. 6 = Sunday, or its name (Mon, friday, ...)",
    "day": "days done in the episode, 0 to horizon - 1 (default 0; the DP optimum "
    "and the 'full' observation read it)",
}


def _weekday(value: Any) -> int:
    """A weekday from 0..6 or a name (``"Fri"``, ``"friday"``); ``StateError`` otherwise."""
    from jaxinv.envs.trace import WEEKDAYS
    from jaxinv.recommend import field_error, whole

    if isinstance(value, str):
        for i, day in enumerate(WEEKDAYS):
            if value.strip().lower() in (day.lower(), day[:3].lower()):
                return i
        raise field_error(retail.ENV_ID, "weekday", value, "0 = Monday .. 6 = Sunday, or a name")
    return whole(retail.ENV_ID, "weekday", value, 0, 6, "0 = Monday .. 6 = Sunday")


def user_state(env: retail.RetailStore, params: retail.EnvParams, fields) -> retail.EnvState:
    """The store's state from the user's numbers (``STATE_FIELDS``); fields already checked
    for unknown and missing names by ``jaxinv.recommend.check_fields``."""
    import jax.numpy as jnp

    from jaxinv.recommend import counts, whole

    capacity = float(np.asarray(params.capacity))
    max_order = float(np.asarray(params.max_order))
    lead_time = int(np.asarray(params.lead_time))
    on_hand = counts(env.name, "on_hand", fields["on_hand"], (), "cases on the shelf", capacity)
    why = f"lead time {lead_time} days: cases arriving today first, each at most max_order"
    pipeline = np.zeros(env.max_lead_time, np.float32)
    pipeline[:lead_time] = counts(
        env.name, "pipeline", fields["pipeline"], (lead_time,), why, max_order
    )
    day = whole(env.name, "day", fields.get("day", 0), 0, env.horizon - 1, "days done")
    return retail.EnvState(
        on_hand=jnp.asarray(on_hand),
        pipeline=jnp.asarray(pipeline),
        weekday=jnp.asarray(_weekday(fields["weekday"]), jnp.int32),
        time=jnp.asarray(day, jnp.int32),
    )


def _demo_policies(env, params) -> dict[str, Any]:
    """``jaxinv demo``: uniformly random orders, and the article's (s, S) = (15, 32)."""
    from jaxinv.policies import constant, s_S

    max_order = float(np.asarray(params.max_order))
    one_stage = constant.uniform_random(np.asarray([max_order]))  # (N, 1) orders

    def uniform_random(key, obs, state):
        return one_stage(key, obs, state)[:, 0]

    return {
        "uniform random orders": uniform_random,
        "(s, S) = (15, 32)": s_S.s_S_policy(*ARTICLE_S_S, max_order),
    }


FAMILY = Family(
    name="RetailStore",
    envs={retail.ENV_ID: retail.make_retail_store},
    descriptions={
        retail.ENV_ID: "one retail store with fixed and per-unit order costs, the (s, S) setting",
    },
    baselines={"sS": _s_S, "dp": _dp},
    compare=CompareSpec(baselines=("sS", "dp"), reference="sS", bound="dp", bound_kind="optimum"),
    tuned={
        # Train on the article's one training year (replayed); scored on the 100 test years.
        "dqn": {
            "env.demand": "trace",
            "env.trace": "article_train_year",
            "env.observation": "full",
        },
    },
    published={
        retail.ENV_ID: Published(
            source="the 2022 article's figures, mean over the same 100 test years",
            rows=(
                ("DQN (PyTorch)", 20_314.53, "dqn"),
                ("(s, S) = (15, 32)", 17_202.08, "sS"),
            ),
        ),
    },
    display={"sS": "(s, S)", "dp": "DP optimum"},
    evaluation_set=test_years,
    figures=(trajectories_figure,),
    demo_policies=_demo_policies,
    smoke_config={retail.ENV_ID: {"horizon": 14}},
    config={retail.ENV_ID: ConfigDoc(retail.DEFAULT_CONFIG, retail.CONFIG_ALLOWED)},
    user_state=UserState(STATE_FIELDS, ("on_hand", "pipeline", "weekday"), user_state),
)
