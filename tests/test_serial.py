"""Dynamics, API and batching of the serial chain (InvManagement-v0 and -v1).

Parity with or-gym lives in test_parity.py; these tests check invariants that must hold for any
actions and demand (unit conservation, backlog versus lost sales), a few periods computed by hand,
the gymnax API (termination, auto-reset, one compilation) and batching (vmap over different
params). What every env must do (observations in the space, ``step_many``, any action finite,
gymnax registration and wrappers) is checked once for all ids in test_env_contract.py.

Compilation dominates the run time, so every rollout goes through one jitted ``lax.scan``
(``rollout``) and each environment is built once per module (``chain``).
"""

from __future__ import annotations

import functools
from functools import partial

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxinv
from jaxinv.envs import serial
from jaxinv.envs.spaces import MultiDiscrete

V0, V1 = "InvManagement-v0", "InvManagement-v1"

# Two stages, demand given, dyadic prices and costs so every reward is exact in float32.
HAND = {
    "periods": 4,
    "I0": [5, 3],
    "p": 2.0,
    "r": [1.0, 0.75, 0.5],
    "k": [1.0, 0.5, 0.25],
    "h": [0.125, 0.25],
    "c": [4, 6],
    "L": [0, 2],
    "alpha": 0.5,
    "dist": 5,
    "user_D": [6, 2, 7, 1],
}
HAND_ACTIONS = np.array([[10.7, 3.2], [-1.0, 8.0], [2.0, 0.0], [4.0, 0.0]], np.float32)

CONFIGS = {
    "default": {},
    # A zero lead time at the retailer (arrives the period it ships) next to positive ones.
    "lead0": {"periods": 12, "I0": [30, 40, 60], "L": [0, 3, 1]},
    "hand": HAND,
    "full": {"periods": 12, "I0": [30, 40, 60], "L": [0, 3, 1], "observation": "full"},
}


@functools.cache
def chain(env_id: str, name: str):
    """One (env, params) per config and version for the whole module: each env compiles once."""
    return jaxinv.make(env_id, **CONFIGS[name])


@partial(jax.jit, static_argnames=("env",))
def rollout(env, params, key, actions):
    """``env.step`` (auto-reset included) over ``actions``: one key per period from ``key``.

    Returns the reset observation and, stacked over periods, the state before each step and
    everything ``step`` returns.
    """
    obs0, state0 = env.reset(key, params)

    def period(state, inputs):
        step_key, action = inputs
        obs, new_state, reward, terminated, truncated, info = env.step(
            step_key, state, action, params
        )
        return new_state, (state, obs, new_state, reward, terminated, truncated, info)

    keys = jax.random.split(key, actions.shape[0])
    _, (pre, obs, post, reward, terminated, truncated, info) = jax.lax.scan(
        period, state0, (keys, actions)
    )
    return obs0, {
        "pre": pre,
        "obs": obs,
        "post": post,
        "reward": reward,
        "terminated": terminated,
        "truncated": truncated,
        "info": info,
    }


def random_actions(params, steps: int, seed: int) -> np.ndarray:
    """Mostly-idle, sometimes huge, fractional and negative orders (float32, (steps, M)).

    Idle periods run stages dry (shortages, backlog); the rest range up to 2x capacity.
    """
    rng = np.random.default_rng(seed)
    c = np.asarray(params.c)
    raw = rng.uniform(-5.0, 2.0 * c, size=(steps, c.size))
    return (raw * (rng.random((steps, c.size)) < 0.45)).astype(np.float32)


@functools.cache
def random_run(env_id: str, name: str, seed: int = 0):
    """A rollout of ``periods + 5`` random periods (so it crosses one auto-reset), as numpy."""
    env, params = chain(env_id, name)
    actions = random_actions(params, env.periods + 5, seed)
    obs0, out = rollout(env, params, jax.random.key(seed), jnp.asarray(actions))
    out = jax.tree.map(np.asarray, out)
    out["actions"] = actions
    return env, params, np.asarray(obs0), out


def first_episode(out: dict, periods: int) -> dict:
    """The periods whose post-step state is not an auto-reset (all but the episode's last)."""
    return jax.tree.map(lambda x: x[: periods - 1], out)


ROLLOUTS = [(v, name) for name in ("default", "lead0") for v in (V0, V1)]


# -- unit conservation ------------------------------------------------------------------------


