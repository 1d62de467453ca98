"""One retail store selling cases of a soft drink, with fixed and per-case order costs.

The instance of Guangrui Xie's 2022 article series "Reinforcement Learning for Inventory
Optimization" (part I, a DQN for a single retailer), which compares RL against an (s, S) policy.
Money is in dollars, stock in cases, time in days. Each day ``t``, in this order:

1. the store orders ``a_t`` cases from its supplier, ``0 <= a_t <= max_order`` (20), paying
   ``unit_cost`` (10) per case now and ``fixed_cost`` (50) if ``a_t > 0``;
2. the order placed ``lead_time`` (2) days ago arrives (with ``lead_time = 0``, today's order
   arrives now). The shelf holds at most ``capacity`` (50) cases: what does not fit is
   discarded, already paid for;
3. the store pays ``holding_cost`` (3) per case on the shelf now (after the arrival, before
   demand: one night's holding);
4. customers want ``d_t`` cases and buy ``min(d_t, on hand)`` at ``price`` (30); unmet demand is
   lost, with no further penalty.

The reward of day ``t`` is its profit, ``30 * sales - 3 * on_hand_after_arrival -
50 * [a_t > 0] - 10 * a_t``, undiscounted. The store starts a Monday with 25 cases on hand and
nothing on order; after ``horizon`` days (364, 52 weeks) the episode terminates (a real end:
``terminated`` is True, ``truncated`` always False; orders still in transit are lost).

These are the timing conventions of the article's own code (its environment and its (s, S)
evaluation): the inventory position an (s, S) policy reads on day ``t`` is on hand plus every
order in transit, *before* that day's arrival, and with them the (s, S) search over the
article's training year gives its published (15, 32) and 17,202.08 mean profit on the 100 test
years (``tests/test_s_S.py``).

Demand models (config ``demand``):

- ``"normal"`` (default): day ``t`` is weekday ``w = (start_weekday + t) % 7`` and demand is
  ``round(max(X, 0))``, ``X ~ N(demand_mean[w], demand_std[w])``: N(3, 1.5) Monday to Thursday,
  N(6, 1) Friday, N(12, 2) Saturday and Sunday. Drawn exactly from a per-weekday inverse-CDF
  table (``jaxinv.envs.demand``);
- ``"trace"``: a fixed demand path, the same every episode (``params.demand`` of shape
  ``(days,)``), from a list or a ``date,quantity`` CSV file;
- ``"empirical"``: each weekday's demand drawn from the relative frequencies of that weekday in
  a trace (fresh years from one year of data).

A list trace starts on ``start_weekday``; a CSV file's dates give its weekdays (and a CSV
trace sets the episode's first weekday). The step dispatches on the type of ``params.demand``,
so the same env replays traces (``test_year_params``: the article's 100 test years) and draws
from distributions.

Observations (config ``observation``): ``"article"`` (default) is the article's state, the
inventory position (on hand + on order) then the weekday of the coming day one-hot in 6 dims
(Monday all zeros), 7 floats. ``"full"`` is on hand, each pipeline slot (next arrival first),
the weekday one-hot in 7 dims and the fraction of the horizon left. ``normalize=True`` scales
quantities to [0, 1] (by the largest reachable value). Observations are float32.

Actions are ``spaces.Discrete(max_order + 1)``: a whole number of cases. Any real number is
accepted: it is clipped to ``[0, max_order]`` and floored, and NaN counts as no order, so no
action makes the state or reward non-finite.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from gymnax.environments import spaces

from jaxinv.envs import demand as demand_lib
from jaxinv.envs import trace as trace_lib
from jaxinv.envs import validate
from jaxinv.envs.base import InventoryEnv

ENV_ID = "RetailStore-v0"
DAYS_PER_WEEK = 7

ARTICLE_DEMAND_MEAN = (3.0, 3.0, 3.0, 3.0, 6.0, 12.0, 12.0)
ARTICLE_DEMAND_STD = (1.5, 1.5, 1.5, 1.5, 1.0, 2.0, 2.0)

DEFAULT_CONFIG: dict[str, Any] = {
    "price": 30.0,  # $ per case sold
    "unit_cost": 10.0,  # $ per case ordered, paid when ordering
    "fixed_cost": 50.0,  # $ per order placed (order > 0)
    "holding_cost": 3.0,  # $ per case on hand per night, after arrival and before demand
    "capacity": 50,  # cases the shelf holds; arrivals beyond it are discarded
    "max_order": 20,  # largest order, cases
    "lead_time": 2,  # days from order to arrival (arrives before that day's demand)
    "max_lead_time": None,  # pipeline length (static); default lead_time
    "initial_stock": 25,  # cases on hand at the start
    "start_weekday": 0,  # weekday of the first day, 0 = Monday
    "horizon": 364,  # days per episode
    "demand": "normal",  # "normal", "trace" or "empirical"
    "demand_mean": list(ARTICLE_DEMAND_MEAN),  # cases per day, Monday first
    "demand_std": list(ARTICLE_DEMAND_STD),  # cases per day, Monday first
    "trace": None,  # daily demand: a list (from start_weekday), a date,quantity CSV path, or
    # "article_train_year" for the article's training year shipped with jaxinv
    "observation": "article",  # "article" or "full"
    "normalize": False,  # scale observations to [0, 1]
}
"""The article's instance."""

