"""The retail store (RetailStore-v0): dynamics, config checks, observations, demand and data.

Transitions are checked by hand on ``env.transition`` (demand given), then a whole training year
is stepped side by side with a plain-Python store written from the article's description, the
way gymnax's tests compare against a reference implementation. Every env is built once per
module (``store``) so that compilation stays small. What every env must do (observations in the
space, ``step_many``, any action finite, gymnax registration and wrappers) is checked once for
all ids in test_env_contract.py.
"""

from __future__ import annotations

import functools
import importlib.util
import tomllib
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxinv
from jaxinv.envs import demand, retail, trace
from jaxinv.envs.validate import ConfigError

ROOT = Path(__file__).resolve().parent.parent
ENV_ID = "RetailStore-v0"


@functools.cache
def store(**config):
    """(env, params) per config, shared by the module's tests."""
    return jaxinv.make(ENV_ID, **config)


def state_of(env, on_hand: float, pipeline: list[float], weekday: int = 0, time: int = 0):
    return retail.EnvState(
        on_hand=jnp.float32(on_hand),
        pipeline=jnp.asarray(pipeline, jnp.float32).reshape(env.max_lead_time),
        weekday=jnp.int32(weekday),
        time=jnp.int32(time),
    )


def day(env, params, state, order, demand_today):
    """One deterministic day: (state, reward, terminated, info) as Python numbers."""
    _, new, reward, terminated, info = jax.jit(env.transition)(
        jnp.float32(demand_today), state, order, params
    )
    return new, float(reward), bool(terminated), {k: float(v) for k, v in info.items()}


# -- hand-checked days ------------------------------------------------------------------------


def test_arrival_comes_before_demand_and_holding_is_on_post_arrival_stock() -> None:
    env, params = store()
    # Nothing on the shelf, 5 cases due today: 3 of them sell today.
    new, reward, _, info = day(env, params, state_of(env, 0, [5, 0]), 0, 3)
    assert info["arrivals"] == 5 and info["sales"] == 3 and info["lost_sales"] == 0
    assert float(new.on_hand) == 2
    assert reward == 30 * 3 - 3 * 5  # holding on the 5 after arrival, not on the 2 left


def test_capacity_discards_the_excess_already_paid_for() -> None:
    env, params = store()
    new, reward, _, info = day(env, params, state_of(env, 45, [12, 0]), 0, 0)
    assert info["discarded"] == 7 and float(new.on_hand) == 50
    assert reward == -3 * 50


def test_fixed_cost_only_when_ordering_and_order_enters_the_last_slot() -> None:
    env, params = store()
    start = state_of(env, 10, [4, 6])
    none, reward_none, _, _ = day(env, params, start, 0, 2)
    some, reward_some, _, info = day(env, params, start, 7, 2)
    assert reward_none == 30 * 2 - 3 * 14
    assert reward_some == reward_none - 50 - 10 * 7 and info["order"] == 7
    np.testing.assert_array_equal(none.pipeline, [6, 0])
    np.testing.assert_array_equal(some.pipeline, [6, 7])  # arrives in 2 days
    assert float(retail.inventory_position(some)) == 12 + 6 + 7


def test_lost_sales_are_lost_without_penalty() -> None:
    env, params = store()
    new, reward, _, info = day(env, params, state_of(env, 2, [0, 0]), 0, 5)
    assert info["sales"] == 2 and info["lost_sales"] == 3 and float(new.on_hand) == 0
    assert reward == 30 * 2 - 3 * 2


def test_lead_time_zero_and_one() -> None:
    env0, params0 = store(lead_time=0)
    assert env0.max_lead_time == 0 and env0.obs_size == 7
    new, reward, _, info = day(env0, params0, state_of(env0, 0, []), 4, 3)
    assert info["arrivals"] == 4 and info["sales"] == 3 and float(new.on_hand) == 1
    assert reward == 90 - 12 - 50 - 40
    env1, params1 = store(lead_time=1)
    new, _, _, info = day(env1, params1, state_of(env1, 0, [2]), 4, 0)
    assert info["arrivals"] == 2 and float(new.on_hand) == 2
    np.testing.assert_array_equal(new.pipeline, [4])
    # A shorter lead time than the pipeline holds (for batching stores): slot L - 1.
    env3, params3 = store(lead_time=1, max_lead_time=3)
    new, _, _, _ = day(env3, params3, state_of(env3, 0, [1, 2, 3]), 4, 0)
    np.testing.assert_array_equal(new.pipeline, [6, 3, 0])


