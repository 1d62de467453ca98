"""Trajectory collection and advantage estimation, shared by the learners.

``EnvBatch`` is ``num_envs`` environments stepping in lockstep (the env's ``step_many`` when it
has one, else ``vmap(env.step)`` with a key per env), with each env's running episode return.
``collect`` scans an actor-critic over ``num_steps`` periods and returns a ``Transition`` of
shape ``(num_steps, num_envs, ...)``. ``gae`` computes generalised advantage estimates; with
``lam = 1`` they are n-step returns bootstrapped from the last value.

Episode ends: a termination (the planning horizon, a real end) is never bootstrapped; a
truncation (a time limit that is not part of the problem) bootstraps from the value of the
final observation, which ``collect`` computes only for envs that can truncate.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from jaxinv.agents import networks
from jaxinv.agents import normalize as norm
from jaxinv.envs.base import batched_step

StepFn = Callable[[jax.Array, Any, jax.Array], tuple]


@struct.dataclass
class EnvBatch:
    """``num_envs`` environments between periods."""

    state: Any  # the env's EnvState with a leading (num_envs,) axis
    obs: jax.Array  # (num_envs, obs_size) raw observations
    episode_return: jax.Array  # (num_envs,) env reward summed since the episode began


@struct.dataclass
class Transition:
    """One period of ``num_envs`` envs (``scan`` stacks a leading time axis)."""

    obs: jax.Array  # (N, obs_size) the network's (standardised) input
    raw_action: jax.Array  # (N, M) float32, see networks
    log_prob: jax.Array  # (N,)
    value: jax.Array  # (N,)
    reward: jax.Array  # (N,) the reward the learner sees (scaled)
    done: jax.Array  # (N,) bool, terminated or truncated
    bootstrap: jax.Array  # (N,) value of the final observation where truncated, else 0


@struct.dataclass
class EpisodeStats:
    """Episodes that ended during a rollout: their summed env reward and how many."""

    return_sum: jax.Array  # () float32
    count: jax.Array  # () int32

    def mean(self) -> jax.Array:
        """Mean return of the episodes that ended (NaN-free: 0 when none ended)."""
        return self.return_sum / jnp.maximum(self.count, 1)


def env_can_truncate(env) -> bool:
    """False for envs whose episodes only end at a real horizon (jaxinv's inventory envs)."""
    return not getattr(env, "never_truncates", False)


def make_step(env, env_params, num_envs: int) -> StepFn:
    """``(key, state, action) -> env.step outputs`` for a batch sharing ``env_params``.

    A jaxinv ``InventoryEnv`` steps with its one-key ``step_many``; any other env, a gymnax
    wrapper around one included (its state is the wrapper's), with ``vmap(env.step)`` and a key
    per env.
    """
    step_many = batched_step(env)
    if step_many is not None:
        return lambda key, state, action: step_many(key, state, action, env_params)
    vstep = jax.vmap(env.step, (0, 0, 0, None))
    return lambda key, state, action: vstep(
        jax.random.split(key, num_envs), state, action, env_params
    )


def reset(env, env_params, key: jax.Array, num_envs: int) -> EnvBatch:
    """``num_envs`` fresh episodes."""
    obs, state = jax.vmap(env.reset, (0, None))(jax.random.split(key, num_envs), env_params)
    return EnvBatch(state, obs, jnp.zeros((num_envs,), jnp.float32))


def advance(
    step: StepFn, batch: EnvBatch, key: jax.Array, env_action: jax.Array
) -> tuple[EnvBatch, jax.Array, jax.Array, jax.Array, dict, EpisodeStats]:
    """One period: ``(batch, reward, terminated, truncated, info, ended-episode stats)``."""
    obs, state, reward, terminated, truncated, info = step(key, batch.state, env_action)
    done = terminated | truncated
    running = batch.episode_return + reward
    ended = EpisodeStats(jnp.sum(jnp.where(done, running, 0.0)), jnp.sum(done, dtype=jnp.int32))
    batch = EnvBatch(state, obs, jnp.where(done, 0.0, running))
    return batch, reward, terminated, truncated, info, ended


def collect(
    apply: Callable[[jax.Array], tuple[jax.Array, jax.Array]],
    head: str,
    spec: networks.ActionSpec,
    step: StepFn,
    batch: EnvBatch,
    obs_stats: norm.RunningStats | None,
    reward_stats: norm.RunningStats | None,
    discounted: jax.Array,
    key: jax.Array,
    num_steps: int,
    gamma: jax.Array,
    bootstrap_truncation: bool,
) -> tuple[EnvBatch, jax.Array, Transition, tuple[jax.Array, jax.Array], EpisodeStats]:
    """Roll the actor-critic ``apply(obs) -> (head_out, value)`` for ``num_steps`` periods.

    Observations are standardised with ``obs_stats`` and rewards scaled with ``reward_stats``
    as they stand at the start (either may be None: no normalisation). ``discounted`` (N,) is
    each env's running discounted return, which feeds the reward scale.
    Returns ``(batch, discounted, transitions (T, N, ...), (raw observations (T, N, D),
    discounted returns (T, N)), episode stats)``; the caller merges the last two into the
    normalisation stats.
    """

    def prepare(obs: jax.Array) -> jax.Array:
        return obs if obs_stats is None else norm.standardise(obs_stats, obs)

    def period(carry, step_key):
        batch, discounted, ended = carry
        act_key, env_key = jax.random.split(step_key)
        net_obs = prepare(batch.obs)
        head_out, value = apply(net_obs)
        raw, log_prob = networks.sample(head, head_out, act_key)
        env_action = spec.to_env(networks.to_quantity(head, spec, raw))
        raw_obs = batch.obs
        batch, reward, terminated, truncated, info, now_ended = advance(
            step, batch, env_key, env_action
        )
        done = terminated | truncated
        discounted = discounted * gamma + reward
        learn_reward = reward if reward_stats is None else norm.scale(reward_stats, reward)
        if bootstrap_truncation:
            _, final_value = apply(prepare(info["final_observation"]))
            bootstrap = jnp.where(truncated, final_value, 0.0)
        else:
            bootstrap = jnp.zeros_like(value)
        transition = Transition(net_obs, raw, log_prob, value, learn_reward, done, bootstrap)
        ended = EpisodeStats(ended.return_sum + now_ended.return_sum, ended.count + now_ended.count)
        carry = (batch, jnp.where(done, 0.0, discounted), ended)
        return carry, (transition, raw_obs, discounted)

    none_ended = EpisodeStats(jnp.zeros((), jnp.float32), jnp.zeros((), jnp.int32))
    (batch, discounted, ended), (traj, raw_obs, returns) = jax.lax.scan(
        period, (batch, discounted, none_ended), jax.random.split(key, num_steps)
    )
    return batch, discounted, traj, (raw_obs, returns), ended


def gae(
    traj: Transition, last_value: jax.Array, gamma: jax.Array, lam: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """Advantages and value targets ``(T, N)`` by GAE(gamma, lambda), scanning backwards.

    After a done step nothing from the next episode leaks back; a truncated step adds
    ``gamma * bootstrap`` (the final observation's value), a terminated one adds nothing.
    ``lam = 1`` gives n-step returns bootstrapped from ``last_value`` (N,) at the cut.
    """

    def back(carry, t: Transition):
        next_adv, next_value = carry
        live = 1.0 - t.done.astype(jnp.float32)
        delta = t.reward + gamma * (live * next_value + t.bootstrap) - t.value
        adv = delta + gamma * lam * live * next_adv
        return (adv, t.value), adv

    init = (jnp.zeros_like(last_value), last_value)
    _, advantages = jax.lax.scan(back, init, traj, reverse=True)
    return advantages, advantages + traj.value
