"""The contract every registered env keeps, checked the same way for each (Jumanji's
``check_env_does_not_smoke`` is the model): shapes and dtypes, observations inside the
observation space, auto-reset at the horizon, one compilation, finite outputs for any action,
``step_many`` against ``transition``, gymnax registration and wrappers, and equality by value.

A new env id needs only its tiny config in ``SMOKE`` (and a traced-only and a static change of
it in ``VARIANTS``). Each env is built once per module and its random run compiled once.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

import chex
import gymnax
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnax.wrappers.purerl import LogWrapper

import jaxinv
from jaxinv import evaluate, families
from jaxinv.agents import rollout
from jaxinv.envs.base import InventoryEnv, env_fingerprint

# Richer tiny configs than the families' own (two stages, a zero lead time, small stocks); any
# other registered id is covered with its family's smoke_config.
_RICHER: dict[str, dict[str, Any]] = {
    "InvManagement-v0": {
        "periods": 6,
        "I0": [8, 12],
        "r": [1.0, 0.5, 0.25],
        "k": [0.1, 0.05, 0.025],
        "h": [0.1, 0.05],
        "c": [6, 9],
        "L": [0, 2],
        "dist_param": {"mu": 4},
    },
    "InvManagement-v1": {
        "periods": 6,
        "I0": [8, 12],
        "r": [1.0, 0.5, 0.25],
        "k": [0.1, 0.05, 0.025],
        "h": [0.1, 0.05],
        "c": [6, 9],
        "L": [1, 2],
        "dist_param": {"mu": 4},
        "observation": "full",
    },
    "LostSales-v0": {
        "horizon": 9,
        "lead_time": 3,
        "demand": "geometric",
        "demand_mean": 2.0,
        "lost_sale_cost": 9.0,
        "initial_state": [4, 1, 2],
    },
    "RetailStore-v0": {
        "horizon": 9,
        "capacity": 12,
        "max_order": 6,
        "lead_time": 1,
        "initial_stock": 5,
    },
}

# Per id: a change of traced params only, and a change of a static setting.
VARIANTS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "InvManagement-v0": ({"dist_param": {"mu": 5}}, {"periods": 7}),
    "InvManagement-v1": ({"p": 2.5}, {"observation": "orgym"}),
    "RetailStore-v0": ({"holding_cost": 2.0}, {"horizon": 10}),
    "LostSales-v0": ({"holding_cost": 2.0}, {"horizon": 10}),
}

ENV_IDS = jaxinv.registered_envs
SMOKE: dict[str, dict[str, Any]] = {
    env_id: dict(_RICHER.get(env_id, families.family_of(env_id).smoke_config[env_id]))
    for env_id in ENV_IDS
}
EPISODES = 2  # random-run episodes per env, in lockstep
BATCH = 4  # envs in the random run


def test_every_registered_env_has_a_smoke_config() -> None:
    assert set(SMOKE) == set(ENV_IDS) and set(VARIANTS) <= set(ENV_IDS)


@functools.cache
def smoke(env_id: str):
    """(env, params) of ``SMOKE[env_id]``, shared by the module."""
    return jaxinv.make(env_id, **SMOKE[env_id])


@functools.cache
def max_action(env_id: str) -> np.ndarray:
    env, params = smoke(env_id)
    space = env.action_space(params)
    high = space.nvec - 1 if hasattr(space, "nvec") else space.n - 1
    return np.broadcast_to(np.asarray(high, np.float32), space.shape)


@functools.partial(jax.jit, static_argnames=("env",))
def _run(env, params, key, actions):
    """``vmap(env.step)`` over ``actions`` (T, N, ...): one key per env and period.

    Returns the reset observations (N, obs) and, stacked over periods, the state before each
    step and everything ``step`` returns.
    """
    n = actions.shape[1]
    reset_key, step_key = jax.random.split(key)
    obs0, state0 = jax.vmap(env.reset, (0, None))(jax.random.split(reset_key, n), params)
    step = jax.vmap(env.step, (0, 0, 0, None))

    def period(state, inputs):
        k, action = inputs
        out = step(jax.random.split(k, n), state, action, params)
        return out[1], (state, out)

    keys = jax.random.split(step_key, actions.shape[0])
    _, (pre, out) = jax.lax.scan(period, state0, (keys, actions))
    return obs0, pre, out


RUN_KEY = jax.random.key(8)


@functools.cache
def random_actions(env_id: str) -> jax.Array:
    """(T, BATCH, ...) random in-space actions for ``EPISODES`` episodes plus one period; env 0
    always orders the most."""
    env, params = smoke(env_id)
    space = env.action_space(params)
    steps = EPISODES * env.horizon + 1
    keys = jax.random.split(jax.random.key(7), steps * BATCH).reshape(steps, BATCH)
    actions = jax.vmap(jax.vmap(space.sample))(keys).astype(jnp.float32)
    return actions.at[:, 0].set(jnp.asarray(max_action(env_id)))


@functools.cache
def random_run(env_id: str):
    """``_run`` of ``random_actions``."""
    env, params = smoke(env_id)
    return _run(env, params, RUN_KEY, random_actions(env_id))


# -- shapes, spaces, auto-reset ----------------------------------------------------------------


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_reset_and_step_shapes_and_dtypes(env_id: str) -> None:
    env, params = smoke(env_id)
    assert isinstance(env, InventoryEnv) and env.name == env_id
    assert isinstance(env.never_truncates, bool) and isinstance(env.horizon, int)
    assert env.horizon > 0
    obs_space, action_space = env.observation_space(params), env.action_space(params)
    obs0, pre, (obs, _, reward, terminated, truncated, info) = random_run(env_id)
    steps = EPISODES * env.horizon + 1
    assert obs0.shape == (BATCH, *obs_space.shape) and obs0.dtype == jnp.float32
    assert obs.shape == (steps, BATCH, *obs_space.shape) and obs.dtype == jnp.float32
    assert info["final_observation"].shape == obs.shape
    assert reward.shape == (steps, BATCH) and reward.dtype == jnp.float32
    assert terminated.shape == truncated.shape == (steps, BATCH)
    assert terminated.dtype == truncated.dtype == jnp.bool_
    assert pre.time.dtype == jnp.int32
    chex.assert_trees_all_equal_shapes_and_dtypes(
        jax.tree.map(lambda x: x[0, 0], pre), env.reset(jax.random.key(0), params)[1]
    )
    sample = action_space.sample(jax.random.key(0))
    assert sample.shape == action_space.shape and bool(action_space.contains(sample))
    choices = action_space.nvec if hasattr(action_space, "nvec") else action_space.n
    assert env.num_actions == int(np.prod(choices))  # gymnax's "number of actions possible"


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_observations_lie_in_the_observation_space(env_id: str) -> None:
    env, params = smoke(env_id)
    space = env.observation_space(params)
    obs0, _, (obs, *_, info) = random_run(env_id)
    every = jnp.concatenate(
        [obs0, obs.reshape(-1, *space.shape), info["final_observation"].reshape(-1, *space.shape)]
    )
    assert bool(jax.vmap(space.contains)(every).all())
    # The check can fail: an observation below the bound is outside.
    below = jnp.broadcast_to(jnp.asarray(space.low, jnp.float32) - 1.0, space.shape)
    assert not bool(space.contains(below))


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_auto_reset_at_the_horizon(env_id: str) -> None:
    """Episodes end at the horizon: a termination (a real end), or a truncation (a time limit)
    for an env with ``never_truncates = False``; never both, and never elsewhere."""
    env, params = smoke(env_id)
    obs0, pre, (obs, state, _, terminated, truncated, info) = random_run(env_id)
    h = env.horizon
    ends = [e * h - 1 for e in range(1, EPISODES + 1)]
    terminated, truncated = np.asarray(terminated), np.asarray(truncated)
    ending, other = (terminated, truncated) if env.never_truncates else (truncated, terminated)
    assert all(np.flatnonzero(ending[:, n]).tolist() == ends for n in range(BATCH))
    assert not other.any()
    np.testing.assert_array_equal(pre.time[:, 0], np.tile(np.arange(h), EPISODES + 1)[: len(obs)])
    final = np.asarray(info["final_observation"])
    for t in range(len(obs)):
        if t in ends:  # a fresh episode; the stepped observation is kept in info
            np.testing.assert_array_equal(obs[t], obs0)
            np.testing.assert_array_equal(state.time[t], 0)
            assert (final[t] != obs[t]).any()
        else:
            np.testing.assert_array_equal(final[t], obs[t])
    # gymnax's helpers agree (jaxinv's step reads is_truncated only for an env that truncates).
    last = jax.tree.map(lambda x: x[ends[0], 0], pre)
    assert not bool(env.is_terminated(last, params)) and not bool(env.is_truncated(last, params))
    after = last.replace(time=last.time + 1)
    assert bool(env.is_terminated(after, params)) == env.never_truncates
    assert bool(env.is_truncated(after, params)) != env.never_truncates


# -- compilation and identity ------------------------------------------------------------------


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_step_compiles_once_across_calls_and_identical_makes(env_id: str) -> None:
    env, params = jaxinv.make(env_id, **SMOKE[env_id])
    twin, twin_params = jaxinv.make(env_id, **SMOKE[env_id])
    assert env is not twin
    chex.clear_trace_counter()  # the counter is per source location, shared by parameters

    @functools.partial(jax.jit, static_argnames=("env",))
    @chex.assert_max_traces(n=1)
    def step(env, key, state, action, params):
        return env.step(key, state, action, params)

    _, state = env.reset(jax.random.key(0), params)
    action = jnp.zeros(env.action_space(params).shape, jnp.float32)
    step(env, jax.random.key(1), state, action, params)
    env.step(jax.random.key(1), state, action, params)
    cached = InventoryEnv.step._cache_size()
    for i, (e, p) in enumerate([(env, params), (twin, twin_params), (twin, params)]):
        out = step(e, jax.random.key(2 + i), state, action + i, p)
        state = out[1]
        e.step(jax.random.key(i), state, action + i, p)  # the method's own jit cache
    assert InventoryEnv.step._cache_size() == cached


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_equality_and_hash_by_value(env_id: str) -> None:
    env, _ = smoke(env_id)
    twin, _ = jaxinv.make(env_id, **SMOKE[env_id])
    assert env == twin and hash(env) == hash(twin) and env.fingerprint == twin.fingerprint
    assert {env: 1}[twin] == 1
    if env_id not in VARIANTS:
        pytest.skip(f"no traced and static config change declared for {env_id}")
    params_change, static_change = VARIANTS[env_id]
    other_params, _ = jaxinv.make(env_id, **{**SMOKE[env_id], **params_change})
    other_static, _ = jaxinv.make(env_id, **{**SMOKE[env_id], **static_change})
    # Same static settings, other default params: step(params=None) would differ.
    assert other_params.static_settings == env.static_settings
    assert other_params != env and other_params.fingerprint != env.fingerprint
    assert other_static != env and other_static.static_settings != env.static_settings
    gradients = copy.copy(env)
    gradients._transition_gradients_enabled = True  # what with_transition_gradients does
    assert gradients != env
    for other_id in ENV_IDS:
        if other_id != env_id:
            assert env != smoke(other_id)[0]


# -- actions out of the action space -----------------------------------------------------------


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_nan_inf_negative_and_huge_actions_keep_everything_finite(env_id: str) -> None:
    env, params = smoke(env_id)
    shape = env.action_space(params).shape
    bad = jnp.asarray([jnp.nan, jnp.inf, -jnp.inf, 1e30, -5.0, 2.7], jnp.float32)
    actions = jnp.broadcast_to(bad.reshape(-1, *([1] * len(shape))), (bad.size, *shape))
    if shape:  # and a mix within one action
        actions = jnp.concatenate([actions, jnp.resize(bad, shape)[None]])
    n = actions.shape[0]

    @jax.jit
    def run(key):
        _, state = jax.vmap(env.reset, (0, None))(jax.random.split(key, n), params)

        def period(state, k):
            out = env.step_many(k, state, actions, params)
            return out[1], out

        return jax.lax.scan(period, state, jax.random.split(key, env.horizon + 1))[1]

    for leaf in jax.tree.leaves(run(jax.random.key(0))):
        assert np.isfinite(np.asarray(leaf, np.float64)).all()
    one = env.step(jax.random.key(1), env.reset(jax.random.key(1), params)[1], actions[0], params)
    for leaf in jax.tree.leaves(one):
        assert np.isfinite(np.asarray(leaf, np.float64)).all()


# -- the batched step ----------------------------------------------------------------------------


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_step_many_equals_transition_given_its_demand(env_id: str) -> None:
    """``step_many`` == ``vmap(transition)`` fed the demand ``draw_demand`` gives for the batch's
    one key, plus auto-reset; the states are those of the random run (all periods, some at the
    horizon)."""
    env, params = smoke(env_id)
    _, pre, _ = random_run(env_id)
    states = jax.tree.map(lambda x: x[:, 1], pre)  # (T, ...) one env's states at every period
    n = int(states.time.shape[0])
    rng = np.random.default_rng(4)
    actions = jnp.asarray(
        rng.uniform(-2.0, 1.5, (n, *env.action_space(params).shape)) * max_action(env_id),
        jnp.float32,
    )
    obs0, _ = env.reset(None, params)

    @jax.jit
    def check(key):
        out = env.step_many(key, states, actions, params)
        demand = env.draw_demand(key, states, params, (n,))
        ref = jax.vmap(env.transition, (0, 0, 0, None))(demand, states, actions, params)
        return out, demand, ref

    (obs, new, reward, terminated, truncated, info), demand, ref = check(jax.random.key(1))
    ref_obs, ref_state, ref_reward, ref_terminated, ref_info = ref
    assert demand.shape == (n,)
    # The same numbers up to the last bit of a division XLA may fuse differently in the two
    # paths (the "full" observations' fraction of periods left); everything else exactly.
    np.testing.assert_allclose(info["final_observation"], ref_obs, rtol=2e-7, atol=0)
    np.testing.assert_array_equal(reward, ref_reward)
    np.testing.assert_array_equal(terminated, ref_terminated)
    ref_truncated = (
        np.zeros(n, bool) if env.never_truncates else np.asarray(states.time) + 1 >= env.horizon
    )
    np.testing.assert_array_equal(truncated, ref_truncated)
    for key, value in ref_info.items():
        np.testing.assert_array_equal(info[key], value, err_msg=key)
    done = np.asarray(terminated) | np.asarray(truncated)
    assert done.any() and not done.all()
    chex.assert_trees_all_equal(
        jax.tree.map(lambda x: x[~done], new), jax.tree.map(lambda x: x[~done], ref_state)
    )
    np.testing.assert_allclose(
        np.asarray(obs)[done], np.broadcast_to(obs0, obs[done].shape), rtol=2e-7, atol=0
    )
    np.testing.assert_array_equal(np.asarray(new.time)[done], 0)
    # One key for the batch, yet each env draws its own demand; another key, other draws.
    assert len(np.unique(np.asarray(demand))) > 1
    other = check(jax.random.key(2))[1]
    assert (np.asarray(other) != np.asarray(demand)).any()


# -- gymnax interop --------------------------------------------------------------------------------


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_gymnax_make_builds_the_same_env(env_id: str) -> None:
    env, params = gymnax.make(env_id, **SMOKE[env_id])
    ref_env, ref_params = smoke(env_id)
    assert type(env) is type(ref_env) and env == ref_env
    chex.assert_trees_all_equal(params, ref_params)
    key = jax.random.key(3)
    obs, state = env.reset(key, params)
    chex.assert_trees_all_equal((obs, state), ref_env.reset(key, ref_params))


@functools.cache
def order_most(env_id: str):
    """A policy ordering the most every period (one object per env: compiles once)."""
    action = jnp.asarray(max_action(env_id))

    def policy(key, obs, state):
        return jnp.broadcast_to(action, (obs.shape[0], *action.shape))

    return policy


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_log_wrapper_runs_through_rollout_and_evaluate(env_id: str) -> None:
    """A gymnax wrapper is not an InventoryEnv: jaxinv steps it with vmap(step) and a key per
    env, and it gives the same numbers as the unwrapped env stepped that way."""
    env, params = smoke(env_id)
    wrapped = LogWrapper(env)
    actions = random_actions(env_id)

    @functools.partial(jax.jit, static_argnames=("env",))
    def run(env, key):  # the key schedule of _run
        reset_key, step_key = jax.random.split(key)
        step = rollout.make_step(env, params, BATCH)
        batch = rollout.reset(env, params, reset_key, BATCH)

        def period(batch, inputs):
            k, action = inputs
            batch, reward, *_, ended = rollout.advance(step, batch, k, action)
            return batch, (reward, ended.return_sum)

        keys = jax.random.split(step_key, actions.shape[0])
        return jax.lax.scan(period, batch, (keys, actions))

    batch, (reward, ended) = run(wrapped, RUN_KEY)
    # The same numbers as the unwrapped env stepped as the fallback steps it (vmap(step),
    # a key per env), and the wrapper logged the episodes rollout counted.
    np.testing.assert_array_equal(reward, random_run(env_id)[2][2])
    last_end = EPISODES * env.horizon - 1
    np.testing.assert_allclose(
        batch.state.returned_episode_returns.sum(), ended[last_end], rtol=1e-6
    )

    policy = order_most(env_id)
    result = evaluate.evaluate(wrapped, policy, params, jax.random.key(6), 8)
    plain = evaluate.evaluate(env, policy, params, jax.random.key(6), 8)
    np.testing.assert_array_equal(result.returns, plain.returns)
    assert result.crn == plain.crn
    assert env_fingerprint(wrapped, params) == env_fingerprint(env, params)
