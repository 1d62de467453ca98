"""Advantage actor-critic: the synchronous, deterministic equivalent of A3C.

A3C runs many actors that each send asynchronous gradients; here ``num_envs`` envs step in
lockstep for ``num_steps`` periods (an n-step rollout), and the whole batch makes ONE gradient
step on the policy-gradient loss plus ``vf_coef`` x value loss minus ``ent_coef`` x entropy.
Advantages are GAE(gamma, lambda); ``gae_lambda = 1`` gives the classic n-step returns
bootstrapped from the value at the cut. Same seed, same run.

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

ALGO = "a2c"
OPTIMIZERS = ("rmsprop", "adam")


@struct.dataclass
class A2CConfig:
    """A2C settings. Leaves (floats) are traced and ``vmap``-able; static fields set shapes.

    Env families may override these (``Family.tuned``); why each default is what it is:
    docs/tuning.md.
    """

    lr: float = 1e-3
    gamma: float = 1.0
    gae_lambda: float = 0.95
    ent_coef: float = 0.0
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    total_steps: int = struct.field(pytree_node=False, default=6_000_000)
    num_envs: int = struct.field(pytree_node=False, default=50)
    num_steps: int = struct.field(pytree_node=False, default=30)
    hidden: tuple[int, ...] = struct.field(pytree_node=False, default=(128, 128))
    head: str = struct.field(pytree_node=False, default="categorical")
    activation: str = struct.field(pytree_node=False, default="tanh")
    optimizer: str = struct.field(pytree_node=False, default="adam")
    normalize_obs: bool = struct.field(pytree_node=False, default=True)
    normalize_reward: bool = struct.field(pytree_node=False, default=True)
    normalize_advantage: bool = struct.field(pytree_node=False, default=True)
    anneal_lr: bool = struct.field(pytree_node=False, default=True)


LIMITS: base.Limits = {
    "lr": (0.0, 1.0),
    "gamma": (0.0, 1.0),
    "gae_lambda": (0.0, 1.0),
    "ent_coef": (0.0, 10.0),
    "vf_coef": (0.0, 100.0),
    "max_grad_norm": (1e-8, 1e6),
    "total_steps": (1, 1e12),
    "num_envs": (1, 1e7),
    "num_steps": (1, 1e5),
}


def make_config(**overrides: Any) -> A2CConfig:
    """The default config with ``overrides``, each checked (``ValueError`` names the key)."""
    config = base.with_overrides(A2CConfig(), overrides, LIMITS, ALGO)
    base.check_choice(ALGO, "head", config.head, networks.HEADS)
    base.check_choice(ALGO, "activation", config.activation, tuple(networks.ACTIVATIONS))
    base.check_choice(ALGO, "optimizer", config.optimizer, OPTIMIZERS)
    return config


def make_learner(config: A2CConfig, env, env_params) -> base.Learner:
    """A2C on ``env`` as ``agents.base.Learner``; see the module doc."""
    spec = networks.ActionSpec.from_space(env.action_space(env_params))
    net = ac.network(config, spec)
    steps_per_update = config.num_envs * config.num_steps
    num_updates = max(config.total_steps // steps_per_update, 1)
    tx = ac.optimizer(config, num_updates, "adam" if config.optimizer == "adam" else "rmsprop")
    step = rollout.make_step(env, env_params, config.num_envs)
    bootstrap_truncation = rollout.env_can_truncate(env)

    def loss(params, traj: rollout.Transition, advantages, targets):
        head_out, value = net.apply(params, traj.obs)
        log_prob, entropy = networks.log_prob_entropy(config.head, head_out, traj.raw_action)
        adv = advantages
        if config.normalize_advantage:
            adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        policy_loss = -jnp.mean(jax.lax.stop_gradient(adv) * log_prob)
        value_loss = 0.5 * jnp.mean(jnp.square(value - targets))
        entropy = entropy.mean()
        total = policy_loss + config.vf_coef * value_loss - config.ent_coef * entropy
        return total, {"policy_loss": policy_loss, "value_loss": value_loss, "entropy": entropy}

    def update(state: ac.ACState) -> tuple[ac.ACState, dict[str, jax.Array]]:
        state, traj, advantages, targets, ended = ac.collect_with_advantages(
            config, net, spec, step, bootstrap_truncation, state
        )
        grads, metrics = jax.grad(loss, has_aux=True)(state.agent.net, traj, advantages, targets)
        updates, opt_state = tx.update(grads, state.opt_state, state.agent.net)
        params = jax.tree.map(lambda p, u: p + u, state.agent.net, updates)
        metrics["episode_return"] = ended.mean()
        metrics["episodes"] = ended.count
        metrics["explained_variance"] = ac.explained_variance(traj.value, targets)
        state = state.replace(
            agent=state.agent.replace(net=params), opt_state=opt_state, update=state.update + 1
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


def make_train(config: A2CConfig, env, env_params):
    """``train(key) -> (final ACState, metrics (num_updates,))``: the whole run, jittable."""
    return base.train_fn(make_learner(config, env, env_params))
