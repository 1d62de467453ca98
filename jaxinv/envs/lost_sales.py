"""Zipkin's periodic-review lost-sales system with a lead time (``LostSales-v0``).

The single-stage benchmark of Zipkin (2008, "Old and new methods for lost-sales inventory
systems", Operations Research 56(5)). Stock and orders are whole units, money is in cost units,
time in periods. The state at the start of period ``t`` is ``(x0, x1, ..., x_{L-1})``:
``x0`` is the stock on hand *including* the order arriving this period, ``x_j`` (``j >= 1``)
the order that arrives ``j`` periods later. Each period, in this order:

1. the system orders ``a`` units, ``0 <= a <= max_order``, paying ``order_cost * a``; the order
   first serves demand ``L`` periods later (it becomes ``x_{L-1}`` after the shift; with
   ``L = 1`` it is on hand next period);
2. demand ``d`` is drawn i.i.d.; ``min(x0, d)`` is sold and the rest is lost;
3. the period costs ``holding_cost * (x0 - d)^+ + lost_sale_cost * (d - x0)^+ + order_cost * a``
   and the reward is minus that cost;
4. the next on hand is ``(x0 - d)^+ + x1`` (``+ a`` when ``L = 1``) and the pipeline shifts.

The problem is the long-run average cost; an episode is a training window of ``horizon``
periods that ends by *truncation* (``truncated`` True at the horizon, ``terminated`` never),
so learners bootstrap there. ``jaxinv.solvers.lost_sales`` solves the average-cost problem
exactly.

Demand (config ``demand``, mean ``demand_mean`` = m): ``"poisson"`` (mean m); ``"geometric"``
on {0, 1, ...} (``P(d = k) = (1 - q) q^k``, ``q = m / (1 + m)``); ``"binomial"`` with
``n = 2m`` trials of probability 1/2; ``"uniform"`` on {0, ..., 2m} (the last two need ``2m``
whole, and have mean m); or an explicit pmf list on {0, 1, ...} (normalised; ``demand_mean``
is then its mean and need not be given). Unbounded distributions lose their upper tail beyond
the first value where less than 1e-12 of the mass remains (``demand_pmf``), renormalised; the
env draws from that pmf exactly (to 2**-31) by inverse CDF on a table
(``jaxinv.envs.demand``).

``max_order`` defaults to Zipkin's bound on the optimal order, the smallest ``q`` with
``P(d <= q) >= p / (p + h)`` (one period's demand, ``p`` = lost_sale_cost, ``h`` =
holding_cost). ``initial_state`` is ``[x0, x1, ..., x_{L-1}]``; the default is an empty
pipeline and ``x0 = ceil(L * m)``, the mean demand of the ``L`` periods before the first order
can arrive (so the system starts neither starved nor overstocked).

Observations are float32 ``[x0, x1, ..., x_{L-1}] / max(max_order, 1)``: on hand and pipeline
in units of the largest order, so pipeline entries lie in [0, 1] and on hand near a few units.
Actions are ``spaces.Discrete(max_order + 1)``; any real number is accepted (clipped to
``[0, max_order]`` and floored; NaN orders nothing).
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from gymnax.environments import spaces
from scipy import stats

from jaxinv.envs import demand as demand_lib
from jaxinv.envs import validate
from jaxinv.envs.base import InventoryEnv

ENV_ID = "LostSales-v0"

DEFAULT_CONFIG: dict[str, Any] = {
    "lead_time": 2,  # L, periods from order to the first demand it serves
    "demand": "poisson",  # "poisson", "geometric", "binomial", "uniform" or a pmf list
    "demand_mean": 5.0,  # units per period
    "holding_cost": 1.0,  # h, per unit left at the end of a period
    "lost_sale_cost": 4.0,  # p, per unit of demand lost
    "order_cost": 0.0,  # per unit ordered
    "max_order": None,  # largest order, units; default Zipkin's bound (see module doc)
    "horizon": 1000,  # periods per training episode (a truncation)
    "initial_state": None,  # [x0, x1, ..., x_{L-1}]; default [ceil(L * mean), 0, ..., 0]
}
"""Zipkin's (2008) base case: Poisson demand of mean 5, h = 1, p = 4, L = 2."""

