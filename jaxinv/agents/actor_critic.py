"""The actor-critic machinery PPO and A2C share: state, optimiser, rollout with advantages,
and the learned policy as a jaxinv policy.

Both algorithms' configs carry the fields read here: ``num_envs``, ``num_steps``, ``hidden``,
``head``, ``activation``, ``normalize_obs``, ``normalize_reward``, ``anneal_lr`` (static) and
``lr``, ``gamma``, ``gae_lambda``, ``max_grad_norm`` (traced).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import struct

from jaxinv.agents import networks, rollout
from jaxinv.agents import normalize as norm


@struct.dataclass
class AgentParams:
    """What the learned policy needs: network weights and the observation statistics."""

    net: Any
    obs_stats: norm.RunningStats


@struct.dataclass
class ACState:
    """The whole training state between updates."""

    agent: AgentParams
    opt_state: Any
    reward_stats: norm.RunningStats
    batch: rollout.EnvBatch
    discounted: jax.Array  # (num_envs,) running discounted return, for the reward scale
    key: jax.Array
    update: jax.Array  # () int32 updates done


def network(config: Any, spec: networks.ActionSpec) -> networks.ActorCritic:
    return networks.ActorCritic(spec, config.hidden, config.head, config.activation)


def optimizer(
    config: Any, total_grad_steps: int, kind: str = "adam"
) -> optax.GradientTransformation:
    """Gradient clipping, then Adam or RMSprop with a linearly annealed (or constant) rate."""
    lr = config.lr
    if config.anneal_lr:

        def rate(count: jax.Array) -> jax.Array:
            return lr * jnp.maximum(1.0 - count / total_grad_steps, 0.0)
    else:

        def rate(count: jax.Array) -> jax.Array:
            return lr * jnp.ones_like(count, jnp.float32)

    base = (
        optax.adam(rate, eps=1e-5) if kind == "adam" else optax.rmsprop(rate, decay=0.99, eps=1e-5)
    )
    return optax.chain(optax.clip_by_global_norm(config.max_grad_norm), base)


def init(
    config: Any,
    env,
    env_params,
    net: networks.ActorCritic,
    tx: optax.GradientTransformation,
    key: jax.Array,
) -> ACState:
    """Fresh networks, optimiser, normalisers and ``num_envs`` envs at their first period."""
    net_key, env_key, key = jax.random.split(key, 3)
    batch = rollout.reset(env, env_params, env_key, config.num_envs)
    params = net.init(net_key, batch.obs[:1])
    obs_stats = norm.RunningStats.create(batch.obs.shape[1:])
    return ACState(
        agent=AgentParams(params, obs_stats),
        opt_state=tx.init(params),
        reward_stats=norm.RunningStats.create(),
        batch=batch,
        discounted=jnp.zeros((config.num_envs,), jnp.float32),
        key=key,
        update=jnp.zeros((), jnp.int32),
    )


def collect_with_advantages(
    config: Any,
    net: networks.ActorCritic,
    spec: networks.ActionSpec,
    step: rollout.StepFn,
    bootstrap_truncation: bool,
    state: ACState,
) -> tuple[ACState, rollout.Transition, jax.Array, jax.Array, rollout.EpisodeStats]:
    """One rollout of ``num_steps`` periods, its GAE advantages and value targets ``(T, N)``,
    and the state with env, key and normalisers moved on."""
    key, rollout_key = jax.random.split(state.key)

    def apply(obs: jax.Array) -> tuple[jax.Array, jax.Array]:
        return net.apply(state.agent.net, obs)

    obs_stats = state.agent.obs_stats if config.normalize_obs else None
    reward_stats = state.reward_stats if config.normalize_reward else None
    batch, discounted, traj, (raw_obs, returns), ended = rollout.collect(
        apply,
        config.head,
        spec,
        step,
        state.batch,
        obs_stats,
        reward_stats,
        state.discounted,
        rollout_key,
        config.num_steps,
        config.gamma,
        bootstrap_truncation,
    )
    last_obs = batch.obs if obs_stats is None else norm.standardise(obs_stats, batch.obs)
    _, last_value = apply(last_obs)
    advantages, targets = rollout.gae(traj, last_value, config.gamma, config.gae_lambda)
    agent = state.agent.replace(obs_stats=norm.update(state.agent.obs_stats, raw_obs))
    state = state.replace(
        agent=agent,
        reward_stats=norm.update(state.reward_stats, returns),
        batch=batch,
        discounted=discounted,
        key=key,
    )
    return state, traj, advantages, targets, ended


def policy(
    config: Any,
    net: networks.ActorCritic,
    spec: networks.ActionSpec,
    agent: AgentParams,
    greedy: bool,
):
    """The learned policy ``(key, obs (N, D), env_state) -> env action``: the most likely
    order quantities (``greedy``) or a sample."""

    def act(key: jax.Array, obs: jax.Array, env_state: Any = None) -> jax.Array:
        del env_state
        if config.normalize_obs:
            obs = norm.standardise(agent.obs_stats, obs)
        head_out, _ = net.apply(agent.net, obs)
        if greedy:
            raw = networks.greedy(config.head, head_out)
        else:
            raw, _ = networks.sample(config.head, head_out, key)
        return spec.to_env(networks.to_quantity(config.head, spec, raw))

    return act


def value(config: Any, net: networks.ActorCritic, agent: AgentParams, obs: jax.Array) -> jax.Array:
    """The critic's value of raw observations ``(N, D) -> (N,)``, in the learner's reward
    units (divided by the reward scale when ``normalize_reward``)."""
    if config.normalize_obs:
        obs = norm.standardise(agent.obs_stats, obs)
    return net.apply(agent.net, obs)[1]


def explained_variance(values: jax.Array, targets: jax.Array) -> jax.Array:
    """1 - Var(targets - values) / Var(targets); 0 when the targets do not vary."""
    var = jnp.var(targets)
    return jnp.where(var > 0, 1.0 - jnp.var(targets - values) / jnp.maximum(var, 1e-12), 0.0)