@pytest.mark.parametrize(("env_id", "name"), ROLLOUTS)
def test_units_are_conserved(env_id: str, name: str) -> None:
    env, params, _, out = random_run(env_id, name)
    ep = first_episode(out, env.periods)
    pre, post, info = ep["pre"], ep["post"], ep["info"]
    shipments, sales, arrivals = info["shipments"], info["sales"], info["arrivals"]
    I0 = np.asarray(params.I0)

    # Whole system: stock on hand plus in transit == initial stock + units the source released
    # - units sold to customers.
    in_system = post.on_hand.sum(-1) + post.pipeline.sum((-2, -1))
    expected = I0.sum() + np.cumsum(shipments[:, -1]) - np.cumsum(sales)
    np.testing.assert_array_equal(in_system, expected)

    # Per stage: on-hand changes by arrivals minus outflow (retail sales at stage 0, shipments
    # to the stage below elsewhere), and never goes negative.
    outflow = np.concatenate([sales[:, None], shipments[:, :-1]], axis=1)
    np.testing.assert_array_equal(post.on_hand, pre.on_hand + arrivals - outflow)
    assert (post.on_hand >= 0).all()

    # Each shipment arrives exactly L_i periods after it left (L_i = 0: the same period).
    L = np.asarray(params.L)
    expected_arrivals = np.zeros_like(shipments)
    for i, lead in enumerate(L):
        expected_arrivals[lead:, i] = shipments[: shipments.shape[0] - lead, i]
    np.testing.assert_array_equal(arrivals, expected_arrivals)

    # Shipments respect the supplier's capacity and its stock at the start of the period, and
    # the random orders do hit the capacity.
    c = np.asarray(params.c)
    assert (shipments <= c).all() and (shipments == c).any()
    assert (shipments[:, :-1] <= pre.on_hand[:, 1:]).all()
    assert (shipments >= 0).all() and (sales >= 0).all()


@pytest.mark.parametrize("name", ["default", "lead0"])
def test_v1_loses_unfilled_demand_and_requests(name: str) -> None:
    env, _, _, out = random_run(V1, name)
    ep = first_episode(out, env.periods)
    pre, info = ep["pre"], ep["info"]
    requested = np.floor(np.maximum(ep["actions"], 0.0))
    demand, sales, shipments = info["demand"], info["sales"], info["shipments"]

    # Requests are this period's order only: last period's shortfall is not re-requested.
    assert (shipments <= requested).all()
    np.testing.assert_array_equal(info["unfilled"][:, 1:], requested - shipments)
    # Retail: sales never exceed this period's demand, and are capped by the stock at hand.
    assert (sales <= demand).all()
    stock = pre.on_hand[:, 0] + info["arrivals"][:, 0]
    np.testing.assert_array_equal(sales, np.minimum(stock, demand))
    np.testing.assert_array_equal(info["unfilled"][:, 0], demand - sales)
    # State never carries a backlog: what is lost this period is gone next period.
    assert (info["unfilled"][:, 0] > 0).any(), "rollout never ran short; pick another seed"


@pytest.mark.parametrize("name", ["default", "lead0"])
def test_v0_backlogs_unfilled_demand_and_requests(name: str) -> None:
    env, _, _, out = random_run(V0, name)
    ep = first_episode(out, env.periods)
    pre, info = ep["pre"], ep["info"]
    requested = np.floor(np.maximum(ep["actions"], 0.0))
    demand, sales, unfilled = info["demand"], info["sales"], info["unfilled"]

    # Retail backlog: unfilled_t = demand_t + unfilled_{t-1} - sales_t.
    np.testing.assert_array_equal(unfilled[:, 0], demand + pre.unfilled[:, 0] - sales)
    np.testing.assert_array_equal(pre.unfilled[1:, 0], unfilled[:-1, 0])
    # Suppliers' backlog: unfilled requests are re-requested next period.
    np.testing.assert_array_equal(
        unfilled[:, 1:], pre.unfilled[:, 1:] + requested - info["shipments"]
    )
    # Backlog builds up and is later served (sales above that period's demand).
    assert (unfilled[:, 0] > 0).any() and (sales > demand).any()


# -- one chain by hand --------------------------------------------------------------------------