def test_weekday_rolls_over_and_the_year_terminates_at_364() -> None:
    env, params = store()
    new, _, _, _ = day(env, params, state_of(env, 5, [0, 0], weekday=6, time=10), 0, 0)
    assert int(new.weekday) == 0 and int(new.time) == 11
    obs, state = env.reset(jax.random.key(0), params)
    assert int(state.weekday) == 0 and float(state.on_hand) == 25
    np.testing.assert_array_equal(obs, [25, 0, 0, 0, 0, 0, 0])

    def body(state, key):
        _, state, _, terminated, truncated, info = env.step(key, state, 3, params)
        return state, (terminated, truncated, info["final_observation"], state.time)

    final, (terminated, truncated, last_obs, times) = jax.lax.scan(
        body, state, jax.random.split(jax.random.key(1), 365)
    )
    assert np.flatnonzero(np.asarray(terminated)).tolist() == [363]
    assert not np.asarray(truncated).any()
    assert int(times[363]) == 0 and int(times[362]) == 363  # auto-reset after day 364
    assert int(times[364]) == 1 and int(final.time) == 1
    # 364 days = 52 weeks: the final observation is a Monday again.
    np.testing.assert_array_equal(np.asarray(last_obs[363])[1:], np.zeros(6))


def test_any_action_is_clipped_to_a_whole_order() -> None:
    """NaN orders none, huge ones max_order, fractions floored. (Finiteness for any action,
    every env: test_env_contract.py.)"""
    env, params = store(observation="full")
    actions = jnp.asarray([np.nan, np.inf, -np.inf, 1e30, -5.0, 2.7, 20.0, 21.0], jnp.float32)
    n = actions.shape[0]
    _, state = jax.vmap(env.reset, (0, None))(jax.random.split(jax.random.key(0), n), params)
    info = env.step_many(jax.random.key(1), state, actions, params)[-1]
    np.testing.assert_array_equal(info["order"], [0, 20, 0, 20, 0, 2, 20, 20])
    assert env.action_space(params).n == env.num_actions == 21  # orders 0..20
    # An integer action works as well.
    assert (
        int(env.step(jax.random.key(0), env.reset(jax.random.key(0), params)[1], 3)[-1]["order"])
        == 3
    )


# -- the article's store side by side --------------------------------------------------------


class ArticleStore:
    """The article's store in plain Python: orders queue as (arrival day, cases)."""

    def __init__(self, demand_path: np.ndarray) -> None:
        self.demand, self.day, self.on_hand, self.orders = list(demand_path), 0, 25.0, []

    def step(self, order: int) -> tuple[float, float]:
        """Order, receive, hold, sell; returns (profit, inventory position after the day)."""
        if order > 0:
            self.orders.append((self.day + 2, order))
        if self.orders and self.orders[0][0] == self.day:
            self.on_hand = min(50.0, self.on_hand + self.orders.pop(0)[1])
        wanted = self.demand[self.day]
        sold = min(wanted, self.on_hand)
        profit = 30 * sold - 3 * self.on_hand - 50 * (order > 0) - 10 * order
        self.on_hand = max(0.0, self.on_hand - wanted)
        self.day += 1
        return profit, self.on_hand + sum(q for _, q in self.orders)


def test_training_year_step_by_step_against_the_article_store() -> None:
    env, params = store()
    year = retail.train_year_params(env, params)
    orders = np.random.default_rng(3).integers(0, 21, 364)
    orders[::3] = 0  # some days without an order

    def body(state, order):
        _, state, reward, terminated, _, info = env.step(jax.random.key(0), state, order, year)
        return state, (info["final_observation"], reward, terminated)

    _, (obs, reward, terminated) = jax.lax.scan(body, env.reset(None, year)[1], jnp.asarray(orders))
    reference = ArticleStore(np.asarray(year.demand))
    for t, order in enumerate(orders):
        profit, position = reference.step(int(order))
        assert float(reward[t]) == profit, t
        assert float(obs[t][0]) == position, t
        weekday = (t + 1) % 7
        np.testing.assert_array_equal(obs[t][1:], np.eye(7)[weekday][1:], err_msg=str(t))
    assert bool(terminated[-1]) and not np.asarray(terminated[:-1]).any()


# -- observations, spaces, batching ------------------------------------------------------------


