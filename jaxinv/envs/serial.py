"""OR-Gym's multi-echelon serial supply chain (InvManagement-v0 and -v1) as pure JAX functions.

A single product moves down a line of inventory stages towards customers: stage 0 is the
retailer, stage ``M - 1`` the furthest upstream stage that holds stock, and above it sits a raw
material source with unlimited stock (OR-Gym's last stage, which holds none). Each period, in
OR-Gym's order:

1. every stage ``i`` requests ``floor(max(action_i, 0))`` units from its supplier ``i + 1``
   (at most 2**24; a NaN order is none); in v0 the supplier's unfilled requests from last
   period are added (backlog);
2. the supplier ships ``min(request, capacity c_i, its on-hand at the start of the period)``;
   the source above the top stage is limited by its capacity only;
3. shipments placed ``L_i`` periods ago arrive at stage ``i`` (``L_i = 0``: this period);
4. retail demand (plus v0's retail backlog) is served from the retailer's on-hand;
5. unfilled retail demand and unfilled requests are backlogged (v0) or lost (v1), and cost
   ``k`` per unit per period; end-of-period on-hand costs ``h`` per unit.

The reward is OR-Gym's discounted profit ``alpha**t * (p * retail sales - r_top * units the
source released - sum k * unfilled - sum h * end on-hand)``; the transfer prices between
stages cancel. After ``periods`` steps the episode terminates (a real end, not a truncation).

Quantities are whole units held as float32; money is in OR-Gym's currency units per period.
OR-Gym's ``seed_int`` has no counterpart: all randomness comes from the JAX key.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from gymnax.environments import spaces

from jaxinv.envs import demand as demand_lib
from jaxinv.envs import validate
from jaxinv.envs.base import InventoryEnv, joint_actions
from jaxinv.envs.spaces import MultiDiscrete

ENV_IDS = ("InvManagement-v0", "InvManagement-v1")

DEFAULT_CONFIG: dict[str, Any] = {
    "periods": 30,
    "I0": [100, 100, 200],
    "p": 2.0,
    "r": [1.5, 1.0, 0.75, 0.5],
    "k": [0.10, 0.075, 0.05, 0.025],
    "h": [0.15, 0.10, 0.05],
    "c": [100, 90, 80],
    "L": [3, 5, 10],
    "dist": 1,
    "dist_param": {"mu": 20},
    "alpha": 0.97,
    "user_D": None,
    "observation": "orgym",
}
"""OR-Gym 0.5.0's defaults, plus jaxinv's ``observation`` option."""

OBSERVATIONS = ("orgym", "full")
MAX_LEAD_TIME = 1000

CONFIG_ALLOWED: dict[str, str] = {
    "periods": "periods per episode; whole number in [1, 100000]",
    "I0": "initial on-hand per stage, retailer first (sets the number of stages M); units >= 0",
    "p": "retail price per unit sold; >= 0",
    "r": "unit replenishment cost per stage, then the source (M + 1); >= 0",
    "k": "cost per unfilled unit per period: retail, then each supplier (M + 1); >= 0",
    "h": "holding cost per unit on hand at the end of a period, per stage (M); >= 0",
    "c": "supply capacity of each stage's supplier, units per period (M); whole numbers > 0",
    "L": f"lead time to each stage, periods (M); whole numbers in [0, {MAX_LEAD_TIME}]",
    "dist": "demand distribution: 1 poisson, 2 binom, 3 randint, 4 geom, 5 user_D",
    "dist_param": "scipy-style parameters of dist 1-4 (e.g. {'mu': 20}; 'loc' too)",
    "alpha": "per-period discount of the reward; in (0, 1]",
    "user_D": "demand per period for dist=5, a list of `periods` units >= 0; else None",
    "observation": f"observation layout; one of {OBSERVATIONS}",
}
"""What each config key means and allows (``jaxinv envs``); the checks are in ``make``."""

MAX_ORDER = float(1 << 24)
"""Largest order a stage can place in one period (float32 counts whole units exactly to here)."""


@struct.dataclass
class EnvParams:
    """Traced parameters: one compiled step serves a batch of different supply chains.

    Shapes: ``M`` inventory stages; ``r`` and ``k`` have ``M + 1`` entries (the last for the
    raw-material source). Lead times are traced too, bounded by the env's static maximum.
    """

    I0: jax.Array  # (M,) initial on-hand, units
    p: jax.Array  # () retail price per unit sold
    r: jax.Array  # (M + 1,) unit replenishment cost per stage; only r[-1] reaches the reward
    k: jax.Array  # (M + 1,) cost per unfilled unit per period: retail, then each supplier
    h: jax.Array  # (M,) holding cost per unit of end-of-period on-hand
    c: jax.Array  # (M,) supply capacity of stage i's supplier, units per period
    L: jax.Array  # (M,) int32 lead time from stage i's supplier to stage i, periods
    alpha: jax.Array  # () per-period discount of the reward
    demand: Any  # DemandTable, or a (periods,) float32 demand path for dist=5


@struct.dataclass
class EnvState:
    """Everything one chain carries between periods."""

    on_hand: jax.Array  # (M,) units on hand at the start of the period
    pipeline: jax.Array  # (W, M) units arriving at stage i in period t + j, W = max lead time
    order_log: jax.Array  # (W, M) the last W requested orders, oldest first (OR-Gym's obs)
    unfilled: jax.Array  # (M + 1,) last period's unfilled demand and requests (v0: backlog)
    time: jax.Array  # () int32 periods done


class InvManagement(InventoryEnv):
    """The serial chain; ``backlog=True`` is InvManagement-v0, ``False`` is -v1.

    Static (shape-setting) settings live on the env: the number of stages, the longest lead
    time, the horizon (``periods``, also ``horizon``), the observation layout and where demand
    comes from. Use ``jaxinv.make("InvManagement-v1", **config)`` rather than constructing this
    directly. Step, auto-reset and ``step_many`` come from ``jaxinv.envs.base.InventoryEnv``.
    """

    observation_settings = ("observation",)

    def __init__(
        self,
        *,
        backlog: bool,
        num_stages: int,
        max_lead_time: int,
        periods: int,
        observation: str,
        demand_source: str,
        params: EnvParams,
    ) -> None:
        super().__init__(
            params,
            horizon=periods,
            backlog=backlog,
            num_stages=num_stages,
            max_lead_time=max_lead_time,
            observation=observation,
            demand_source=demand_source,
        )

    @property
    def periods(self) -> int:
        """Periods per episode (OR-Gym's name for ``horizon``)."""
        return self.horizon

    @property
    def name(self) -> str:
        return ENV_IDS[0] if self.backlog else ENV_IDS[1]

    # -- dynamics ---------------------------------------------------------------------------

    def reset_env(self, key: jax.Array | None, params: EnvParams) -> tuple[jax.Array, EnvState]:
        """The chain at period 0: initial stock, nothing in transit. Needs no randomness."""
        del key
        m, w = self.num_stages, self.max_lead_time
        state = EnvState(
            on_hand=jnp.asarray(params.I0, jnp.float32),
            pipeline=jnp.zeros((w, m), jnp.float32),
            order_log=jnp.zeros((w, m), jnp.float32),
            unfilled=jnp.zeros((m + 1,), jnp.float32),
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
        """Retail demand of the coming period, units: a draw of shape ``batch_shape`` from the
        demand table, or (dist=5) the user-supplied demand of period ``state.time``."""
        if self.demand_source == "trace":
            return params.demand[jnp.minimum(state.time, self.periods - 1)]
        return demand_lib.sample_table(key, params.demand, batch_shape)

    def transition(
        self, demand: jax.Array, state: EnvState, action: jax.Array, params: EnvParams
    ) -> tuple[jax.Array, EnvState, jax.Array, jax.Array, dict[str, jax.Array]]:
        """One period given this period's retail demand (units, shape ()): deterministic."""
        m, w = self.num_stages, self.max_lead_time
        # floor(max(action, 0)) as in OR-Gym; a NaN order counts as none and orders stop at
        # MAX_ORDER, so no input makes the state or reward NaN or infinite.
        action = jnp.asarray(action, jnp.float32)
        positive = jnp.where(action > 0.0, action, 0.0)  # NaN > 0 is False
        requested = jnp.floor(jnp.minimum(positive, MAX_ORDER))  # (M,)
        request = requested + state.unfilled[1:] if self.backlog else requested
        upstream_stock = jnp.concatenate([state.on_hand[1:], jnp.full((1,), jnp.inf)])
        shipped = jnp.minimum(jnp.minimum(request, params.c), upstream_stock)  # (M,)

        immediate = params.L == 0
        arrivals = jnp.where(immediate, shipped, 0.0)
        if w > 0:
            arrivals = arrivals + state.pipeline[0]
            # Shipments with lead time L >= 1 arrive L - 1 periods after next period.
            slot = jnp.arange(w)[:, None] == (params.L - 1)[None, :]  # (W, M)
            shifted = jnp.concatenate([state.pipeline[1:], jnp.zeros((1, m))], axis=0)
            pipeline = shifted + jnp.where(slot, shipped[None, :], 0.0)
            order_log = jnp.concatenate([state.order_log[1:], requested[None, :]], axis=0)
        else:
            pipeline, order_log = state.pipeline, state.order_log
        stock = state.on_hand + arrivals

        due = demand + state.unfilled[0] if self.backlog else demand
        sold = jnp.minimum(stock[0], due)
        outflow = jnp.concatenate([sold[None], shipped[:-1]])  # retail sales, then shipments
        on_hand = stock - outflow
        unfilled = jnp.concatenate([(due - sold)[None], request - shipped])  # (M + 1,)

        discount = jnp.power(params.alpha, state.time.astype(jnp.float32))
        profit = (
            params.p * sold
            - params.r[-1] * shipped[-1]
            - (params.k * unfilled).sum()
            - (params.h * on_hand).sum()
        )
        reward = discount * profit

        time = state.time + 1
        new_state = EnvState(
            on_hand=on_hand, pipeline=pipeline, order_log=order_log, unfilled=unfilled, time=time
        )
        terminated = time >= self.periods
        info = {
            "demand": demand,
            "sales": sold,
            "shipments": shipped,
            "arrivals": arrivals,
            "unfilled": unfilled,
        }
        return self.get_obs(new_state, params), new_state, reward, terminated, info

    # -- observation ------------------------------------------------------------------------

    def get_obs(self, state: EnvState, params: EnvParams | None = None, key=None) -> jax.Array:
        """The observation, float32.

        ``"orgym"`` (default, OR-Gym's): on-hand per stage, then the last W requested orders
        (after truncation, before backlog and capacity), oldest period first, zero-padded on
        the left early in the episode: shape ``(M * (W + 1),)``.

        ``"full"``: on-hand, units in transit by arrival period (W x M, next period first),
        last period's unfilled amounts (M + 1: v0's backlog, v1's lost units), and the
        fraction of periods remaining: shape ``(M * (W + 1) + M + 2,)``.
        """
        if self.observation == "orgym":
            return jnp.concatenate([state.on_hand, state.order_log.reshape(-1)])
        # Whole periods left, then divided: exactly 0.0 at the end, also under jit.
        remaining = (self.periods - state.time).astype(jnp.float32) / self.periods
        return jnp.concatenate(
            [state.on_hand, state.pipeline.reshape(-1), state.unfilled, remaining[None]]
        )

    def observation_layout(self) -> tuple[tuple[str, int, str], ...]:
        """The observation's consecutive segments: ``(name, length, meaning)``."""
        m, w = self.num_stages, self.max_lead_time
        if self.observation == "orgym":
            return (
                ("on_hand", m, "units on hand per stage, retailer first"),
                (
                    "order_log",
                    w * m,
                    f"requested orders of the last {w} periods, oldest first, ({w}, {m}) row-major",
                ),
            )
        return (
            ("on_hand", m, "units on hand per stage, retailer first"),
            ("pipeline", w * m, f"units in transit by arrival period, next first, ({w}, {m})"),
            ("unfilled", m + 1, "last period's unfilled demand, then requests (v0: backlog)"),
            ("time_left", 1, "fraction of the periods remaining"),
        )

    @property
    def obs_size(self) -> int:
        size = self.num_stages * (self.max_lead_time + 1)
        return size if self.observation == "orgym" else size + self.num_stages + 2

    # -- spaces -----------------------------------------------------------------------------

    def action_space(self, params: EnvParams | None = None) -> MultiDiscrete:
        """Orders 0..c_i per stage, as OR-Gym's action box (larger requests are legal)."""
        params = self.default_params if params is None else params
        return MultiDiscrete(np.asarray(params.c, np.int64) + 1)

    def observation_space(self, params: EnvParams | None = None) -> spaces.Box:
        """Bounds every observation reachable with actions from ``action_space`` respects.

        ``"orgym"``: ``[0, max(I0) + max(c) * periods]``; no stage can hold more than its
        initial stock plus every shipment it could receive, and a logged request is at most c.
        (OR-Gym declares ``max(c) * periods`` as the high, which the reset observation itself
        exceeds when ``I0`` is large or the horizon short, and a negative low for v0 that no
        observation reaches.) ``"full"``: low 0, high unbounded (v0's retail backlog grows
        with demand).
        """
        params = self.default_params if params is None else params
        if self.observation == "full":
            return spaces.Box(0.0, jnp.inf, (self.obs_size,), jnp.float32)
        high = float(np.max(np.asarray(params.I0))) + float(np.max(np.asarray(params.c))) * (
            self.periods
        )
        return spaces.Box(0.0, high, (self.obs_size,), jnp.float32)

    @property
    def num_actions(self) -> int:
        """Number of joint actions, as gymnax's "number of actions possible": the product of
        ``action_space().nvec`` (choices per stage). The number of stages is ``num_stages``."""
        return joint_actions(self.action_space().nvec)


# -- construction ---------------------------------------------------------------------------


def make_inv_management(env_id: str, **config: Any) -> tuple[InvManagement, EnvParams]:
    """Validate an OR-Gym-style config and build the env and its params (see module doc)."""
    if env_id not in ENV_IDS:
        raise ValueError(f"unknown serial-chain id {env_id!r}; choose from {ENV_IDS}")
    if "seed_int" in config:
        raise validate.fail(
            env_id,
            "seed_int",
            config["seed_int"],
            "jaxinv draws demand from the JAX key passed to reset/step; drop seed_int",
        )
    if "backlog" in config:
        raise validate.fail(
            env_id,
            "backlog",
            config["backlog"],
            "choose InvManagement-v0 (backlog) or InvManagement-v1 (lost sales) instead",
        )
    validate.reject_unknown(env_id, config, DEFAULT_CONFIG)
    cfg = {**DEFAULT_CONFIG, **config}

    periods = validate.as_int(env_id, "periods", cfg["periods"], low=1, high=100_000)
    I0 = validate.as_vector(env_id, "I0", cfg["I0"])
    m = I0.size
    validate.check_range(env_id, "I0", I0, low=0, integer=True)
    vectors = {}
    for key, length, why in (
        ("r", m + 1, "one per stage plus the raw-material source; len(I0) + 1"),
        ("k", m + 1, "retail, then one per supplier; len(I0) + 1"),
        ("h", m, "one per inventory stage; len(I0)"),
        ("c", m, "one per inventory stage's supplier; len(I0)"),
        ("L", m, "one per inventory stage; len(I0)"),
    ):
        vectors[key] = validate.as_vector(env_id, key, cfg[key])
        validate.check_length(env_id, key, vectors[key], length, why)
    for key in ("r", "k", "h"):
        validate.check_range(env_id, key, vectors[key], low=0)
    validate.check_range(env_id, "c", vectors["c"], low=0, low_open=True, integer=True)
    validate.check_range(env_id, "L", vectors["L"], low=0, high=MAX_LEAD_TIME, integer=True)
    price = validate.as_scalar(env_id, "p", cfg["p"])
    validate.check_range(env_id, "p", price, low=0)
    alpha = validate.as_scalar(env_id, "alpha", cfg["alpha"])
    validate.check_range(env_id, "alpha", alpha, low=0, low_open=True, high=1)
    observation = cfg["observation"]
    if observation not in OBSERVATIONS:
        raise validate.fail(env_id, "observation", observation, f"choose from {OBSERVATIONS}")

    dist = cfg["dist"]
    if isinstance(dist, bool) or dist not in demand_lib.DIST_NAMES:
        raise validate.fail(
            env_id,
            "dist",
            dist,
            "choose 1 (poisson), 2 (binom), 3 (randint), 4 (geom) or 5 (user_D)",
        )
    if dist == 5:
        if cfg["user_D"] is None:
            raise validate.fail(env_id, "user_D", None, "dist=5 needs a demand path user_D")
        user_d = validate.as_vector(env_id, "user_D", cfg["user_D"])
        validate.check_length(env_id, "user_D", user_d, periods, "one demand per period")
        validate.check_range(env_id, "user_D", user_d, low=0)
        demand: Any = jnp.asarray(user_d, jnp.float32)
        source = "trace"
    else:
        if cfg["user_D"] is not None:
            raise validate.fail(
                env_id, "user_D", cfg["user_D"], f"user_D is only read with dist=5, not dist={dist}"
            )
        demand = demand_lib.build_table(dist, check_dist_param(env_id, dist, cfg["dist_param"]))
        source = "table"

    params = EnvParams(
        I0=jnp.asarray(I0, jnp.float32),
        p=jnp.asarray(price, jnp.float32),
        r=jnp.asarray(vectors["r"], jnp.float32),
        k=jnp.asarray(vectors["k"], jnp.float32),
        h=jnp.asarray(vectors["h"], jnp.float32),
        c=jnp.asarray(vectors["c"], jnp.float32),
        L=jnp.asarray(vectors["L"], jnp.int32),
        alpha=jnp.asarray(alpha, jnp.float32),
        demand=demand,
    )
    env = InvManagement(
        backlog=env_id == ENV_IDS[0],
        num_stages=m,
        max_lead_time=int(vectors["L"].max()),
        periods=periods,
        observation=observation,
        demand_source=source,
        params=params,
    )
    return env, params


def check_dist_param(env_id: str, dist: int, dist_param: Any) -> dict[str, float]:
    """Validate scipy-style parameters for demand distribution ``dist`` (1-4)."""
    name = demand_lib.DIST_NAMES[dist]
    if not isinstance(dist_param, dict):
        raise validate.fail(env_id, "dist_param", dist_param, f"a dict of {name}'s parameters")
    required = demand_lib.DIST_PARAMS[dist]
    allowed = (*required, "loc")
    for key in dist_param:
        if key not in allowed:
            raise validate.fail(
                env_id,
                f"dist_param[{key!r}]",
                dist_param[key],
                f"{name} takes {', '.join(allowed)}" + validate.suggest(key, allowed),
            )
    for key in required:
        if key not in dist_param:
            raise validate.fail(env_id, "dist_param", dist_param, f"{name} needs {key!r}")

    def where(key: str) -> str:
        return f"dist_param[{key!r}]"

    out = {key: validate.as_scalar(env_id, where(key), v) for key, v in dist_param.items()}
    if "loc" in out:
        validate.check_range(env_id, where("loc"), out["loc"], low=0, integer=True)
    if dist == 1:
        validate.check_range(env_id, where("mu"), out["mu"], low=0, high=1e4)
    elif dist == 2:
        validate.check_range(env_id, where("n"), out["n"], low=0, high=1e5, integer=True)
        validate.check_range(env_id, where("p"), out["p"], low=0, high=1)
    elif dist == 3:
        validate.check_range(env_id, where("low"), out["low"], low=0, integer=True)
        validate.check_range(env_id, where("high"), out["high"], low=out["low"] + 1, integer=True)
    elif dist == 4:
        validate.check_range(env_id, where("p"), out["p"], low=1e-3, high=1)
    return out


def stack_params(params: list[EnvParams]) -> EnvParams:
    """Stack params of chains with the same shape into one batch for ``vmap`` (leading axis).

    Demand tables of different lengths are padded with thresholds no draw reaches.
    """
    tables = [p.demand for p in params]
    if isinstance(tables[0], demand_lib.DemandTable):
        size = max(t.thresholds.shape[-1] for t in tables)
        params = [p.replace(demand=demand_lib.pad_table(p.demand, size)) for p in params]
    return jax.tree.map(lambda *leaves: jnp.stack(leaves), *params)