CONFIG_ALLOWED: dict[str, str] = {
    "lead_time": "L, periods from order to the first demand it serves; whole, in [1, 50]",
    "demand": "'poisson', 'geometric' (on 0, 1, ...), 'binomial' (n = 2 * mean, p = 1/2), "
    "'uniform' (on 0..2 * mean), or a pmf list on 0, 1, ...",
    "demand_mean": "units per period, in (0, 1000]; 2 * mean whole for binomial and uniform; "
    "not given with a pmf list",
    "holding_cost": "h, per unit left at the end of a period; in (0, 1e6]",
    "lost_sale_cost": "p, per unit of demand lost; in (0, 1e6]",
    "order_cost": "per unit ordered; in [0, 1e6]",
    "max_order": "largest order, units; whole, in [1, 100000]; None: the p/(p+h) quantile of "
    "one period's demand (Zipkin's bound)",
    "horizon": "periods per training episode, ended by truncation; whole, in [1, 1e7]",
    "initial_state": "[x0, x1, ..., x_{L-1}] whole units; None: [ceil(L * mean), 0, ..., 0]",
}
"""What each config key means and allows (``jaxinv envs``); the checks are in ``make``."""

DEMAND_MODELS = ("poisson", "geometric", "binomial", "uniform")
TAIL_MASS = 1e-12
"""An unbounded demand's upper tail beyond the last value kept holds less than this."""
MAX_LEAD_TIME = 50
MAX_MEAN = 1000.0
MAX_UNITS = 100_000
MAX_HORIZON = 10_000_000
MAX_COST = 1e6


@struct.dataclass
class EnvParams:
    """Traced parameters (``vmap`` over systems with the same lead time and table size)."""

    holding_cost: jax.Array  # () per unit left over per period
    lost_sale_cost: jax.Array  # () per unit of demand lost
    order_cost: jax.Array  # () per unit ordered
    max_order: jax.Array  # () float32 units
    initial_on_hand: jax.Array  # () float32 units, x0 of the first period
    initial_pipeline: jax.Array  # (L - 1,) float32 units, x1..x_{L-1} of the first period
    demand: demand_lib.DemandTable  # exact sampler of one period's demand


@struct.dataclass
class EnvState:
    """What the system carries between periods."""

    on_hand: jax.Array  # () x0: units on hand, this period's arrival included
    pipeline: jax.Array  # (L - 1,) x_j arrives j periods later (j = 1..L-1)
    time: jax.Array  # () int32 periods done


def inventory_position(state: EnvState) -> jax.Array:
    """``x0 + x1 + ... + x_{L-1}`` before ordering, units (any batch shape)."""
    return state.on_hand + state.pipeline.sum(-1)


def clip_order(action: jax.Array, max_order: jax.Array) -> jax.Array:
    """A whole order in ``[0, max_order]`` from any real number (NaN orders 0), float32."""
    action = jnp.asarray(action, jnp.float32)
    positive = jnp.where(action > 0.0, action, 0.0)  # NaN > 0 is False
    return jnp.floor(jnp.minimum(positive, max_order))