# HAND: stages 0 (retail) and 1; I0 = [5, 3]; c = [4, 6]; L = [0, 2] (W = 2); p = 2,
# r_top = 0.5, k = [1, .5, .25], h = [.125, .25], alpha = .5; demand 6, 2, 7, 1.
# Orders: [10.7, 3.2], [-1, 8], [2, 0], [4, 0] -> requested [10,3], [0,8], [2,0], [4,0].
# Shipped = min(request, c, supplier's on-hand at the start of the period; source: unlimited).
#
# v0 (backlog: request += last unfilled request; due = demand + retail backlog):
# t0: req [10,3]; ship [min(10,4,3)=3, min(3,6)=3]; stage 0 gets its 3 now (L=0), stage 1's 3
#     arrive at t2. stock [8,3]; due 6, sold 6; on-hand [2,0]; unfilled [0, 7, 0].
#     profit 2*6 - .5*3 - .5*7 - .125*2 = 6.75; reward 6.75.
# t1: req [0+7, 8+0] = [7,8]; ship [min(7,4,0)=0, 6]; arrivals 0. stock [2,0]; due 2, sold 2;
#     on-hand [0,0]; unfilled [0, 7, 2]. profit 4 - 3 - 3.5 - .5 = -3; reward .5 * -3 = -1.5.
# t2: req [2+7, 0+2] = [9,2]; ship [0 (stage 1 had 0 at the start), 2]; stage 1 receives t0's 3.
#     stock [0,3]; due 7, sold 0; on-hand [0,3]; unfilled [7, 9, 0].
#     profit -1 - (7 + 4.5) - .75 = -13.25; reward .25 * -13.25 = -3.3125.
# t3: req [4+9, 0] = [13,0]; ship [min(13,4,3)=3, 0]; arrivals [3, 6 (t1's)]. stock [3,9];
#     due 1 + 7 = 8, sold 3; on-hand [0,6]; unfilled [5, 10, 0].
#     profit 6 - (5 + 5) - 1.5 = -5.5; reward .125 * -5.5 = -0.6875. Terminated.
#
# v1 (lost sales): t0 as v0. t1: req [0,8]; ship [0,6]; sold 2; on-hand [0,0]; unfilled [0,0,2];
#     profit 4 - 3 - .5 = .5; reward .25. t2: req [2,0]; ship [0,0]; arrivals [0,3]; sold 0;
#     on-hand [0,3]; unfilled [7,2,0]; profit -(7+1) - .75 = -8.75; reward -2.1875.
#     t3: req [4,0]; ship [3,0]; arrivals [3,6]; stock [3,9]; due 1, sold 1; on-hand [2,6];
#     unfilled [0,1,0]; profit 2 - .5 - (.25 + 1.5) = -.25; reward -.03125.
HAND_EXPECTED = {
    V0: {
        "shipments": [[3, 3], [0, 6], [0, 2], [3, 0]],
        "arrivals": [[3, 0], [0, 0], [0, 3], [3, 6]],
        "sales": [6, 2, 0, 3],
        "unfilled": [[0, 7, 0], [0, 7, 2], [7, 9, 0], [5, 10, 0]],
        "on_hand": [[2, 0], [0, 0], [0, 3], [0, 6]],
        "pipeline": [[[0, 0], [0, 3]], [[0, 3], [0, 6]], [[0, 6], [0, 2]]],
        "reward": [6.75, -1.5, -3.3125, -0.6875],
    },
    V1: {
        "shipments": [[3, 3], [0, 6], [0, 0], [3, 0]],
        "arrivals": [[3, 0], [0, 0], [0, 3], [3, 6]],
        "sales": [6, 2, 0, 1],
        "unfilled": [[0, 7, 0], [0, 0, 2], [7, 2, 0], [0, 1, 0]],
        "on_hand": [[2, 0], [0, 0], [0, 3], [2, 6]],
        "pipeline": [[[0, 0], [0, 3]], [[0, 3], [0, 6]], [[0, 6], [0, 0]]],
        "reward": [6.75, 0.25, -2.1875, -0.03125],
    },
}


@functools.cache
def hand_run(env_id: str, episodes: int = 1):
    """HAND's four periods, repeated ``episodes`` times (dist=5 replays the same demand)."""
    env, params = chain(env_id, "hand")
    actions = np.concatenate([HAND_ACTIONS] * episodes)
    obs0, out = rollout(env, params, jax.random.key(0), jnp.asarray(actions))
    return env, params, np.asarray(obs0), jax.tree.map(np.asarray, out)


