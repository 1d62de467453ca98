"""Probe environments with known values and best actions, for checking learners.

Each isolates one thing a learner must get right (after Andy Jones' debugging probes):
value of a constant reward, values that depend on the observation, the best action,
discounting over two steps, bootstrapping through a truncation but not a termination, values
in normalised units, and per-stage bootstrapping of several order heads.
All are gymnax environments with a ``Discrete`` or jaxinv ``MultiDiscrete`` action space.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.environments import environment, spaces

from jaxinv.envs.spaces import MultiDiscrete


@struct.dataclass
class ProbeState:
    obs: jax.Array  # (1,) float32
    time: jax.Array  # () int32


@struct.dataclass
class ProbeParams:
    max_steps_in_episode: int = 1_000_000


class _Probe(environment.Environment):
    """One-dimensional observation; subclasses say what happens."""

    episode_length = 1
    never_truncates = True

    @property
    def default_params(self) -> ProbeParams:
        return ProbeParams()

    def first_obs(self, key: jax.Array) -> jax.Array:
        return jnp.zeros((1,), jnp.float32)

    def reset_env(self, key, params):
        obs = self.first_obs(key)
        return obs, ProbeState(obs, jnp.zeros((), jnp.int32))

    def reward(self, state: ProbeState, action: jax.Array) -> jax.Array:
        raise NotImplementedError

    def step_env(self, key, state, action, params):
        reward = self.reward(state, action)
        time = state.time + 1
        obs = jnp.full((1,), time, jnp.float32)
        terminated = time >= self.episode_length
        state = ProbeState(obs, time)
        return obs, state, reward.astype(jnp.float32), terminated, {}

    def get_obs(self, state, params=None, key=None):
        return state.obs

    def action_space(self, params=None):
        return spaces.Discrete(2)

    def observation_space(self, params=None):
        return spaces.Box(-1.0, 10.0, (1,), jnp.float32)


class ConstantReward(_Probe):
    """One step, reward 1 whatever happens: V = 1."""

    def reward(self, state, action):
        return jnp.ones(())


class ObservationReward(_Probe):
    """One step from obs +1 or -1 (a fair coin); reward = obs: V(obs) = obs."""

    def first_obs(self, key):
        return jnp.where(jax.random.bernoulli(key), 1.0, -1.0)[None].astype(jnp.float32)

    def reward(self, state, action):
        return state.obs[0]


class ActionReward(_Probe):
    """One step, two stages with 3 and 4 quantities: reward [a0 == 2] + [a1 == 1]; V* = 2."""

    def reward(self, state, action):
        return (action[0] == 2).astype(jnp.float32) + (action[1] == 1)

    def action_space(self, params=None):
        return MultiDiscrete([3, 4])


class ScaledObservationReward(_Probe):
    """``ObservationReward`` at inventory scale: one step from obs ``loc - spread`` or
    ``loc + spread`` (a fair coin), reward ``-gain`` or ``+gain`` respectively.

    The observation has mean ``loc`` and variance ``spread**2``; the reward (one step, so also
    the discounted return) has mean 0 and standard deviation ``gain``. With observation and
    reward normalisation V(obs) = +-1 in scaled units; without, +-gain.
    """

    def __init__(self, loc: float = 50.0, spread: float = 10.0, gain: float = 4.0) -> None:
        super().__init__()
        self.loc, self.spread, self.gain = loc, spread, gain

    def first_obs(self, key):
        sign = jnp.where(jax.random.bernoulli(key), 1.0, -1.0)
        return (self.loc + self.spread * sign)[None].astype(jnp.float32)

    def reward(self, state, action):
        return self.gain * (state.obs[0] - self.loc) / self.spread

    def observation_space(self, params=None):
        lo, hi = self.loc - self.spread, self.loc + self.spread
        return spaces.Box(min(lo, 0.0), max(hi, 10.0), (1,), jnp.float32)


class TwoStep(_Probe):
    """Obs 0 then obs 1; reward 1 only on the second step: V(0) = gamma, V(1) = 1."""

    episode_length = 2

    def reward(self, state, action):
        return (state.time == 1).astype(jnp.float32)


class TwoStepOrders(_Probe):
    """Obs 0 then obs 1; two stages with 3 and 4 quantities; reward [a0 == 2] + [a1 == 1] only
    on the second step: V*(1) = 2, V*(0) = 2 gamma (every head must bootstrap its next value)."""

    episode_length = 2

    def reward(self, state, action):
        hit = (action[0] == 2).astype(jnp.float32) + (action[1] == 1)
        return jnp.where(state.time == 1, hit, 0.0)

    def action_space(self, params=None):
        return MultiDiscrete([3, 4])


class Continuing(_Probe):
    """Reward 1 every step, the same observation always; episodes cut after 5 steps.

    ``truncate=True``: the cut is a time limit, so V = 1 / (1 - gamma) (bootstrapped).
    ``truncate=False``: the cut is a real end; with the time unobserved, V is the mean of
    (1 - gamma^k) / (1 - gamma) over the 5 positions k = 5..1.
    """

    episode_length = 5

    def __init__(self, truncate: bool) -> None:
        super().__init__()
        self.truncate = truncate
        self.never_truncates = not truncate

    def reward(self, state, action):
        return jnp.ones(())

    def step_env(self, key, state, action, params):
        time = state.time + 1
        state = ProbeState(state.obs, time)
        ended = time >= self.episode_length
        terminated = jnp.logical_and(ended, not self.truncate)
        return state.obs, state, jnp.ones((), jnp.float32), terminated, {}

    def is_truncated(self, state, params):
        return jnp.logical_and(state.time >= self.episode_length, self.truncate)
