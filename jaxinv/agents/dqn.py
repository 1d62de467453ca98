"""Deep Q-learning for order quantities: double DQN with a replay buffer and action branching.

The learner estimates, for every stage of a supply chain, the value of ordering each whole
quantity ``0..nvec[i] - 1`` now and acting greedily afterwards. One network (``networks.
BranchingQNetwork``) has a shared torso and one Q head per stage (Tavakoli et al. 2018's action
branching), so a 3-stage chain with 101 x 91 x 81 joint orders needs 273 outputs, not 744,471;
a single store (``Discrete`` action) is the one-stage case, i.e. plain DQN.

Each update:

1. every one of ``num_envs`` envs steps ``num_steps`` periods, ordering epsilon-greedily (with
   probability epsilon the whole order vector is uniform, each stage over its own quantities;
   else the argmax of each stage's head). Epsilon falls linearly from ``eps_start`` to
   ``eps_end`` over the first ``eps_fraction`` of ``total_steps`` env steps, then stays;
2. each period's ``num_envs`` transitions go into a circular replay buffer of ``buffer_size``
   slots (``Replay``; the oldest are overwritten once it is full);
3. once ``learning_starts`` env steps (all envs together) are in, ``gradient_steps`` steps of
   Adam (after global-norm clipping at ``max_grad_norm``; with ``anneal_lr`` the rate falls
   linearly to 0 over the run's gradient steps) on minibatches of ``batch_size``
   transitions drawn uniformly, with replacement, from the filled slots.

Targets. For stage ``i`` of a transition ``(s, a, r, s')``, with ``scale = reward_scale``:

    y_i = scale * r + gamma * (1 - terminated) * Q_target_i(s', argmax_b Q_online_i(s', b))

(double DQN: the online network picks, the target network evaluates; ``double=False`` uses the
target network's own max). ``branch_target="stage"`` (default) bootstraps each head from its own
next-state value, as written; ``"mean"`` replaces the next-state value by its mean over stages,
one shared target for every head (the variant Tavakoli et al. found best on their tasks). The
loss is the Huber (delta 1, in scaled reward units) or half squared TD error averaged over the
batch and the stages (where targets of one state-action scatter wider than the delta, the Huber
fit lies between their mean and their median; ``loss="mse"`` estimates the mean). The target
network follows the online one every ``target_update_every`` gradient steps: ``target <- tau *
online + (1 - tau) * target``; ``tau = 1`` is DQN's periodic hard copy, a small ``tau`` with
``target_update_every = 1`` is a Polyak average.

Episode ends: the buffer stores ``next_obs`` = the observation the env reached before any
auto-reset (gymnax's ``info["final_observation"]``) and a ``terminated`` flag. A termination
(the planning horizon, a real end) never bootstraps; a truncation (a time limit) bootstraps from
that final observation like any other step.

Scaling. Rewards are multiplied by the fixed ``reward_scale`` (profits of tens of dollars a day
become O(0.1-1), Q values O(10)); Q values and ``value`` are in these scaled units. With
``normalize_obs`` the buffer keeps raw observations and every network input (acting, learning,
targets) is standardised with the running statistics as they stand at that moment (updated with
each update's observations), so stored transitions never go stale.

``value(agent, obs)`` is the mean over stages of ``max_a Q_i(s, a)`` (each head's greedy value;
for one stage, plain ``max_a Q(s, a)``), in scaled reward units. Metrics per update:
``episode_return`` (mean return of the episodes that ended in it, 0 if none), ``episodes``,
``loss`` and ``q_mean`` (the Q of the stored actions; both averaged over the update's gradient
steps, 0 before learning starts) and ``epsilon`` (after the update's env steps).

``make_learner(config, env, env_params)`` gives the run as pure pieces (``agents.base``);
``make_train(config, env, env_params)(key)`` is the whole run in one call. Floats in the config
are traced (``vmap`` over them for a sweep); integers, strings and booleans set shapes or code.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import struct

from jaxinv.agents import actor_critic as ac
from jaxinv.agents import base, networks, rollout
from jaxinv.agents import normalize as norm

ALGO = "dqn"
LOSSES = ("huber", "mse")
BRANCH_TARGETS = ("stage", "mean")
MAX_ENV_STEPS = 2**31 - 1  # env steps are counted in int32


@struct.dataclass
class DQNConfig:
    """DQN settings. Leaves (floats) are traced and ``vmap``-able; static fields set shapes.

    Env families may override these (``Family.tuned``); why each default is what it is:
    docs/tuning.md.
    """

    lr: float = 1e-3
    gamma: float = 0.95
    tau: float = 0.01  # 1 = hard copy every target_update_every gradient steps
    eps_start: float = 1.0
    eps_end: float = 0.02
    eps_fraction: float = 0.3  # of total_steps over which epsilon falls
    reward_scale: float = 0.01
    max_grad_norm: float = 10.0
    total_steps: int = struct.field(pytree_node=False, default=1_000_000)
    num_envs: int = struct.field(pytree_node=False, default=16)
    num_steps: int = struct.field(pytree_node=False, default=8)  # periods per env per update
    gradient_steps: int = struct.field(pytree_node=False, default=4)  # per update
    batch_size: int = struct.field(pytree_node=False, default=128)
    buffer_size: int = struct.field(pytree_node=False, default=100_000)
    learning_starts: int = struct.field(pytree_node=False, default=10_000)  # env steps
    target_update_every: int = struct.field(pytree_node=False, default=1)  # gradient steps
    hidden: tuple[int, ...] = struct.field(pytree_node=False, default=(64, 64))
    activation: str = struct.field(pytree_node=False, default="relu")
    dueling: bool = struct.field(pytree_node=False, default=True)
    double: bool = struct.field(pytree_node=False, default=True)
    loss: str = struct.field(pytree_node=False, default="huber")
    branch_target: str = struct.field(pytree_node=False, default="stage")
    normalize_obs: bool = struct.field(pytree_node=False, default=True)
    anneal_lr: bool = struct.field(pytree_node=False, default=False)


LIMITS: base.Limits = {
    "lr": (0.0, 1.0),
    "gamma": (0.0, 1.0),
    "tau": (0.0, 1.0),
    "eps_start": (0.0, 1.0),
    "eps_end": (0.0, 1.0),
    "eps_fraction": (0.0, 1.0),
    "reward_scale": (1e-12, 1e12),
    "max_grad_norm": (1e-8, 1e6),
    "total_steps": (1, MAX_ENV_STEPS // 2),
    "num_envs": (1, 1e7),
    "num_steps": (1, 1e5),
    "gradient_steps": (1, 1e5),
    "batch_size": (1, 1e6),
    "buffer_size": (1, 1e8),
    "learning_starts": (0, MAX_ENV_STEPS // 2),
    "target_update_every": (1, 1e9),
}


def make_config(**overrides: Any) -> DQNConfig:
    """The default config with ``overrides``, each checked (``ValueError`` names the key)."""
    config = base.with_overrides(DQNConfig(), overrides, LIMITS, ALGO)
    base.check_choice(ALGO, "activation", config.activation, tuple(networks.ACTIVATIONS))
    base.check_choice(ALGO, "loss", config.loss, LOSSES)
    base.check_choice(ALGO, "branch_target", config.branch_target, BRANCH_TARGETS)
    if config.buffer_size < config.num_envs:
        raise ValueError(
            f"{ALGO}: config 'buffer_size'={config.buffer_size} must hold at least one period "
            f"of all envs (num_envs={config.num_envs})"
        )
    return config


# -- replay buffer -------------------------------------------------------------------------------


@struct.dataclass
class Experience:
    """Transitions ``(s, a, r, s', terminated)``; leading axis: batch or buffer slots."""

    obs: jax.Array  # (..., D) raw observation
    action: jax.Array  # (..., M) int32 order quantity per stage
    reward: jax.Array  # (...,) env reward (unscaled)
    next_obs: jax.Array  # (..., D) raw observation reached (before any auto-reset)
    terminated: jax.Array  # (...,) bool: a real end, no bootstrap


@struct.dataclass
class Replay:
    """A circular buffer of ``capacity`` transitions, a pure pytree (fixed shapes)."""

    data: Experience  # leaves (capacity, ...)
    position: jax.Array  # () int32 next slot to write
    size: jax.Array  # () int32 slots filled, at most capacity

    @property
    def capacity(self) -> int:
        return self.data.reward.shape[-1]


def replay_init(capacity: int, obs_size: int, num_stages: int) -> Replay:
    """An empty buffer (zeros everywhere, ``size = 0``)."""
    data = Experience(
        obs=jnp.zeros((capacity, obs_size), jnp.float32),
        action=jnp.zeros((capacity, num_stages), jnp.int32),
        reward=jnp.zeros((capacity,), jnp.float32),
        next_obs=jnp.zeros((capacity, obs_size), jnp.float32),
        terminated=jnp.zeros((capacity,), bool),
    )
    return Replay(data, jnp.zeros((), jnp.int32), jnp.zeros((), jnp.int32))


def replay_add(replay: Replay, batch: Experience) -> Replay:
    """Write ``batch`` (leading axis N <= capacity) at the next N slots, wrapping around."""
    n, capacity = batch.reward.shape[0], replay.capacity
    slots = (replay.position + jnp.arange(n)) % capacity  # (N,) distinct since N <= capacity
    data = jax.tree.map(lambda store, new: store.at[slots].set(new), replay.data, batch)
    return Replay(data, (replay.position + n) % capacity, jnp.minimum(replay.size + n, capacity))


def replay_sample(replay: Replay, key: jax.Array, batch_size: int) -> Experience:
    """``batch_size`` transitions drawn uniformly, with replacement, from the filled slots.

    The buffer must hold at least one transition (an empty one returns its zero slot 0).
    """
    index = jax.random.randint(key, (batch_size,), 0, jnp.maximum(replay.size, 1))
    return jax.tree.map(lambda store: store[index], replay.data)


# -- training state ------------------------------------------------------------------------------


@struct.dataclass
class DQNState:
    """The whole training state between updates."""

    agent: ac.AgentParams  # online network weights and observation statistics
    target_net: Any  # target network weights
    opt_state: Any
    replay: Replay
    batch: rollout.EnvBatch
    key: jax.Array
    env_steps: jax.Array  # () int32 env steps so far, all envs together
    grad_steps: jax.Array  # () int32 gradient steps so far
    update: jax.Array  # () int32 updates done


def epsilon(config: DQNConfig, env_steps: jax.Array) -> jax.Array:
    """The exploration rate after ``env_steps`` env steps: linear, then flat at ``eps_end``."""
    span = jnp.maximum(config.eps_fraction * config.total_steps, 1.0)
    done = jnp.clip(env_steps.astype(jnp.float32) / span, 0.0, 1.0)
    return config.eps_start + done * (config.eps_end - config.eps_start)


def epsilon_greedy(
    spec: networks.ActionSpec, q: jax.Array, key: jax.Array, eps: jax.Array
) -> jax.Array:
    """Order quantities ``(N, M)`` int32 from Q values ``(N, M, max_n)``: per env, with
    probability ``eps`` a uniform quantity for every stage, else each stage's argmax."""
    greedy = jnp.argmax(q, axis=-1).astype(jnp.int32)  # padding has a very low Q
    coin_key, random_key = jax.random.split(key)
    nvec = jnp.asarray(spec.nvec, jnp.int32)
    uniform = jax.random.randint(random_key, greedy.shape, 0, nvec)
    explore = jax.random.uniform(coin_key, greedy.shape[:-1]) < eps  # (N,)
    return jnp.where(explore[..., None], uniform, greedy)


def make_learner(config: DQNConfig, env, env_params) -> base.Learner:
    """DQN on ``env`` as ``agents.base.Learner``; see the module doc."""
    spec = networks.ActionSpec.from_space(env.action_space(env_params))
    net = networks.BranchingQNetwork(spec, config.hidden, config.dueling, config.activation)
    steps_per_update = config.num_envs * config.num_steps
    num_updates = max(config.total_steps // steps_per_update, 1)
    first_learning = max(math.ceil(config.learning_starts / steps_per_update), 1)
    learning_updates = max(num_updates - first_learning + 1, 1)
    tx = ac.optimizer(config, learning_updates * config.gradient_steps)  # clip, then Adam
    step = rollout.make_step(env, env_params, config.num_envs)

    def prepare(obs_stats: norm.RunningStats, obs: jax.Array) -> jax.Array:
        return norm.standardise(obs_stats, obs) if config.normalize_obs else obs

    def init(key: jax.Array) -> DQNState:
        net_key, env_key, key = jax.random.split(key, 3)
        batch = rollout.reset(env, env_params, env_key, config.num_envs)
        params = net.init(net_key, batch.obs[:1])
        obs_size = batch.obs.shape[-1]
        return DQNState(
            agent=ac.AgentParams(params, norm.RunningStats.create((obs_size,))),
            target_net=params,
            opt_state=tx.init(params),
            replay=replay_init(config.buffer_size, obs_size, spec.num_stages),
            batch=batch,
            key=key,
            env_steps=jnp.zeros((), jnp.int32),
            grad_steps=jnp.zeros((), jnp.int32),
            update=jnp.zeros((), jnp.int32),
        )

    def collect(state: DQNState, key: jax.Array):
        """``num_steps`` epsilon-greedy periods of every env, each stored in the buffer."""

        def period(carry, step_key):
            batch, replay, env_steps, ended = carry
            act_key, env_key = jax.random.split(step_key)
            q = net.apply(state.agent.net, prepare(state.agent.obs_stats, batch.obs))
            quantity = epsilon_greedy(spec, q, act_key, epsilon(config, env_steps))  # (N, M)
            obs = batch.obs
            batch, reward, terminated, _, info, now_ended = rollout.advance(
                step, batch, env_key, spec.to_env(quantity)
            )
            # A truncated episode bootstraps from the observation it reached, not the reset.
            experience = Experience(obs, quantity, reward, info["final_observation"], terminated)
            ended = rollout.EpisodeStats(
                ended.return_sum + now_ended.return_sum, ended.count + now_ended.count
            )
            carry = (batch, replay_add(replay, experience), env_steps + config.num_envs, ended)
            return carry, obs

        none_ended = rollout.EpisodeStats(jnp.zeros((), jnp.float32), jnp.zeros((), jnp.int32))
        carry = (state.batch, state.replay, state.env_steps, none_ended)
        carry, raw_obs = jax.lax.scan(period, carry, jax.random.split(key, config.num_steps))
        return carry, raw_obs  # raw_obs (T, N, D)

    def td_loss(params, target_params, obs_stats: norm.RunningStats, sample: Experience):
        b = sample.reward.shape[0]
        both = prepare(obs_stats, jnp.concatenate([sample.obs, sample.next_obs]))
        q_both = net.apply(params, both)  # (2B, M, K): one pass for s and s'
        q, q_next_online = q_both[:b], q_both[b:]
        q_taken = jnp.take_along_axis(q, sample.action[..., None], axis=-1)[..., 0]  # (B, M)
        q_next_target = net.apply(target_params, both[b:])  # (B, M, K)
        chooser = q_next_online if config.double else q_next_target
        best = jnp.argmax(chooser, axis=-1)[..., None]  # (B, M, 1)
        next_value = jnp.take_along_axis(q_next_target, best, axis=-1)[..., 0]  # (B, M)
        if config.branch_target == "mean":
            next_value = jnp.mean(next_value, axis=-1, keepdims=True)
        live = 1.0 - sample.terminated.astype(jnp.float32)
        target = (
            config.reward_scale * sample.reward[:, None] + config.gamma * live[:, None] * next_value
        )
        td = q_taken - jax.lax.stop_gradient(target)
        if config.loss == "huber":
            loss = optax.huber_loss(td, delta=1.0).mean()
        else:
            loss = 0.5 * jnp.square(td).mean()
        return loss, q_taken.mean()

    def learn(state: DQNState, replay: Replay, obs_stats: norm.RunningStats, key: jax.Array):
        """``gradient_steps`` steps on minibatches from ``replay``; mean loss and Q taken."""

        def gradient_step(carry, step_key):
            params, target_params, opt_state, grad_steps = carry
            sample = replay_sample(replay, step_key, config.batch_size)
            (loss, q_mean), grads = jax.value_and_grad(td_loss, has_aux=True)(
                params, target_params, obs_stats, sample
            )
            updates, opt_state = tx.update(grads, opt_state, params)
            params = optax.apply_updates(params, updates)
            grad_steps = grad_steps + 1
            follow = grad_steps % config.target_update_every == 0
            target_params = jax.tree.map(
                lambda t, p: jnp.where(follow, config.tau * p + (1.0 - config.tau) * t, t),
                target_params,
                params,
            )
            return (params, target_params, opt_state, grad_steps), (loss, q_mean)

        carry = (state.agent.net, state.target_net, state.opt_state, state.grad_steps)

        def run(carry):
            carry, (loss, q_mean) = jax.lax.scan(
                gradient_step, carry, jax.random.split(key, config.gradient_steps)
            )
            return carry, loss.mean(), q_mean.mean()

        def wait(carry):  # before learning_starts: nothing changes
            return carry, jnp.zeros((), jnp.float32), jnp.zeros((), jnp.float32)

        return jax.lax.cond(state.env_steps >= config.learning_starts, run, wait, carry)

    def update(state: DQNState) -> tuple[DQNState, dict[str, jax.Array]]:
        key, collect_key, learn_key = jax.random.split(state.key, 3)
        (batch, replay, env_steps, ended), raw_obs = collect(state, collect_key)
        obs_stats = state.agent.obs_stats
        if config.normalize_obs:
            obs_stats = norm.update(obs_stats, raw_obs)
        state = state.replace(batch=batch, replay=replay, env_steps=env_steps)
        (params, target_params, opt_state, grad_steps), loss, q_mean = learn(
            state, replay, obs_stats, learn_key
        )
        metrics = {
            "episode_return": ended.mean(),
            "episodes": ended.count,
            "loss": loss,
            "q_mean": q_mean,
            "epsilon": epsilon(config, env_steps),
        }
        state = state.replace(
            agent=ac.AgentParams(params, obs_stats),
            target_net=target_params,
            opt_state=opt_state,
            key=key,
            grad_steps=grad_steps,
            update=state.update + 1,
        )
        return state, metrics

    def policy(agent: ac.AgentParams, greedy: bool):
        """The learned policy ``(key, obs (N, D), env_state) -> env action``: each stage's
        best quantity (``greedy``), else epsilon-greedy at ``eps_end``."""

        def act(key: jax.Array, obs: jax.Array, env_state: Any = None) -> jax.Array:
            del env_state
            q = net.apply(agent.net, prepare(agent.obs_stats, obs))
            if greedy:
                quantity = jnp.argmax(q, axis=-1).astype(jnp.int32)
            else:
                quantity = epsilon_greedy(spec, q, key, config.eps_end)
            return spec.to_env(quantity)

        return act

    def value(agent: ac.AgentParams, obs: jax.Array) -> jax.Array:
        """Mean over stages of ``max_a Q_i(obs, a)`` ``(N, D) -> (N,)``, scaled reward units."""
        q = net.apply(agent.net, prepare(agent.obs_stats, obs))
        return jnp.max(q, axis=-1).mean(-1)

    return base.Learner(
        init=init,
        update=update,
        policy=policy,
        agent=lambda state: state.agent,
        value=value,
        num_updates=num_updates,
        steps_per_update=steps_per_update,
    )


def make_train(config: DQNConfig, env, env_params):
    """``train(key) -> (final DQNState, metrics (num_updates,))``: the whole run, jittable."""
    return base.train_fn(make_learner(config, env, env_params))