class LostSales(InventoryEnv):
    """Zipkin's lost-sales system (see the module docstring for the period's events).

    Static settings: the lead time ``lead_time`` (it sets the pipeline's length ``L - 1``)
    and the ``horizon`` of a training episode. Build it with ``jaxinv.make("LostSales-v0",
    **config)``.
    """

    never_truncates = False  # the horizon is a time limit of an infinite-horizon problem

    def __init__(self, *, horizon: int, lead_time: int, params: EnvParams) -> None:
        super().__init__(params, horizon=horizon, lead_time=lead_time)

    @property
    def name(self) -> str:
        return ENV_ID

    # -- dynamics ---------------------------------------------------------------------------

    def reset_env(self, key: jax.Array | None, params: EnvParams) -> tuple[jax.Array, EnvState]:
        """The configured initial state; needs no randomness."""
        del key
        state = EnvState(
            on_hand=jnp.asarray(params.initial_on_hand, jnp.float32),
            pipeline=jnp.asarray(params.initial_pipeline, jnp.float32),
            time=jnp.zeros((), jnp.int32),
        )
        return self.get_obs(state, params), state

    def draw_demand(
        self,
        key: jax.Array,
        state: EnvState,
        params: EnvParams,
        batch_shape: tuple[int, ...] = (),
    ) -> jax.Array:
        """Demand of the coming period, units (float32) of shape ``batch_shape``."""
        del state
        return demand_lib.sample_table(key, params.demand, batch_shape)

    def transition(
        self, demand: jax.Array, state: EnvState, action: jax.Array, params: EnvParams
    ) -> tuple[jax.Array, EnvState, jax.Array, jax.Array, dict[str, jax.Array]]:
        """One period given its demand (units, shape ()): deterministic."""
        order = clip_order(action, params.max_order)
        sales = jnp.minimum(state.on_hand, demand)
        left = state.on_hand - sales
        lost = demand - sales
        cost = params.holding_cost * left + params.lost_sale_cost * lost + params.order_cost * order
        if self.lead_time == 1:
            on_hand, pipeline = left + order, state.pipeline
        else:
            on_hand = left + state.pipeline[0]
            pipeline = jnp.concatenate([state.pipeline[1:], order[None]])
        time = state.time + 1
        new_state = EnvState(on_hand=on_hand, pipeline=pipeline, time=time)
        info = {
            "order": order,
            "demand": demand,
            "sales": sales,
            "lost_sales": lost,
            "left_over": left,
            "cost": cost,
        }
        terminated = jnp.zeros((), bool)
        return self.get_obs(new_state, params), new_state, -cost, terminated, info

    def is_truncated(self, state: EnvState, params: EnvParams) -> jax.Array:
        """At the horizon: the end of a training window, not of the problem."""
        return state.time >= self.horizon

    def is_terminated(self, state: EnvState, params: EnvParams) -> jax.Array:
        """Never: the problem has no end."""
        return jnp.zeros(jnp.shape(state.time), bool)

    # -- observation ------------------------------------------------------------------------

    @property
    def obs_size(self) -> int:
        """``L`` values: on hand, then the ``L - 1`` orders in transit."""
        return self.lead_time

    def observation_layout(self) -> tuple[tuple[str, int, str], ...]:
        """The observation's consecutive segments: ``(name, length, meaning)``."""
        return (
            ("on_hand", 1, "x0: units on hand, this period's arrival included, / max_order"),
            (
                "pipeline",
                self.lead_time - 1,
                "x1..x_{L-1}: units arriving in j periods / max_order",
            ),
        )

    def get_obs(self, state: EnvState, params: EnvParams | None = None, key=None) -> jax.Array:
        """``[x0, x1, ..., x_{L-1}] / max(max_order, 1)``, float32 (L,)."""
        params = self.default_params if params is None else params
        scale = jnp.maximum(params.max_order, 1.0)
        return jnp.concatenate([state.on_hand[None], state.pipeline]) / scale

    # -- spaces -----------------------------------------------------------------------------

    def action_space(self, params: EnvParams | None = None) -> spaces.Discrete:
        """Orders of 0..max_order units."""
        params = self.default_params if params is None else params
        return spaces.Discrete(int(np.asarray(params.max_order)) + 1)

    def observation_space(self, params: EnvParams | None = None) -> spaces.Box:
        """Bounds every observation of an episode: on hand never exceeds the initial inventory
        position plus ``horizon`` largest orders; each order in transit is at most the largest
        order (or its initial value)."""
        params = self.default_params if params is None else params
        max_order = float(np.asarray(params.max_order))
        scale = max(max_order, 1.0)
        pipeline = np.asarray(params.initial_pipeline, np.float64)
        position = float(np.asarray(params.initial_on_hand)) + float(pipeline.sum())
        high = np.concatenate(
            [[position + self.horizon * max_order], np.maximum(pipeline, max_order)]
        )
        return spaces.Box(
            0.0, jnp.asarray(high / scale, jnp.float32), (self.lead_time,), jnp.float32
        )

    @property
    def num_actions(self) -> int:
        return int(np.asarray(self.default_params.max_order)) + 1


# -- demand -------------------------------------------------------------------------------------


def demand_pmf(model: str, mean: float) -> np.ndarray:
    """One period's demand pmf on {0, 1, ..., K} (float64, sums to 1), per the module doc.

    Poisson and geometric are cut after the first ``K`` with ``P(d > K) < TAIL_MASS`` and
    renormalised; binomial and uniform need ``2 * mean`` whole.
    """
    if model in ("binomial", "uniform"):
        n = round(2 * mean)
        if model == "binomial":
            return stats.binom(n, 0.5).pmf(np.arange(n + 1))
        return np.full(n + 1, 1.0 / (n + 1))
    if model == "poisson":
        frozen = stats.poisson(mean)
    elif model == "geometric":  # scipy's geom counts trials from 1: shift to failures from 0
        frozen = stats.geom(1.0 / (1.0 + mean), loc=-1)
    else:
        raise ValueError(f"unknown demand model {model!r}")
    high = max(int(frozen.isf(TAIL_MASS)), 0)
    while frozen.sf(high) >= TAIL_MASS:
        high += 1
    while high > 0 and frozen.sf(high - 1) < TAIL_MASS:
        high -= 1
    pmf = frozen.pmf(np.arange(high + 1))
    return pmf / pmf.sum()


def critical_quantile(pmf: np.ndarray, ratio: float) -> int:
    """The smallest ``q`` with ``P(d <= q) >= ratio`` for a pmf on {0, 1, ...}."""
    cdf = np.cumsum(pmf)
    return int(np.searchsorted(cdf, ratio - 1e-12))


# -- construction -------------------------------------------------------------------------------