@pytest.mark.parametrize(
    "config",
    [{"normalize": True}, {"observation": "full"}, {"observation": "full", "normalize": True}],
    ids=["article-normalized", "full", "full-normalized"],
)
def test_other_observation_layouts_stay_inside_the_observation_space(config: dict) -> None:
    """The layouts test_env_contract.py's smoke config (the article's) does not reach, over a
    whole year with half the stores always ordering the most."""
    env, params = store(**config)
    space = env.observation_space(params)
    assert space.shape == (env.obs_size,)
    n = 64
    _, state = jax.vmap(env.reset, (0, None))(jax.random.split(jax.random.key(0), n), params)

    def body(state, key):
        action = jax.random.randint(key, (n,), 0, 21)
        action = jnp.where(jnp.arange(n) % 2 == 0, action, 20)  # half always order the most
        obs, state, _, _, _, info = env.step_many(key, state, action, params)
        return state, (obs, info["final_observation"])

    _, (obs, final) = jax.lax.scan(body, state, jax.random.split(jax.random.key(1), 364))
    every = jnp.concatenate([obs.reshape(-1, env.obs_size), final.reshape(-1, env.obs_size)])
    assert bool(jax.vmap(space.contains)(every).all())
    if config.get("normalize"):
        assert float(every.max()) <= 1.0 and float(every[:, 0].max()) > 0.5


def test_full_observation_layout() -> None:
    env, params = store(observation="full")
    obs = env.get_obs(state_of(env, 7, [3, 4], weekday=4, time=91), params)
    np.testing.assert_allclose(obs, [7, 3, 4, 0, 0, 0, 0, 1, 0, 0, (364 - 91) / 364])


# -- demand models ----------------------------------------------------------------------------


def test_weekday_normal_pmf_is_the_clipped_rounded_normal() -> None:
    from scipy import stats

    low, pmf = demand.clipped_rounded_normal_pmf(3.0, 1.5)
    assert low == 0
    assert pmf[0] == pytest.approx(stats.norm(3, 1.5).cdf(0.5), rel=1e-12)
    assert pmf[4] == pytest.approx(stats.norm(3, 1.5).cdf(4.5) - stats.norm(3, 1.5).cdf(3.5))
    assert pmf.sum() == pytest.approx(1.0, abs=1e-15)
    assert demand.clipped_rounded_normal_pmf(2.5, 0.0) == (2, pytest.approx([1.0]))  # half even
    # numpy's own clipped, rounded normal draws agree (a loose sanity check).
    draws = np.round(np.maximum(np.random.default_rng(0).normal(12, 2, 200_000), 0))
    _, pmf12 = demand.clipped_rounded_normal_pmf(12.0, 2.0)
    counts = np.bincount(draws.astype(int), minlength=pmf12.size)[: pmf12.size]
    np.testing.assert_allclose(counts / draws.size, pmf12, atol=3e-3)


def test_demand_draws_follow_each_weekday() -> None:
    _, params = store()
    n = 20_000
    weekday = jnp.arange(n) % 7
    draws = np.asarray(demand.sample_rows(jax.random.key(0), params.demand, weekday))
    for w, mean in enumerate(retail.ARTICLE_DEMAND_MEAN):
        values, pmf = demand.table_distribution(jax.tree.map(lambda x, w=w: x[w], params.demand))
        expected = float(values @ pmf)
        sd = float(np.sqrt(((values - expected) ** 2) @ pmf))
        seen = draws[w::7]
        assert abs(seen.mean() - expected) < 4 * sd / np.sqrt(seen.size), w
        assert abs(expected - mean) < 0.02  # clipping at 0 lifts N(3, 1.5)'s mean by 0.011
        assert (seen == np.round(seen)).all() and seen.min() >= 0


def test_trace_and_empirical_models() -> None:
    path = [1, 2, 3, 4, 5, 6, 7, 3, 2, 3, 4, 5, 6, 9]
    env, params = store(demand="trace", trace=tuple(path), start_weekday=2)
    assert env.horizon == 14 and int(params.start_weekday) == 2
    _, state = env.reset(None, params)
    seen = []
    for t in range(14):
        _, state, _, _, _, info = env.step(jax.random.key(t), state, 0, params)
        seen.append(float(info["demand"]))
    assert seen == path
    env, params = store(demand="empirical", trace=tuple(path))
    assert env.horizon == 364
    values, pmf = demand.table_distribution(jax.tree.map(lambda x: x[6], params.demand))
    np.testing.assert_allclose(pmf, [0.5, 0, 0.5], atol=1e-9)  # Sundays: 7 and 9
    np.testing.assert_array_equal(values, [7, 8, 9])