@pytest.mark.parametrize("env_id", [V0, V1])
def test_hand_computed_periods(env_id: str) -> None:
    _, _, obs0, out = hand_run(env_id)
    want = HAND_EXPECTED[env_id]
    info = out["info"]
    np.testing.assert_array_equal(info["demand"], [6, 2, 7, 1])
    for key in ("shipments", "arrivals", "sales", "unfilled"):
        np.testing.assert_array_equal(info[key], np.asarray(want[key], np.float32), err_msg=key)
    np.testing.assert_array_equal(out["reward"], np.asarray(want["reward"], np.float32))
    np.testing.assert_array_equal(out["terminated"], [False, False, False, True])

    # OR-Gym's observation: on-hand, then the last W = 2 requested orders, oldest first.
    requested = [[10, 3], [0, 8], [2, 0], [4, 0]]
    log = [[0, 0], [0, 0], *requested]
    for t in range(4):
        expected = np.concatenate([want["on_hand"][t], *log[t + 1 : t + 3]])
        np.testing.assert_array_equal(out["info"]["final_observation"][t], expected)
    np.testing.assert_array_equal(obs0, [5, 3, 0, 0, 0, 0])
    # In transit after each period, next period first (stage 1, L = 2): t0's 3 arrive at t2,
    # t1's 6 at t3, t2's shipment (v0: 2, v1: 0) after the horizon.
    np.testing.assert_array_equal(out["post"].pipeline[:3], want["pipeline"])


# -- episode end --------------------------------------------------------------------------------


@pytest.mark.parametrize("env_id", [V0, V1])
def test_termination_and_auto_reset(env_id: str) -> None:
    env, params, obs0, out = hand_run(env_id, episodes=3)
    periods = env.periods
    steps = np.arange(3 * periods)
    terminated = out["terminated"]
    np.testing.assert_array_equal(terminated, steps % periods == periods - 1)
    assert not out["truncated"].any()
    np.testing.assert_array_equal(out["info"]["terminated"], terminated)
    np.testing.assert_array_equal(out["info"]["truncated"], out["truncated"])

    final_obs = out["info"]["final_observation"]
    # Auto-reset: the returned observation and state are the reset ones.
    for t in np.flatnonzero(terminated):
        np.testing.assert_array_equal(out["obs"][t], obs0)
        assert out["post"].time[t] == 0
        np.testing.assert_array_equal(out["post"].on_hand[t], params.I0)
        np.testing.assert_array_equal(out["post"].unfilled[t], 0)
        np.testing.assert_array_equal(out["post"].pipeline[t], 0)
        # The pre-reset observation is kept: HAND's last period ends with a non-reset stock.
        on_hand = HAND_EXPECTED[env_id]["on_hand"][-1]
        np.testing.assert_array_equal(final_obs[t][:2], on_hand)
        assert not np.array_equal(final_obs[t], obs0)
    # Elsewhere the final observation is just the observation.
    np.testing.assert_array_equal(final_obs[~terminated], out["obs"][~terminated])
    np.testing.assert_array_equal(out["post"].time, (steps + 1) % periods)
    # Each episode after a reset replays the first (same orders, same demand path).
    for name in ("reward", "obs"):
        x = out[name].reshape(3, periods, *out[name].shape[1:])
        np.testing.assert_array_equal(x[1], x[0])
        np.testing.assert_array_equal(x[2], x[0])


def test_step_compiles_once() -> None:
    """Different keys, states, actions and param values reuse one compiled step."""
    env, params = chain(V0, "hand")

    @jax.jit
    @chex.assert_max_traces(n=1)
    def step(key, state, action, params):
        return env.step_env(key, state, action, params)

    cache_before = serial.InvManagement.step._cache_size()
    other = params.replace(
        p=jnp.asarray(3.0, jnp.float32),
        c=jnp.asarray([1, 50], jnp.float32),
        L=jnp.asarray([2, 1], jnp.int32),
        alpha=jnp.asarray(0.9, jnp.float32),
        demand=jnp.asarray([0, 9, 1, 4], jnp.float32),
    )
    rewards = []
    for i, p in enumerate([params, other, params, other]):
        _, state = env.reset(jax.random.key(i), p)
        for t in range(2):
            key = jax.random.key(10 * i + t)
            action = jnp.asarray(HAND_ACTIONS[t] + i, jnp.float32)
            _, state, reward, _, _ = step(key, state, action, p)
            rewards.append(float(reward))
            env.step(key, state, action, p)
    assert len(set(rewards)) > 2  # the values did change between calls
    # ``env.step`` itself (jit with a static env) added at most one compiled version.
    assert serial.InvManagement.step._cache_size() - cache_before <= 1


