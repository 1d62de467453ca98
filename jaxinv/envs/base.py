"""The gymnax plumbing every jaxinv inventory env shares, written once.

An inventory env is a finite planning horizon of ``horizon`` periods in which each period draws
a demand and then moves deterministically: ``transition(demand, state, action, params)``. The
base class ``InventoryEnv`` owns what follows from that:

- ``step`` (jitted, ``self`` static): gymnax's step with auto-reset. The reset of an inventory
  env is deterministic, so unlike gymnax's base ``step`` the key is not split: the whole key
  draws this period's demand.
- ``step_many``: ``step`` for a batch sharing ``params`` with ONE key for the batch (one draw of
  random bits for all demands), the fast path of jaxinv's own rollouts.
- ``step_env``, ``_auto_reset``, ``is_terminated`` / ``is_truncated`` (gymnax's API has them),
  ``never_truncates``. By default the horizon is a real end (``terminated``) and nothing
  truncates; a family whose problem has no end (``never_truncates = False``) ends its episodes
  by truncation instead: its ``transition`` never terminates and ``step`` truncates where its
  ``is_truncated`` holds (the horizon), so learners bootstrap there.
- gymnax 1.0's transition-gradient hook: stepped observations and states pass through
  ``_apply_transition_gradient_policy`` (a ``stop_gradient`` unless gradients were enabled).
- Equality and hashing by value: the class, every static setting, the transition-gradient flag
  and a fingerprint of the default params. ``jaxinv.make`` twice with the same config gives
  equal envs, so jitted functions taking the env as a static argument compile once.

A family supplies, besides ``reset_env``, ``get_obs`` and the spaces:

- ``draw_demand(key, state, params, batch_shape=())``: the demand of the coming period, units
  (float32) of shape ``batch_shape``. With a non-empty ``batch_shape`` the ``state`` leaves carry
  that leading batch axis and all demands come from one draw.
- ``transition(demand, state, action, params) -> (obs, state, reward, terminated, info)`` for one
  env given its demand (shape ()): deterministic.

``env_fingerprint(env, params)`` names an env's problem and a params pytree as a short string;
``jaxinv.evaluate`` puts it into the common-random-numbers name of each evaluation.
"""

from __future__ import annotations

import hashlib
import math
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from gymnax.environments import environment

FINGERPRINT_CHARS = 16
"""Hex characters of a fingerprint shown in names (64 bits of a SHA-256)."""