def _demand(config: dict[str, Any], given: dict[str, Any]) -> tuple[np.ndarray, float]:
    """The configured demand pmf and its mean."""
    model = config["demand"]
    if isinstance(model, str):
        if model not in DEMAND_MODELS:
            raise validate.fail(
                ENV_ID, "demand", model, f"choose from {DEMAND_MODELS} or give a pmf list"
            )
        mean = validate.as_scalar(ENV_ID, "demand_mean", config["demand_mean"])
        validate.check_range(ENV_ID, "demand_mean", mean, low=0, high=MAX_MEAN, low_open=True)
        if model in ("binomial", "uniform") and 2 * mean != round(2 * mean):
            raise validate.fail(
                ENV_ID,
                "demand_mean",
                mean,
                f"demand={model!r} has n = 2 * demand_mean, so 2 * demand_mean must be whole",
            )
        return demand_pmf(model, mean), mean
    pmf = validate.as_vector(ENV_ID, "demand", model)
    if pmf.size > demand_lib.MAX_TABLE_SIZE or np.any(pmf < 0) or pmf.sum() <= 0:
        raise validate.fail(
            ENV_ID,
            "demand",
            pmf.tolist() if pmf.size <= 10 else f"<{pmf.size} values>",
            f"a pmf is a list of at most {demand_lib.MAX_TABLE_SIZE} non-negative numbers "
            "with positive sum (probabilities of 0, 1, 2, ... units)",
        )
    pmf = pmf / pmf.sum()
    mean = float(np.dot(np.arange(pmf.size), pmf))
    if "demand_mean" in given:
        stated = validate.as_scalar(ENV_ID, "demand_mean", given["demand_mean"])
        if abs(stated - mean) > 1e-9 * max(1.0, mean):
            raise validate.fail(
                ENV_ID, "demand_mean", stated, f"the given pmf has mean {mean!r}; leave it unset"
            )
    if mean <= 0:
        raise validate.fail(ENV_ID, "demand", pmf.tolist()[:10], "the pmf must have mean > 0")
    return pmf, mean


def make_lost_sales(**config: Any) -> tuple[LostSales, EnvParams]:
    """Validate a config (keys of ``DEFAULT_CONFIG``) and build the env and its params."""
    validate.reject_unknown(ENV_ID, config, DEFAULT_CONFIG)
    cfg = {**DEFAULT_CONFIG, **config}
    lead_time = validate.as_int(ENV_ID, "lead_time", cfg["lead_time"], low=1, high=MAX_LEAD_TIME)
    horizon = validate.as_int(ENV_ID, "horizon", cfg["horizon"], low=1, high=MAX_HORIZON)
    costs = {}
    for key, low_open in (("holding_cost", True), ("lost_sale_cost", True), ("order_cost", False)):
        costs[key] = validate.as_scalar(ENV_ID, key, cfg[key])
        validate.check_range(ENV_ID, key, costs[key], low=0, high=MAX_COST, low_open=low_open)
    pmf, mean = _demand(cfg, config)
    ratio = costs["lost_sale_cost"] / (costs["lost_sale_cost"] + costs["holding_cost"])
    if cfg["max_order"] is None:
        max_order = max(critical_quantile(pmf, ratio), 1)
    else:
        max_order = validate.as_int(ENV_ID, "max_order", cfg["max_order"], low=1, high=MAX_UNITS)
    if cfg["initial_state"] is None:
        initial = np.zeros(lead_time)
        initial[0] = math.ceil(lead_time * mean)
    else:
        initial = validate.as_vector(ENV_ID, "initial_state", cfg["initial_state"])
        validate.check_length(
            ENV_ID, "initial_state", initial, lead_time, "[x0, x1, ..., x_{L-1}]: one per period"
        )
        validate.check_range(ENV_ID, "initial_state", initial, low=0, high=MAX_UNITS, integer=True)
    params = EnvParams(
        holding_cost=jnp.asarray(costs["holding_cost"], jnp.float32),
        lost_sale_cost=jnp.asarray(costs["lost_sale_cost"], jnp.float32),
        order_cost=jnp.asarray(costs["order_cost"], jnp.float32),
        max_order=jnp.asarray(max_order, jnp.float32),
        initial_on_hand=jnp.asarray(initial[0], jnp.float32),
        initial_pipeline=jnp.asarray(initial[1:], jnp.float32),
        demand=demand_lib.table_from_pmf(0, pmf),
    )
    return LostSales(horizon=horizon, lead_time=lead_time, params=params), params


def params_pmf(params: EnvParams) -> np.ndarray:
    """The demand pmf on {0, 1, ...} the params draw from (float64, exact to 2**-31)."""
    values, pmf = demand_lib.table_distribution(params.demand)
    assert values[0] == 0
    return pmf


__all__ = [
    "ENV_ID",
    "EnvParams",
    "EnvState",
    "LostSales",
    "critical_quantile",
    "demand_pmf",
    "inventory_position",
    "make_lost_sales",
]