def test_same_key_same_rollout_other_key_other_demand() -> None:
    env, params = chain(V1, "default")
    actions = jnp.asarray(random_actions(params, env.periods + 5, 0))
    a = rollout(env, params, jax.random.key(7), actions)
    b = rollout(env, params, jax.random.key(7), actions)
    c = rollout(env, params, jax.random.key(8), actions)
    chex.assert_trees_all_equal(a, b)  # bitwise
    demand_a, demand_c = np.asarray(a[1]["info"]["demand"]), np.asarray(c[1]["info"]["demand"])
    assert (demand_a != demand_c).mean() > 0.5


# -- batching ---------------------------------------------------------------------------------


def test_vmap_over_different_params_matches_each_alone() -> None:
    env, _ = chain(V1, "default")
    configs = [
        {"dist_param": {"mu": 5}, "c": [10, 20, 30], "h": [0.5, 0.1, 0.2], "L": [1, 2, 10]},
        {"dist_param": {"mu": 20}, "p": 3.0, "k": [1.0, 0.5, 0.2, 0.1], "L": [10, 0, 3]},
        {"dist_param": {"mu": 60}, "I0": [7, 8, 9], "r": [2, 2, 2, 1.25], "alpha": 0.8},
    ]
    members = [jaxinv.make(V1, **config)[1] for config in configs]
    # Demand tables of different sizes: stack_params pads them.
    sizes = {m.demand.thresholds.shape[0] for m in members}
    assert len(sizes) == 3
    batch = serial.stack_params(members)
    n = len(members)
    steps = 12
    rng = np.random.default_rng(3)
    actions = jnp.asarray(rng.uniform(-2, 70, (steps, n, 3)), jnp.float32)
    keys = jax.random.split(jax.random.key(5), (steps, n))

    @jax.jit
    def batched(params):
        _, state = jax.vmap(env.reset, (0, 0))(keys[0], params)

        def period(state, x):
            key, action = x
            out = jax.vmap(env.step, in_axes=(0, 0, 0, 0))(key, state, action, params)
            return out[1], out

        return jax.lax.scan(period, state, (keys, actions))[1]

    @jax.jit
    def alone(params, keys, actions):
        _, state = env.reset(keys[0], params)

        def period(state, x):
            key, action = x
            out = env.step(key, state, action, params)
            return out[1], out

        return jax.lax.scan(period, state, (keys, actions))[1]

    got = batched(batch)
    for i, member in enumerate(members):
        want = alone(member, keys[:, i], actions[:, i])
        mine = jax.tree.map(lambda x, i=i: x[:, i], got)
        chex.assert_trees_all_close(mine, want, rtol=1e-6, atol=0)
        # Integer quantities bitwise.
        for key in ("demand", "sales", "shipments", "unfilled"):
            np.testing.assert_array_equal(mine[5][key], want[5][key])
    # And the members really differ.
    demand = np.asarray(got[5]["demand"])
    assert demand[:, 0].mean() < demand[:, 1].mean() < demand[:, 2].mean()


# -- observations and actions -----------------------------------------------------------------