def params_digest(tree: Any) -> str:
    """SHA-256 (hex) of a pytree's structure and of every leaf's shape, dtype and bytes.

    Equal for two pytrees exactly when (up to hash collisions) they have the same structure and
    bitwise-equal leaves. Leaves must be concrete (not traced).
    """
    leaves, treedef = jax.tree.flatten(tree)
    digest = hashlib.sha256(str(treedef).encode())
    for leaf in leaves:
        array = np.ascontiguousarray(np.asarray(leaf))
        digest.update(f"{array.shape}|{array.dtype}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def unwrap(env: Any) -> Any:
    """The innermost env under a chain of gymnax wrappers (``wrapper._env``)."""
    while "_env" in getattr(env, "__dict__", {}):
        env = env.__dict__["_env"]
    return env


def env_fingerprint(env: Any, params: Any = None, *, include_observation: bool = True) -> str:
    """A short name of the problem ``env`` poses with ``params`` (default: its default params).

    For a jaxinv ``InventoryEnv`` it covers the class, every static setting and every leaf of
    ``params``; ``include_observation=False`` leaves out the settings that only shape what the
    agent observes (``observation_settings``), so policies seeing different observations of
    the same problem share a fingerprint. Gymnax wrappers are unwrapped (they pass the key
    through to the inner env). For any other env it covers its class and ``params``.
    """
    inner = unwrap(env)
    given = params is not None
    if params is None:
        params = inner.default_params
    if isinstance(inner, InventoryEnv):
        skip = () if include_observation else inner.observation_settings
        if given:  # settings that only name where the default params came from
            skip = (*skip, *inner.default_params_settings)
        settings = tuple((k, v) for k, v in inner.static_settings.items() if k not in skip)
    else:
        settings = ()
    name = f"{type(inner).__module__}.{type(inner).__qualname__}{settings!r}"
    digest = hashlib.sha256(name.encode())
    digest.update(params_digest(params).encode())
    return digest.hexdigest()[:FINGERPRINT_CHARS]


def batched_step(env: Any):
    """The env's one-key batched step (``step_many``) if it is a jaxinv ``InventoryEnv``, else
    None: a wrapper around one is not, as its state is the wrapper's (vmap its ``step``)."""
    return env.step_many if isinstance(env, InventoryEnv) else None


class InventoryEnv(environment.Environment):
    """Base of jaxinv's inventory envs: a finite horizon, a demand per period, then a
    deterministic transition (see the module docstring for what a family supplies).

    ``__init__(params, horizon=..., **settings)`` stores ``horizon`` and each static setting as
    an attribute of that name; they set shapes and branches of the compiled step, so treat them
    as read-only. Every ``EnvState`` has ``time`` (periods done, int32).
    """

    never_truncates = True  # episodes end only at the planning horizon (a termination)
    # False: the horizon is a time limit; ``step`` truncates where ``is_truncated`` holds.
    observation_settings: tuple[str, ...] = ()
    # Static settings that only describe how the default params were made (the dynamics read
    # the params themselves): left out of a fingerprint taken with params given.
    default_params_settings: tuple[str, ...] = ()
    """Static settings that only change the observation, not the problem (see env_fingerprint)."""

    horizon: int
    """Periods per episode; after ``horizon`` steps the episode terminates."""

    def __init__(self, params: Any, *, horizon: int, **settings: Any) -> None:
        super().__init__()
        self.horizon = int(horizon)
        for name, value in settings.items():
            setattr(self, name, value)
        self._default_params = params
        self._settings = {"horizon": self.horizon, **settings}
        # Computed once: the compiled step reads the default params when params is None, so
        # envs that differ only there must not compare equal.
        self._key = (
            type(self).__module__,
            type(self).__qualname__,
            tuple(self._settings.items()),
            params_digest(params),
        )
        hash(self._key)  # every static setting must be hashable

    # -- identity by value --------------------------------------------------------------------

    def observation_layout(self) -> tuple[tuple[str, int, str], ...]:
        """The observation's consecutive segments ``(name, length, meaning)``, whose lengths
        add up to ``obs_size`` (``jaxinv envs`` prints them); a family overrides this."""
        return (("observation", self.obs_size, "not described by the env"),)

    @property
    def static_settings(self) -> dict[str, Any]:
        """The static (shape- or branch-setting) configuration, ``horizon`` first."""
        return dict(self._settings)

    @property
    def fingerprint(self) -> str:
        """Short name of this env's static configuration, gradient flag and default params:
        equal envs have equal fingerprints."""
        text = repr((self._key, self._transition_gradients_enabled))
        return hashlib.sha256(text.encode()).hexdigest()[:FINGERPRINT_CHARS]

    def _identity(self) -> tuple[Any, bool]:
        # with_transition_gradients copies the env and then sets the flag: read it now.
        return self._key, self._transition_gradients_enabled

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._identity() == other._identity()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._identity())

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self._settings.items())
        return f"{type(self).__name__}({shown})"

    @property
    def default_params(self) -> Any:
        return self._default_params

    # -- what a family supplies -----------------------------------------------------------------

    def draw_demand(
        self, key: jax.Array, state: Any, params: Any, batch_shape: tuple[int, ...] = ()
    ) -> jax.Array:
        """Demand of the coming period, float32 units of shape ``batch_shape`` (one draw)."""
        raise NotImplementedError

    def transition(
        self, demand: jax.Array, state: Any, action: jax.Array, params: Any
    ) -> tuple[jax.Array, Any, jax.Array, jax.Array, dict[str, jax.Array]]:
        """One period of one env given its demand (shape ()): deterministic."""
        raise NotImplementedError

    # -- gymnax plumbing, once ------------------------------------------------------------------

    def step_env(
        self, key: jax.Array, state: Any, action: jax.Array, params: Any
    ) -> tuple[jax.Array, Any, jax.Array, jax.Array, dict[str, jax.Array]]:
        """One period without auto-reset: draw the demand with ``key``, then transition."""
        demand = self.draw_demand(key, state, params)
        obs, state, reward, terminated, info = self.transition(demand, state, action, params)
        obs, state = self._apply_transition_gradient_policy(obs, state)
        return obs, state, reward, terminated, info

    def _auto_reset(
        self,
        obs_step: jax.Array,
        state_step: Any,
        reward: jax.Array,
        terminated: jax.Array,
        info: dict[str, jax.Array],
        params: Any,
    ) -> tuple[jax.Array, Any, jax.Array, jax.Array, jax.Array, dict[str, Any]]:
        """gymnax's auto-reset: where an episode ended (terminated, or truncated by
        ``is_truncated`` for an env that truncates), continue from a fresh reset (any batch
        shape of ``terminated``); ``info["final_observation"]`` keeps the stepped observation."""
        obs_reset, state_reset = self.reset_env(None, params)
        if self.never_truncates:
            truncated = jnp.zeros_like(terminated)
        else:
            limit = jnp.broadcast_to(self.is_truncated(state_step, params), terminated.shape)
            truncated = limit & ~terminated
        ended = terminated | truncated

        def reset(fresh: jax.Array, stepped: jax.Array) -> jax.Array:
            where = ended.reshape(ended.shape + (1,) * (stepped.ndim - ended.ndim))
            return jnp.where(where, fresh, stepped)

        state = jax.tree.map(reset, state_reset, state_step)
        obs = reset(obs_reset, obs_step)
        info = {
            **info,
            "terminated": terminated,
            "truncated": truncated,
            "final_observation": obs_step,
        }
        return obs, state, reward, terminated, truncated, info

    @partial(jax.jit, static_argnames=("self",))
    def step(
        self,
        key: jax.Array,
        state: Any,
        action: jax.Array,
        params: Any = None,
    ) -> tuple[jax.Array, Any, jax.Array, jax.Array, jax.Array, dict[str, Any]]:
        """gymnax's step with auto-reset, minus the key split: the reset is deterministic.

        Returns ``(obs, state, reward, terminated, truncated, info)``; ``truncated`` is False
        unless the env truncates (``never_truncates = False``: at its horizon), and
        ``info["final_observation"]`` holds the observation before an auto-reset.
        """
        params = self.default_params if params is None else params
        return self._auto_reset(*self.step_env(key, state, action, params), params)

    @partial(jax.jit, static_argnames=("self",))
    def step_many(
        self,
        key: jax.Array,
        state: Any,
        action: jax.Array,
        params: Any = None,
    ) -> tuple[jax.Array, Any, jax.Array, jax.Array, jax.Array, dict[str, Any]]:
        """``step`` for a batch of N envs sharing ``params``, with ONE key for the batch.

        ``state`` leaves and ``action`` carry a leading (N,) axis, as from
        ``jax.vmap(env.reset, (0, None))``. Same dynamics and outputs as
        ``jax.vmap(env.step, (0, 0, 0, None))``, but all N demands come from one draw of random
        bits instead of N keys (different numbers from the vmapped ``step`` for the same key,
        the same distribution).
        """
        params = self.default_params if params is None else params
        demand = self.draw_demand(key, state, params, jnp.shape(state.time))
        obs, new, reward, terminated, info = jax.vmap(self.transition, (0, 0, 0, None))(
            demand, state, action, params
        )
        obs, new = self._apply_transition_gradient_policy(obs, new)
        return self._auto_reset(obs, new, reward, terminated, info, params)

    def is_truncated(self, state: Any, params: Any) -> jax.Array:
        """Never: the planning horizon terminates the episode. (gymnax's API; ``step`` reads
        it only for an env with ``never_truncates = False``, which overrides it.)"""
        return jnp.zeros((), bool)

    def is_terminated(self, state: Any, params: Any) -> jax.Array:
        """At the horizon. (gymnax's API; ``transition`` returns the same flag itself.)"""
        return state.time >= self.horizon


def joint_actions(nvec: Any) -> int:
    """Number of joint actions of a multi-discrete space with ``nvec`` choices per dimension."""
    return math.prod(int(n) for n in np.asarray(nvec).reshape(-1))
