"""Proximal Policy Optimisation (clipped surrogate) for order-quantity policies.

Each update: every one of ``num_envs`` envs steps ``num_steps`` periods under the current
policy; GAE(gamma, lambda) advantages; then ``update_epochs`` passes over the batch in
``num_minibatches`` shuffled minibatches, each a gradient step on the clipped surrogate plus
``vf_coef`` x value loss minus ``ent_coef`` x entropy, with per-minibatch advantage
normalisation, global-norm gradient clipping and a linearly annealed learning rate.

``make_learner(config, env, env_params)`` gives the run as pure pieces (``agents.base``);
``make_train(config, env, env_params)(key)`` is the whole run in one call.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from jaxinv.agents import actor_critic as ac
from jaxinv.agents import base, networks, rollout

ALGO = "ppo"


@struct.dataclass
class PPOConfig:
    """PPO settings. Leaves (floats) are traced and ``vmap``-able; static fields set shapes.

    Env families may override these (``Family.tuned``); why each default is what it is:
    docs/tuning.md.
    """

    lr: float = 1e-3
    gamma: float = 1.0
    gae_lambda: float = 0.95
    clip_eps: float = 0.2
    ent_coef: float = 0.0
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    total_steps: int = struct.field(pytree_node=False, default=6_000_000)
    num_envs: int = struct.field(pytree_node=False, default=200)
    num_steps: int = struct.field(pytree_node=False, default=30)
    num_minibatches: int = struct.field(pytree_node=False, default=4)
    update_epochs: int = struct.field(pytree_node=False, default=4)
    hidden: tuple[int, ...] = struct.field(pytree_node=False, default=(64, 64))
    head: str = struct.field(pytree_node=False, default="categorical")
    activation: str = struct.field(pytree_node=False, default="tanh")
    normalize_obs: bool = struct.field(pytree_node=False, default=True)
    normalize_reward: bool = struct.field(pytree_node=False, default=True)
    anneal_lr: bool = struct.field(pytree_node=False, default=True)
    clip_value: bool = struct.field(pytree_node=False, default=False)


LIMITS: base.Limits = {
    "lr": (0.0, 1.0),
    "gamma": (0.0, 1.0),
    "gae_lambda": (0.0, 1.0),
    "clip_eps": (0.0, 10.0),
    "ent_coef": (0.0, 10.0),
    "vf_coef": (0.0, 100.0),
    "max_grad_norm": (1e-8, 1e6),
    "total_steps": (1, 1e12),
    "num_envs": (1, 1e7),
    "num_steps": (1, 1e5),
    "num_minibatches": (1, 1e5),
    "update_epochs": (1, 1000),
}


def make_config(**overrides: Any) -> PPOConfig:
    """The default config with ``overrides``, each checked (``ValueError`` names the key)."""
    config = base.with_overrides(PPOConfig(), overrides, LIMITS, ALGO)
    base.check_choice(ALGO, "head", config.head, networks.HEADS)
    base.check_choice(ALGO, "activation", config.activation, tuple(networks.ACTIVATIONS))
    if (config.num_envs * config.num_steps) % config.num_minibatches:
        raise ValueError(
            f"{ALGO}: num_envs * num_steps = {config.num_envs * config.num_steps} must be "
            f"divisible by num_minibatches={config.num_minibatches}"
        )
    return config


def make_learner(config: PPOConfig, env, env_params) -> base.Learner:
    """PPO on ``env`` as ``agents.base.Learner``; see the module doc."""
    spec = networks.ActionSpec.from_space(env.action_space(env_params))
    net = ac.network(config, spec)
    steps_per_update = config.num_envs * config.num_steps
    num_updates = max(config.total_steps // steps_per_update, 1)
    grad_steps = num_updates * config.update_epochs * config.num_minibatches
    tx = ac.optimizer(config, grad_steps)
    step = rollout.make_step(env, env_params, config.num_envs)
    bootstrap_truncation = rollout.env_can_truncate(env)

    def loss(params, traj: rollout.Transition, advantages, targets):
        head_out, value = net.apply(params, traj.obs)
        log_prob, entropy = networks.log_prob_entropy(config.head, head_out, traj.raw_action)
        log_ratio = log_prob - traj.log_prob
        ratio = jnp.exp(log_ratio)
        adv = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
        clipped = jnp.clip(ratio, 1.0 - config.clip_eps, 1.0 + config.clip_eps)
        policy_loss = -jnp.mean(jnp.minimum(ratio * adv, clipped * adv))
        value_loss = jnp.square(value - targets)
        if config.clip_value:
            value_clipped = traj.value + jnp.clip(
                value - traj.value, -config.clip_eps, config.clip_eps
            )
            value_loss = jnp.maximum(value_loss, jnp.square(value_clipped - targets))
        value_loss = 0.5 * value_loss.mean()
        entropy = entropy.mean()
        total = policy_loss + config.vf_coef * value_loss - config.ent_coef * entropy
        stats = {
            "policy_loss": policy_loss,
            "value_loss": value_loss,
            "entropy": entropy,
            "approx_kl": jnp.mean((ratio - 1.0) - log_ratio),
            "clip_frac": jnp.mean(jnp.abs(ratio - 1.0) > config.clip_eps),
        }
        return total, stats

    def minibatch_step(carry, minibatch):
        params, opt_state = carry
        grads, stats = jax.grad(loss, has_aux=True)(params, *minibatch)
        updates, opt_state = tx.update(grads, opt_state, params)
        params = jax.tree.map(lambda p, u: p + u, params, updates)
        return (params, opt_state), stats

    def update(state: ac.ACState) -> tuple[ac.ACState, dict[str, jax.Array]]:
        state, traj, advantages, targets, ended = ac.collect_with_advantages(
            config, net, spec, step, bootstrap_truncation, state
        )
        flat = jax.tree.map(
            lambda x: x.reshape((steps_per_update, *x.shape[2:])), (traj, advantages, targets)
        )

        def epoch(carry, key):
            order = jax.random.permutation(key, steps_per_update)
            minibatches = jax.tree.map(
                lambda x: x[order].reshape((config.num_minibatches, -1, *x.shape[1:])), flat
            )
            return jax.lax.scan(minibatch_step, carry, minibatches)

        key, epoch_key = jax.random.split(state.key)
        (params, opt_state), stats = jax.lax.scan(
            epoch,
            (state.agent.net, state.opt_state),
            jax.random.split(epoch_key, config.update_epochs),
        )
        metrics = {name: value.mean() for name, value in stats.items()}
        metrics["episode_return"] = ended.mean()
        metrics["episodes"] = ended.count
        metrics["explained_variance"] = ac.explained_variance(traj.value, targets)
        state = state.replace(
            agent=state.agent.replace(net=params),
            opt_state=opt_state,
            key=key,
            update=state.update + 1,
        )
        return state, metrics

    return base.Learner(
        init=lambda key: ac.init(config, env, env_params, net, tx, key),
        update=update,
        policy=lambda agent, greedy: ac.policy(config, net, spec, agent, greedy),
        agent=lambda state: state.agent,
        value=lambda agent, obs: ac.value(config, net, agent, obs),
        num_updates=num_updates,
        steps_per_update=steps_per_update,
    )


def make_train(config: PPOConfig, env, env_params):
    """``train(key) -> (final ACState, metrics (num_updates,))``: the whole run, jittable."""
    return base.train_fn(make_learner(config, env, env_params))