def test_trace_from_csv_sets_the_start_weekday(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("date,quantity\n2024-05-03,4\n2024-05-04,0\n2024-05-05,11\n")
    env, params = jaxinv.make(ENV_ID, demand="trace", trace=str(path))
    assert env.horizon == 3 and int(params.start_weekday) == 4  # a Friday
    np.testing.assert_array_equal(params.demand, [4, 0, 11])
    with pytest.raises(ConfigError, match=r"'start_weekday'=0 .*Friday"):
        jaxinv.make(ENV_ID, demand="trace", trace=str(path), start_weekday=0)


# -- config errors -----------------------------------------------------------------------------

BAD = {
    "price": ({"price": -1}, "'price'=-1.0", "[0, 1e+06]"),
    "unit_cost": ({"unit_cost": float("nan")}, "'unit_cost'=nan", "finite"),
    "fixed_cost-list": ({"fixed_cost": [50]}, "'fixed_cost'=[50]", "a single number"),
    "holding_cost": ({"holding_cost": -3}, "'holding_cost'=-3.0", "[0, 1e+06]"),
    "capacity": ({"capacity": 0}, "'capacity'=0.0", "whole numbers in [1, 1e+06]"),
    "capacity-fraction": ({"capacity": 50.5}, "'capacity'=50.5", "whole numbers"),
    "max_order": ({"max_order": 0}, "'max_order'=0.0", "whole numbers in [1, 1e+06]"),
    "lead_time": ({"lead_time": -1}, "'lead_time'=-1.0", "whole numbers in [0, 365]"),
    "max_lead_time": ({"max_lead_time": 1}, "'max_lead_time'=1.0", "[2, 365]"),
    "initial_stock": ({"initial_stock": 51}, "'initial_stock'=51.0", "[0, 50]"),
    "start_weekday": ({"start_weekday": 7}, "'start_weekday'=7.0", "[0, 6]"),
    "horizon": ({"horizon": 0}, "'horizon'=0.0", "[1, 100000]"),
    "demand": ({"demand": "poisson"}, "'demand'='poisson'", "'normal', 'trace', 'empirical'"),
    "demand_mean-length": ({"demand_mean": [3, 6]}, "'demand_mean'=[3.0, 6.0]", "7 entries"),
    "demand_std-negative": (
        {"demand_std": [1, 1, 1, 1, 1, -1, 1]},
        "'demand_std'=[1.0, 1.0, 1.0, 1.0, 1.0, -1.0, 1.0]",
        "[0, 1000]",
    ),
    "trace-missing": ({"demand": "trace"}, "'trace'=None", "needs a trace"),
    "trace-negative": ({"demand": "trace", "trace": [1, -2]}, "'trace'=[1.0, -2.0]", "[0,"),
    "trace-fraction": ({"demand": "trace", "trace": [1, 2.5]}, "'trace'=[1.0, 2.5]", "whole"),
    "trace-unused": ({"trace": [1, 2]}, "'trace'=[1, 2]", "only read with demand='trace'"),
    "trace-horizon": (
        {"demand": "trace", "trace": [1, 2], "horizon": 3},
        "'horizon'=3",
        "at most the trace's 2 days",
    ),
    "empirical-short": ({"demand": "empirical", "trace": [1, 2]}, "'trace'=[1, 2]", "Wednesday"),
    "mean-with-trace": (
        {"demand": "trace", "trace": [1], "demand_mean": [1] * 7},
        "'demand_mean'",
        "only read with demand='normal'",
    ),
    "observation": ({"observation": "pixels"}, "'observation'='pixels'", "'article', 'full'"),
    "normalize": ({"normalize": "yes"}, "'normalize'='yes'", "True or False"),
    "unknown": ({"capacty": 3}, "unknown config key 'capacty'", "Did you mean 'capacity'?"),
}


@pytest.mark.parametrize(("config", "names", "allowed"), BAD.values(), ids=BAD.keys())
def test_bad_config_fails_at_make(config: dict, names: str, allowed: str) -> None:
    with pytest.raises(ConfigError) as error:
        jaxinv.make(ENV_ID, **config)
    message = str(error.value)
    assert message.startswith(f"{ENV_ID}: ") or message.startswith(f"{ENV_ID}: unknown")
    assert names in message, message
    assert allowed in message, message


# -- demand files ------------------------------------------------------------------------------

BAD_CSV = {
    "missing-column": ("date,qty\n2024-01-01,3\n", ":1: ", "quantity"),
    "no-date-column": ("day,quantity\n2024-01-01,3\n", ":1: ", "'date'"),
    "negative": ("date,quantity\n2024-01-01,3\n2024-01-02,-1\n", ":3: ", "negative"),
    "fraction": ("date,quantity\n2024-01-01,3.5\n", ":2: ", "not a whole number"),
    "not-a-number": ("date,quantity\n2024-01-01,3\n2024-01-02,many\n", ":3: ", "not a number"),
    "bad-date": ("date,quantity\n2024-01-01,3\n2024-13-02,3\n", ":3: ", "not an ISO date"),
    "gap": ("date,quantity\n2024-01-01,3\n2024-01-02,3\n2024-01-04,3\n", ":4: ", "consecutive"),
    "short-row": ("date,quantity\n2024-01-01\n", ":2: ", "1 fields"),
    "header-only": ("date,quantity\n", ": ", "no demand rows"),
    "empty": ("", ": ", "the file is empty"),
}


@pytest.mark.parametrize(("text", "line", "why"), BAD_CSV.values(), ids=BAD_CSV.keys())
def test_bad_demand_file_names_the_file_and_line(
    tmp_path: Path, text: str, line: str, why: str
) -> None:
    path = tmp_path / "demand.csv"
    path.write_text(text)
    with pytest.raises(ValueError) as error:
        trace.load_demand_csv(path)
    message = str(error.value)
    assert message.startswith(f"{path}{line}"), message
    assert why in message, message
    with pytest.raises(ConfigError, match=r"demand\.csv"):  # and through make()
        jaxinv.make(ENV_ID, demand="trace", trace=str(path))


def test_missing_demand_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=f"{tmp_path / 'nope.csv'}: cannot read"):
        trace.load_demand_csv(tmp_path / "nope.csv")