def test_full_observation_layout() -> None:
    env, params, obs0, out = random_run(V0, "full")
    m, w, periods = env.num_stages, env.max_lead_time, env.periods
    assert (m, w) == (3, 3)
    assert env.obs_size == m * (w + 1) + m + 2 == obs0.shape[0]
    obs = out["info"]["final_observation"]  # the pre-reset observation of every period
    post = out["post"]
    ep = slice(0, periods - 1)  # periods whose post state is not a reset

    on_hand, pipe = obs[:, :m], obs[:, m : m + w * m].reshape(-1, w, m)
    unfilled, remaining = obs[:, m + w * m : -1], obs[:, -1]
    np.testing.assert_array_equal(on_hand[ep], post.on_hand[ep])
    np.testing.assert_array_equal(pipe[ep], post.pipeline[ep])
    np.testing.assert_array_equal(unfilled, out["info"]["unfilled"])
    # Fraction of periods remaining: 1 at reset, then 1 - 1/T, 1 - 2/T, ..., 0 at the end.
    assert obs0[-1] == 1.0
    steps = len(remaining)
    expected = 1.0 - (np.arange(steps) % periods + 1) / np.float32(periods)
    np.testing.assert_allclose(remaining, expected, rtol=0, atol=1e-6)
    assert out["obs"][periods - 1, -1] == 1.0  # auto-reset
    np.testing.assert_array_equal(obs0[: m * (w + 1)], np.concatenate([params.I0, np.zeros(w * m)]))

    # In transit: everything shipped and not yet arrived; row j arrives in period t + 1 + j.
    shipments, arrivals = out["info"]["shipments"][ep], out["info"]["arrivals"][ep]
    in_transit = np.cumsum(shipments, 0) - np.cumsum(arrivals, 0)
    np.testing.assert_array_equal(pipe[ep].sum(1), in_transit)
    assert in_transit.sum() > 0
    L = np.asarray(params.L)
    for t in range(periods - 1):
        for j in range(w):
            for i in range(m):
                sent = t + 1 + j - L[i]  # the period a unit arriving at t + 1 + j left
                want = shipments[sent, i] if 0 <= sent <= t and L[i] > 0 else 0.0
                assert pipe[t, j, i] == want, (t, j, i)


def test_action_space() -> None:
    env, params = chain(V1, "hand")
    space = env.action_space(params)
    assert isinstance(space, MultiDiscrete)
    np.testing.assert_array_equal(space.nvec, np.asarray(params.c, np.int64) + 1)
    samples = jax.vmap(space.sample)(jax.random.split(jax.random.key(0), 500))
    assert samples.shape == (500, env.num_stages)
    assert env.num_actions == 5 * 7  # joint actions, as gymnax counts "actions possible"
    assert bool(jax.vmap(space.contains)(samples).all())
    for i, c in enumerate([4, 6]):  # every order 0..c is drawn, nothing else
        assert set(np.asarray(samples[:, i]).tolist()) == set(range(c + 1))
    for outside in ([5, 0], [0, 7], [-1, 0], [0.5, 0]):
        assert not bool(space.contains(jnp.asarray(outside))), outside
    assert bool(space.contains(jnp.asarray([4, 6])))
    assert env.action_space().nvec.tolist() == space.nvec.tolist()


# -- regressions: bugs found while writing these tests ------------------------------------


def test_full_observation_ends_at_zero_remaining_inside_the_space() -> None:
    env, params, _, out = random_run(V1, "full")
    final = out["info"]["final_observation"][env.periods - 1]
    assert final[-1] == 0.0
    assert bool(env.observation_space(params).contains(final))


@pytest.mark.parametrize("config", [{"periods": 1}, {"I0": [5000, 100, 200]}])
def test_reset_observation_inside_the_space(config: dict) -> None:
    env, params = jaxinv.make(V1, **config)
    obs, _ = env.reset(jax.random.key(0), params)
    assert bool(env.observation_space(params).contains(obs))


@pytest.mark.parametrize("env_id", [V0, V1])
def test_nan_orders_are_none_and_infinite_orders_are_capped(env_id: str) -> None:
    """NaN and -inf orders count as none and +inf stops at MAX_ORDER, so even with k = 0 (where
    an infinite unfilled amount would give 0 * inf = NaN) the reward stays finite. (Finiteness
    for any action, every env: test_env_contract.py.)"""
    env, params = jaxinv.make(env_id, periods=5, k=[0.0, 0.0, 0.0, 0.0])
    bad = jnp.asarray([jnp.nan, jnp.inf, -jnp.inf], jnp.float32)
    _, state = env.reset(jax.random.key(0), params)
    _, state, reward, *_, first = env.step(jax.random.key(0), state, bad, params)
    assert np.isfinite(float(reward)) and np.isfinite(np.asarray(state.unfilled)).all()
    # The NaN and -inf orders are none; the +inf order is capped, not dropped, and stage 2
    # ships all it may (capacity 90 of its 200 on hand).
    np.testing.assert_array_equal(first["shipments"], [0.0, 90.0, 0.0])
    assert float(first["unfilled"][2]) == serial.MAX_ORDER - 90.0