CONFIG_ALLOWED: dict[str, str] = {
    "price": "$ per case sold; in [0, 1e6]",
    "unit_cost": "$ per case ordered, paid when ordering; in [0, 1e6]",
    "fixed_cost": "$ per order placed (order > 0); in [0, 1e6]",
    "holding_cost": "$ per case on the shelf per night; in [0, 1e6]",
    "capacity": "cases the shelf holds (arrivals beyond it are discarded); whole, >= 1",
    "max_order": "largest order, cases; whole, >= 1",
    "lead_time": "days from order to arrival; whole number in [0, 365]",
    "max_lead_time": "pipeline length (static, for batching stores); None or in [lead_time, 365]",
    "initial_stock": "cases on hand on day 0; whole number in [0, capacity]",
    "start_weekday": "weekday of day 0, 0 = Monday; in [0, 6] (a CSV trace's dates set it)",
    "horizon": "days per episode; whole number in [1, 100000] (a trace: its length)",
    "demand": "demand model; one of ('normal', 'trace', 'empirical')",
    "demand_mean": "normal demand's mean per weekday, Monday first (7); cases in [0, 1e4]",
    "demand_std": "normal demand's std per weekday, Monday first (7); cases in [0, 1e3]",
    "trace": "daily demand for trace/empirical: a list, a date,quantity CSV path, or "
    "'article_train_year'; else None",
    "observation": "observation layout; one of ('article', 'full')",
    "normalize": "scale observations to [0, 1]; True or False",
}
"""What each config key means and allows (``jaxinv envs``); the checks are in ``make``."""

DEMAND_MODELS = ("normal", "trace", "empirical")
OBSERVATIONS = ("article", "full")
MAX_DAYS = 100_000
MAX_UNITS = 1_000_000
"""Largest capacity, order or traced daily demand accepted, cases (float32 counts exactly)."""

TRAIN_YEAR_FILE = "retail_train_year.csv"
TEST_YEARS_FILE = "retail_test_years.csv"
ARTICLE_TRAIN_YEAR = "article_train_year"  # trace="article_train_year": the shipped training year


@struct.dataclass
class EnvParams:
    """Traced parameters: one compiled step serves a batch of different stores (``vmap``).

    ``demand`` sets the demand model: a ``DemandTable`` stacked over the 7 weekdays (Monday
    first; normal or empirical demand), or a ``(days,)`` float32 demand path (a trace).
    """

    price: jax.Array  # () $ per case sold
    unit_cost: jax.Array  # () $ per case ordered
    fixed_cost: jax.Array  # () $ per order placed
    holding_cost: jax.Array  # () $ per case on hand after arrival, per night
    capacity: jax.Array  # () cases, float32
    max_order: jax.Array  # () cases, float32
    lead_time: jax.Array  # () int32 days, at most the env's max_lead_time
    initial_stock: jax.Array  # () cases, float32
    start_weekday: jax.Array  # () int32, 0 = Monday
    demand: Any  # DemandTable with leading axis 7, or a (days,) float32 trace


@struct.dataclass
class EnvState:
    """Everything one store carries between days."""

    on_hand: jax.Array  # () cases on the shelf at the start of the day, before arrivals
    pipeline: jax.Array  # (W,) cases arriving on day time + j (j = 0: before today's demand)
    weekday: jax.Array  # () int32 weekday of the coming day, 0 = Monday
    time: jax.Array  # () int32 days done


