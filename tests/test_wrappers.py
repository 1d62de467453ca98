"""PureJaxRL-shaped code through ``jaxinv.wrappers.FiveTuple``: the 5-tuple step and ``.n``."""

from __future__ import annotations

import jax
import numpy as np

import jaxinv
from jaxinv.wrappers import FiveTuple

HORIZON = 14


def purejaxrl_rollout(env, params, key, num_envs: int, num_steps: int):
    """A rollout written the way PureJaxRL's ppo.py writes its env loop: vmapped reset, a scan
    whose step unpacks ``obsv, env_state, reward, done, info`` and samples ``0..n-1``."""
    n = env.action_space(params).n
    key, reset_key = jax.random.split(key)
    obsv, env_state = jax.vmap(env.reset, in_axes=(0, None))(
        jax.random.split(reset_key, num_envs), params
    )

    def _env_step(carry, _):
        env_state, obsv, rng = carry
        rng, action_key, step_key = jax.random.split(rng, 3)
        action = jax.random.randint(action_key, (num_envs,), 0, n)
        obsv, env_state, reward, done, info = jax.vmap(env.step, in_axes=(0, 0, 0, None))(
            jax.random.split(step_key, num_envs), env_state, action, params
        )
        return (env_state, obsv, rng), (action, reward, done, info)

    _, out = jax.lax.scan(_env_step, (env_state, obsv, key), None, num_steps)
    return out


def test_a_purejaxrl_loop_runs_on_the_adapter_as_on_the_env():
    env, params = jaxinv.make("RetailStore-v0", horizon=HORIZON)
    wrapped = FiveTuple(env)
    assert wrapped.action_space(params).n == 21  # orders 0..20 cases
    actions, rewards, done, info = jax.jit(
        lambda k: purejaxrl_rollout(wrapped, params, k, 4, 3 * HORIZON)
    )(jax.random.key(0))
    # Episodes end at the horizon, as terminations, and the adapter's done says so.
    ends = np.flatnonzero(np.asarray(done)[:, 0]) + 1
    np.testing.assert_array_equal(ends, [HORIZON, 2 * HORIZON, 3 * HORIZON])
    np.testing.assert_array_equal(np.asarray(done), np.asarray(info["terminated"]))
    assert not np.asarray(info["truncated"]).any()
    assert np.isfinite(np.asarray(rewards)).all()
    assert int(np.asarray(actions).min()) >= 0 and int(np.asarray(actions).max()) <= 20


def test_the_adapter_reproduces_the_env_reward_on_a_demand_trace():
    trace = [3, 0, 7, 2, 9, 4, 1, 5, 8, 6, 2, 3, 7, 4]
    env, params = jaxinv.make("RetailStore-v0", horizon=HORIZON, demand="trace", trace=trace)
    wrapped = FiveTuple(env)
    actions, rewards, _, _ = jax.jit(lambda k: purejaxrl_rollout(wrapped, params, k, 3, HORIZON))(
        jax.random.key(5)
    )
    state = jax.vmap(env.reset, (0, None))(jax.random.split(jax.random.key(0), 3), params)[1]
    own = []
    for t in range(HORIZON):
        _, state, reward, *_ = jax.vmap(env.step, (0, 0, 0, None))(
            jax.random.split(jax.random.key(t), 3), state, actions[t], params
        )
        own.append(np.asarray(reward))
    np.testing.assert_allclose(np.asarray(rewards), np.stack(own), rtol=1e-6)