def test_demand_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    start = trace.datetime.date(2022, 1, 3)
    trace.write_demand_csv(path, start, {"quantity": np.array([3, 0, 12])})
    records = trace.load_demand_csv(path)
    assert records.start_date == start and records.start_weekday == 0
    np.testing.assert_array_equal(records.columns["quantity"], [3, 0, 12])
    text = path.read_text()
    path.write_text(text.replace("12", "12.0") + "\n\n")  # "12.0" and blank lines are fine
    np.testing.assert_array_equal(trace.load_demand_csv(path).columns["quantity"], [3, 0, 12])


# -- the article's data --------------------------------------------------------------------------


def load_script():
    spec = importlib.util.spec_from_file_location(
        "make_retail_years", ROOT / "scripts" / "make_retail_years.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_shipped_years_are_what_the_script_generates() -> None:
    generated_train, generated_test = load_script().article_data()
    train, test = retail.article_years()
    assert train.start_weekday == 0 and test.start_weekday == 0
    np.testing.assert_array_equal(train.columns["quantity"], generated_train)
    assert list(test.columns) == [f"year_{k}" for k in range(100, 200)]
    for name, year in generated_test.items():
        np.testing.assert_array_equal(test.columns[name], year, err_msg=name)
    # The article's first week, and its weekly totals are sane.
    assert generated_train[:7].tolist() == [6, 4, 4, 6, 8, 10, 14]
    assert generated_train.size == 364 and generated_train.sum() == 2165


def test_data_files_are_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["jaxinv"]
    assert "data/*.csv" in patterns
    for name in (retail.TRAIN_YEAR_FILE, retail.TEST_YEARS_FILE):
        assert retail.data_path(name).is_file()
        assert retail.data_path(name).stat().st_size < 100_000


def test_evaluation_set_params() -> None:
    env, params = store()
    years = retail.test_year_params(env, params)
    assert years.demand.shape == (100, 364) and years.price.shape == (100,)
    assert years.demand.dtype == jnp.float32 and int(years.start_weekday[0]) == 0
    _, test = retail.article_years()
    np.testing.assert_array_equal(years.demand[7], test.columns["year_107"])
    assert retail.train_year_params(env, params).demand.shape == (364,)
    with pytest.raises(ValueError, match="longer than the 364 days"):
        retail.test_year_params(*store(horizon=400))