def inventory_position(state: EnvState) -> jax.Array:
    """On hand plus every order in transit, cases (any batch shape)."""
    return state.on_hand + state.pipeline.sum(-1)


def clip_order(action: jax.Array, max_order: jax.Array) -> jax.Array:
    """A whole order in ``[0, max_order]`` from any real number (NaN counts as 0), float32."""
    action = jnp.asarray(action, jnp.float32)
    positive = jnp.where(action > 0.0, action, 0.0)  # NaN > 0 is False
    return jnp.floor(jnp.minimum(positive, max_order))


class RetailStore(InventoryEnv):
    """The single retail store (see the module docstring for the day's sequence of events).

    ``state.pipeline[j]`` holds the cases that arrive on day ``time + j`` (``j = 0``: before
    today's demand), so an order placed today with lead time ``L >= 1`` goes into slot
    ``L - 1`` after the shift. Static settings live on the env: the horizon (days), the pipeline
    length ``max_lead_time``, and the observation layout. Build it with
    ``jaxinv.make("RetailStore-v0", **config)``. Step, auto-reset and ``step_many`` come from
    ``jaxinv.envs.base.InventoryEnv``.
    """

    observation_settings = ("observation", "normalize")
    default_params_settings = ("demand_model",)  # the demand draw reads params.demand's type

    def __init__(
        self,
        *,
        horizon: int,
        max_lead_time: int,
        observation: str,
        normalize: bool,
        demand_model: str,
        params: EnvParams,
    ) -> None:
        super().__init__(
            params,
            horizon=horizon,
            max_lead_time=max_lead_time,
            observation=observation,
            normalize=normalize,
            demand_model=demand_model,
        )

    @property
    def name(self) -> str:
        return ENV_ID

    # -- dynamics ---------------------------------------------------------------------------

    def reset_env(self, key: jax.Array | None, params: EnvParams) -> tuple[jax.Array, EnvState]:
        """The store on day 0: initial stock, nothing on order. Needs no randomness."""
        del key
        state = EnvState(
            on_hand=jnp.asarray(params.initial_stock, jnp.float32),
            pipeline=jnp.zeros((self.max_lead_time,), jnp.float32),
            weekday=jnp.asarray(params.start_weekday, jnp.int32),
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
        """Demand of the coming day, cases (float32): a draw from the table of each store's
        weekday (one draw for a batch: ``state.weekday`` carries ``batch_shape``), or the
        trace's entry for ``state.time``."""
        del batch_shape  # the weekdays' shape is the batch shape
        if isinstance(params.demand, demand_lib.DemandTable):
            return demand_lib.sample_rows(key, params.demand, state.weekday)
        return params.demand[jnp.minimum(state.time, params.demand.shape[-1] - 1)]

    def transition(
        self, demand: jax.Array, state: EnvState, action: jax.Array, params: EnvParams
    ) -> tuple[jax.Array, EnvState, jax.Array, jax.Array, dict[str, jax.Array]]:
        """One day given its demand (cases, shape ()): deterministic."""
        order = clip_order(action, params.max_order)
        arrivals = jnp.where(params.lead_time == 0, order, 0.0)
        pipeline = state.pipeline
        if self.max_lead_time > 0:
            arrivals = arrivals + pipeline[0]
            slot = jnp.arange(self.max_lead_time) == params.lead_time - 1
            shifted = jnp.concatenate([pipeline[1:], jnp.zeros((1,), jnp.float32)])
            pipeline = shifted + jnp.where(slot, order, 0.0)
        stocked = state.on_hand + arrivals
        on_shelf = jnp.minimum(stocked, params.capacity)
        discarded = stocked - on_shelf
        sales = jnp.minimum(on_shelf, demand)
        reward = (
            params.price * sales
            - params.holding_cost * on_shelf
            - params.fixed_cost * (order > 0.0)
            - params.unit_cost * order
        )
        time = state.time + 1
        new_state = EnvState(
            on_hand=on_shelf - sales,
            pipeline=pipeline,
            weekday=(state.weekday + 1) % DAYS_PER_WEEK,
            time=time,
        )
        info = {
            "order": order,
            "demand": demand,
            "sales": sales,
            "lost_sales": demand - sales,
            "arrivals": arrivals,
            "discarded": discarded,
        }
        terminated = time >= self.horizon
        return self.get_obs(new_state, params), new_state, reward, terminated, info

    # -- observation ------------------------------------------------------------------------

    def get_obs(self, state: EnvState, params: EnvParams | None = None, key=None) -> jax.Array:
        """The observation, float32 (layouts in the module docstring)."""
        params = self.default_params if params is None else params
        weekday = (jnp.arange(DAYS_PER_WEEK) == state.weekday).astype(jnp.float32)
        if self.observation == "article":
            position = inventory_position(state)
            if self.normalize:
                position = position / (params.capacity + params.lead_time * params.max_order)
            return jnp.concatenate([position[None], weekday[1:]])
        on_hand, pipeline = state.on_hand, state.pipeline
        if self.normalize:
            on_hand = on_hand / params.capacity
            pipeline = pipeline / params.max_order
        left = (self.horizon - state.time).astype(jnp.float32) / self.horizon
        return jnp.concatenate([on_hand[None], pipeline, weekday, left[None]])

    def observation_layout(self) -> tuple[tuple[str, int, str], ...]:
        """The observation's consecutive segments: ``(name, length, meaning)``."""
        scaled = " (scaled to [0, 1])" if self.normalize else ""
        if self.observation == "article":
            return (
                ("inventory_position", 1, f"cases on hand plus on order{scaled}"),
                ("weekday", 6, "the coming day's weekday one-hot, Monday all zeros"),
            )
        return (
            ("on_hand", 1, f"cases on the shelf{scaled}"),
            ("pipeline", self.max_lead_time, f"cases arriving in j days, next first{scaled}"),
            ("weekday", DAYS_PER_WEEK, "the coming day's weekday one-hot, Monday first"),
            ("time_left", 1, "fraction of the horizon remaining"),
        )

    @property
    def obs_size(self) -> int:
        return 7 if self.observation == "article" else self.max_lead_time + 9

    # -- spaces -----------------------------------------------------------------------------

    def action_space(self, params: EnvParams | None = None) -> spaces.Discrete:
        """Orders of 0..max_order cases."""
        params = self.default_params if params is None else params
        return spaces.Discrete(int(np.asarray(params.max_order)) + 1)

    def observation_space(self, params: EnvParams | None = None) -> spaces.Box:
        """Bounds every reachable observation: on hand <= capacity, each order <= max_order."""
        params = self.default_params if params is None else params
        if self.normalize:
            high = np.ones(self.obs_size, np.float32)
        elif self.observation == "article":
            position = float(params.capacity) + int(params.lead_time) * float(params.max_order)
            high = np.array([position] + [1.0] * 6, np.float32)
        else:
            high = np.array(
                [float(params.capacity)]
                + [float(params.max_order)] * self.max_lead_time
                + [1.0] * (DAYS_PER_WEEK + 1),
                np.float32,
            )
        return spaces.Box(0.0, jnp.asarray(high), (self.obs_size,), jnp.float32)

    @property
    def num_actions(self) -> int:
        return int(np.asarray(self.default_params.max_order)) + 1


# -- construction ---------------------------------------------------------------------------


def weekday_tables(
    demand_mean: list[float] | tuple[float, ...], demand_std: list[float] | tuple[float, ...]
) -> demand_lib.DemandTable:
    """Exact samplers of ``round(max(N(mean_w, std_w), 0))`` for each weekday, stacked (7,)."""
    return demand_lib.stack_tables(
        [
            demand_lib.table_from_pmf(*demand_lib.clipped_rounded_normal_pmf(m, s))
            for m, s in zip(demand_mean, demand_std, strict=True)
        ]
    )


def empirical_tables(quantity: np.ndarray, start_weekday: int) -> demand_lib.DemandTable:
    """Each weekday's relative demand frequencies in a record, as stacked exact samplers (7,)."""
    fitted = trace_lib.weekday_pmf(quantity, start_weekday)
    return demand_lib.stack_tables([demand_lib.table_from_pmf(low, pmf) for low, pmf in fitted])


def _shown(value: Any) -> Any:
    """A config value as an error message shows it: a long list by its length."""
    if isinstance(value, (str, Path)) or np.size(value) <= 10:
        return value
    return f"<{np.size(value)} values>"


def _read_trace(config: dict[str, Any]) -> tuple[np.ndarray, int | None]:
    """The configured demand record and the weekday of its first day (None: not dated)."""
    value = config["trace"]
    if value is None:
        raise validate.fail(
            ENV_ID, "trace", None, f"demand={config['demand']!r} needs a trace (list or CSV path)"
        )
    if isinstance(value, (str, Path)):
        if value == ARTICLE_TRAIN_YEAR:
            value = data_path(TRAIN_YEAR_FILE)
        try:
            records = trace_lib.load_demand_csv(value)
        except ValueError as error:
            raise validate.fail(ENV_ID, "trace", value, str(error)) from None
        return records.columns["quantity"].astype(np.float64), records.start_weekday
    quantity = validate.as_vector(ENV_ID, "trace", value)
    if quantity.size > MAX_DAYS:
        raise validate.fail(ENV_ID, "trace", f"<{quantity.size} days>", f"at most {MAX_DAYS} days")
    validate.check_range(ENV_ID, "trace", quantity, low=0, high=MAX_UNITS, integer=True)
    return quantity, None


def make_retail_store(**config: Any) -> tuple[RetailStore, EnvParams]:
    """Validate a config (keys of DEFAULT_CONFIG) and build the env and its params."""
    validate.reject_unknown(ENV_ID, config, DEFAULT_CONFIG)
    cfg = {**DEFAULT_CONFIG, **config}
    money = {}
    for key in ("price", "unit_cost", "fixed_cost", "holding_cost"):
        money[key] = validate.as_scalar(ENV_ID, key, cfg[key])
        validate.check_range(ENV_ID, key, money[key], low=0, high=1e6)
    capacity = validate.as_int(ENV_ID, "capacity", cfg["capacity"], low=1, high=MAX_UNITS)
    max_order = validate.as_int(ENV_ID, "max_order", cfg["max_order"], low=1, high=MAX_UNITS)
    lead_time = validate.as_int(ENV_ID, "lead_time", cfg["lead_time"], low=0, high=365)
    max_lead_time = lead_time
    if cfg["max_lead_time"] is not None:
        max_lead_time = validate.as_int(
            ENV_ID, "max_lead_time", cfg["max_lead_time"], low=lead_time, high=365
        )
    initial = validate.as_int(ENV_ID, "initial_stock", cfg["initial_stock"], low=0, high=capacity)
    start_weekday = validate.as_int(ENV_ID, "start_weekday", cfg["start_weekday"], low=0, high=6)
    horizon = validate.as_int(ENV_ID, "horizon", cfg["horizon"], low=1, high=MAX_DAYS)
    observation = cfg["observation"]
    if observation not in OBSERVATIONS:
        raise validate.fail(ENV_ID, "observation", observation, f"choose from {OBSERVATIONS}")
    if not isinstance(cfg["normalize"], (bool, np.bool_)):
        raise validate.fail(ENV_ID, "normalize", cfg["normalize"], "expected True or False")

    model = cfg["demand"]
    if model not in DEMAND_MODELS:
        raise validate.fail(ENV_ID, "demand", model, f"choose from {DEMAND_MODELS}")
    for key in ("demand_mean", "demand_std"):
        if model != "normal" and key in config:
            raise validate.fail(ENV_ID, key, config[key], "only read with demand='normal'")
    if model == "normal":
        if cfg["trace"] is not None:
            raise validate.fail(
                ENV_ID,
                "trace",
                _shown(cfg["trace"]),
                "only read with demand='trace' or 'empirical'",
            )
        mean = validate.as_vector(ENV_ID, "demand_mean", cfg["demand_mean"])
        std = validate.as_vector(ENV_ID, "demand_std", cfg["demand_std"])
        validate.check_length(ENV_ID, "demand_mean", mean, 7, "one per weekday, Monday first")
        validate.check_length(ENV_ID, "demand_std", std, 7, "one per weekday, Monday first")
        validate.check_range(ENV_ID, "demand_mean", mean, low=0, high=1e4)
        validate.check_range(ENV_ID, "demand_std", std, low=0, high=1e3)
        demand: Any = weekday_tables(mean.tolist(), std.tolist())
    else:
        quantity, dated_weekday = _read_trace(cfg)
        if model == "empirical":
            first = start_weekday if dated_weekday is None else dated_weekday
            try:
                demand = empirical_tables(quantity, first)
            except ValueError as error:
                raise validate.fail(ENV_ID, "trace", _shown(cfg["trace"]), str(error)) from None
        else:
            if dated_weekday is not None:
                if "start_weekday" in config and start_weekday != dated_weekday:
                    raise validate.fail(
                        ENV_ID,
                        "start_weekday",
                        start_weekday,
                        f"the trace file starts on weekday {dated_weekday} "
                        f"({trace_lib.WEEKDAYS[dated_weekday]}); leave start_weekday out",
                    )
                start_weekday = dated_weekday
            if "horizon" not in config:
                horizon = int(quantity.size)
            elif horizon > quantity.size:
                raise validate.fail(
                    ENV_ID,
                    "horizon",
                    horizon,
                    f"allowed: at most the trace's {quantity.size} days",
                )
            demand = jnp.asarray(quantity[:horizon], jnp.float32)

    params = EnvParams(
        price=jnp.asarray(money["price"], jnp.float32),
        unit_cost=jnp.asarray(money["unit_cost"], jnp.float32),
        fixed_cost=jnp.asarray(money["fixed_cost"], jnp.float32),
        holding_cost=jnp.asarray(money["holding_cost"], jnp.float32),
        capacity=jnp.asarray(capacity, jnp.float32),
        max_order=jnp.asarray(max_order, jnp.float32),
        lead_time=jnp.asarray(lead_time, jnp.int32),
        initial_stock=jnp.asarray(initial, jnp.float32),
        start_weekday=jnp.asarray(start_weekday, jnp.int32),
        demand=demand,
    )
    env = RetailStore(
        horizon=horizon,
        max_lead_time=max_lead_time,
        observation=observation,
        normalize=bool(cfg["normalize"]),
        demand_model=model,
        params=params,
    )
    return env, params


# -- the article's data and evaluation set -----------------------------------------------------


def data_path(name: str) -> Path:
    """Path of a data file shipped inside the package (``jaxinv/data``)."""
    return Path(str(resources.files("jaxinv") / "data" / name))


@functools.cache
def article_years() -> tuple[trace_lib.DemandRecords, trace_lib.DemandRecords]:
    """The article's training year and its 100 test years (columns ``year_100..year_199``)."""
    train = trace_lib.load_demand_csv(data_path(TRAIN_YEAR_FILE))
    test = trace_lib.read_demand_csv(data_path(TEST_YEARS_FILE))
    return train, test


def _year_params(
    env: RetailStore, params: EnvParams, records: trace_lib.DemandRecords, columns: list[str]
) -> EnvParams:
    """``params`` replayed on the given columns of ``records`` (leading axis if several)."""
    if env.horizon > records.days:
        raise ValueError(
            f"the env's horizon of {env.horizon} days is longer than the {records.days} days of "
            f"{records.path}"
        )
    if jnp.ndim(params.price) != 0:
        raise ValueError("pass the params of one store (no batch axis)")
    years = np.stack([records.columns[name][: env.horizon] for name in columns])
    shared = params.replace(
        demand=jnp.zeros((env.horizon,), jnp.float32),
        start_weekday=jnp.asarray(records.start_weekday, jnp.int32),
    )
    batch = jax.tree.map(lambda leaf: jnp.broadcast_to(leaf, (len(columns), *leaf.shape)), shared)
    batch = batch.replace(demand=jnp.asarray(years, jnp.float32))
    return batch if len(columns) > 1 else jax.tree.map(lambda leaf: leaf[0], batch)


def train_year_params(env: RetailStore, params: EnvParams) -> EnvParams:
    """``params`` with the article's training year (52 weeks from a Monday) as a trace."""
    train, _ = article_years()
    return _year_params(env, params, train, ["quantity"])


def test_year_params(env: RetailStore, params: EnvParams) -> EnvParams:
    """The evaluation set: ``params`` for each of the article's 100 test years (leading axis
    100), each year's demand as a trace starting on a Monday.

    Roll out with ``jax.vmap(env.step, (0, 0, 0, 0))``, or evaluate a policy on it with
    ``jaxinv.evaluate.evaluate(env, policy, params, key, batched_params=True)``.
    """
    _, test = article_years()
    return _year_params(env, params, test, list(test.columns))


test_year_params.__test__ = False  # not a test, though pytest would collect it by name


__all__ = [
    "ENV_ID",
    "EnvParams",
    "EnvState",
    "RetailStore",
    "article_years",
    "inventory_position",
    "make_retail_store",
    "test_year_params",
    "train_year_params",
]
