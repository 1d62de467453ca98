"""InvManagement (OR-Gym's serial chain, ``jaxinv/envs/serial.py``): its declaration.

Baselines: ``constant`` (order ``quantity`` per stage every period; default the mean demand),
``random`` (uniform orders in 0..c), ``base_stock`` (echelon base-stock with levels searched on
``paths`` common-random-number paths, or given as ``levels``), ``shlp`` (the shrinking-horizon
LP on mean demand, re-planned every period) and ``oracle`` (not a policy: the perfect-information
LP's value on each evaluation path, an upper bound); the LPs take ``episodes`` (evaluation
paths, default the evaluation set's). See ``jaxinv.solvers.lp``. Why the tuned learner
defaults are what they are: docs/tuning.md.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from jaxinv.envs import serial
from jaxinv.families import CompareSpec, ConfigDoc, Family, Published, UserState

Fitted = tuple[Any, dict[str, Any], dict[str, Any]]


def _mean_order(env: serial.InvManagement, params: serial.EnvParams) -> np.ndarray:
    """The mean retail demand per period, rounded to whole units, at every stage (M,)."""
    from jaxinv.envs.demand import DemandTable, table_mean

    if isinstance(params.demand, DemandTable):
        mean = table_mean(params.demand)
    else:  # a demand path (dist=5)
        mean = float(np.mean(np.asarray(params.demand)))
    return np.full(env.num_stages, round(mean), float)


def _constant(env, params, options: dict[str, Any]) -> Fitted:
    from jaxinv.policies import constant

    if "quantity" in options:
        quantity = np.broadcast_to(np.asarray(options.pop("quantity"), float), (env.num_stages,))
    else:
        quantity = _mean_order(env, params)
    return constant.constant_order(quantity), {"quantity": quantity.tolist()}, {}


def _random(env, params, options: dict[str, Any]) -> Fitted:
    from jaxinv.policies import constant

    return constant.uniform_random(params.c), {}, {}


def _base_stock(env, params, options: dict[str, Any]) -> Fitted:
    import jax

    from jaxinv.baselines import SEARCH_SEED
    from jaxinv.policies import base_stock

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


def _demo_policies(env, params) -> dict[str, Any]:
    """``jaxinv demo``: uniformly random orders, and the mean demand ordered at every stage."""
    from jaxinv.policies import constant

    quantity = _mean_order(env, params)
    return {
        "uniform random orders": constant.uniform_random(params.c),
        f"constant order {quantity[0]:g}/stage": constant.constant_order(quantity),
    }


STATE_FIELDS = {
    "on_hand": "units on hand per stage, retailer first (M whole numbers >= 0)",
    "pipeline": "units in transit to each stage, one list per stage (retailer first) of its "
    "lead time L_i entries: what arrives this period first, then next period, ...; each at "
    "most that stage's capacity c_i (what can ship in one period)",
    "orders": "the requests each stage placed in the last W periods (W = the "
    "longest lead time), one list of W per stage, oldest first (OR-Gym's observation reads "
    "them); default: the in-transit units of the pipeline, earlier ones 0",
    "backlog": "InvManagement-v0 only: unfilled retail demand, then each "
    "supplier's unfilled requests to stages 0..M-1 (M + 1 whole numbers >= 0; default 0)",
    "lost": "InvManagement-v1 only: last period's lost retail demand, then each "
    "supplier's unfilled requests (M + 1 whole numbers >= 0; default 0)",
    "period": "periods done in the episode, 0 to periods - 1 (default 0)",
}


def _per_stage(env_id: str, name: str, value: Any, lengths: list[int], why: str, high=None):
    """One list per stage, stage i's of ``lengths[i]`` whole numbers >= 0 (at most
    ``high[i]``), as a ``(max(lengths), M)`` array, zero-padded at the end of each column."""
    from jaxinv.recommend import counts, field_error

    m = len(lengths)
    if not isinstance(value, (list, tuple)) or len(value) != m:
        shape = "[" + ", ".join(f"<{n} numbers>" for n in lengths) + "]"
        raise field_error(env_id, name, value, f"expected {m} lists, one per stage: {shape}")
    table = np.zeros((max(lengths, default=0), m), np.float32)
    for i, (entries, n) in enumerate(zip(value, lengths, strict=True)):
        limit = None if high is None else high[i]
        table[:n, i] = counts(env_id, f"{name}[{i}]", entries, (n,), why.format(i=i, n=n), limit)
    return table


def user_state(env: serial.InvManagement, params: serial.EnvParams, fields) -> serial.EnvState:
    """The chain's state from the user's numbers (``STATE_FIELDS``); fields already checked
    for unknown and missing names by ``jaxinv.recommend.check_fields``."""
    import jax.numpy as jnp

    from jaxinv.recommend import counts, field_error, whole

    env_id, m, w = env.name, env.num_stages, env.max_lead_time
    lead, capacity = np.asarray(params.L).tolist(), np.asarray(params.c)
    on_hand = counts(env_id, "on_hand", fields["on_hand"], (m,), f"one per stage, {m} stages")
    pipeline = _per_stage(
        env_id,
        "pipeline",
        fields["pipeline"],
        lead,
        "stage {i} has lead time {n}: arrivals in each of its next {n} period(s), this one first",
        capacity,
    )
    if "orders" in fields:
        log = _per_stage(
            env_id, "orders", fields["orders"], [w] * m, "the last {n} requests, oldest first"
        )
    else:  # the requests still in transit, as placed: slot j arrives in j periods
        log = np.zeros((w, m), np.float32)
        for i, n in enumerate(lead):
            log[w - n :, i] = pipeline[:n, i]
    own, other = ("backlog", "lost") if env.backlog else ("lost", "backlog")
    if other in fields:
        raise field_error(
            env_id, other, fields[other], f"{env_id} has no {other!r}; it has {own!r}"
        )
    unfilled = np.zeros(m + 1, np.float32)
    if own in fields:
        why = "retail, then each supplier's unfilled requests"
        unfilled = counts(env_id, own, fields[own], (m + 1,), why)
    period = whole(env_id, "period", fields.get("period", 0), 0, env.periods - 1, "periods done")
    return serial.EnvState(
        on_hand=jnp.asarray(on_hand),
        pipeline=jnp.asarray(pipeline),
        order_log=jnp.asarray(log),
        unfilled=jnp.asarray(unfilled),
        time=jnp.asarray(period, jnp.int32),
    )


def _paper(oracle: float, shlp: float, ppo: float, milp: float, dfo: float) -> Published:
    return Published(
        source="OR-Gym paper (Hubbs et al. 2020), mean of 10 demand paths",
        rows=(
            ("oracle (clairvoyant LP)", oracle, "oracle"),
            ("shrinking-horizon LP", shlp, "shlp"),
            ("PPO (RLlib)", ppo, "ppo"),
            ("base-stock, MILP", milp, "base_stock"),
            ("base-stock, derivative-free search", dfo, "base_stock"),
        ),
        paths=10,
        sd=30.0,  # the paper's spread of returns over its 10 paths, about
    )


FAMILY = Family(
    name="InvManagement",
    envs={
        env_id: (lambda _id=env_id, **config: serial.make_inv_management(_id, **config))
        for env_id in serial.ENV_IDS
    },
    descriptions={
        "InvManagement-v0": "OR-Gym's multi-echelon serial chain, unfilled demand backlogged",
        "InvManagement-v1": "OR-Gym's multi-echelon serial chain, unfilled demand lost",
    },
    baselines={
        "constant": _constant,
        "random": _random,
        "base_stock": _base_stock,
        "shlp": _shlp,
        "oracle": _oracle,
    },
    compare=CompareSpec(
        baselines=("base_stock", "shlp", "oracle"),
        reference="base_stock",
        bound="oracle",
        bound_kind="bound",
    ),
    tuned={
        "ppo": {"gae_lambda": 1.0},
        "a2c": {"lr": 3e-3, "gae_lambda": 1.0},
        "dqn": {
            "gamma": 1.0,
            "reward_scale": 0.1,
            "total_steps": 2_000_000,
            "env.observation": "full",
        },
    },
    published={
        "InvManagement-v0": _paper(546.8, 508.0, 438.8, 388.0, 360.9),
        "InvManagement-v1": _paper(542.7, 485.4, 409.8, 378.5, 364.3),
    },
    display={
        "base_stock": "base-stock",
        "shlp": "shrinking-horizon LP",
        "oracle": "oracle (bound)",
    },
    demo_policies=_demo_policies,
    smoke_config={
        "InvManagement-v0": {"periods": 6},
        "InvManagement-v1": {"periods": 6},
    },
    config={
        env_id: ConfigDoc(serial.DEFAULT_CONFIG, serial.CONFIG_ALLOWED) for env_id in serial.ENV_IDS
    },
    user_state=UserState(STATE_FIELDS, ("on_hand", "pipeline"), user_state),
)
