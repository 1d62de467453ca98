"""Gymnasium bridge: every jaxinv env id as a ``gymnasium.Env`` and a vector env.

    import gymnasium
    import jaxinv.gym_bridge  # registers "jaxinv/<id>" for every jaxinv env id

    env = gymnasium.make("jaxinv/InvManagement-v1", periods=30)   # config keys as jaxinv.make
    envs = gymnasium.make_vec("jaxinv/InvManagement-v1", num_envs=64)

(``gymnasium.make("jaxinv.gym_bridge:jaxinv/InvManagement-v1")`` imports the bridge itself.)
Observations come out as float32 numpy arrays, rewards as Python floats; actions go in as
numpy integers (``Discrete`` or ``MultiDiscrete``). The jaxinv spaces map onto Gymnasium's
``Discrete``, ``MultiDiscrete`` and ``Box``. ``terminated`` is the planning horizon's end
(InvManagement, RetailStore) and ``truncated`` an env's own truncation (``is_truncated``);
``render_mode`` must be None.

Random numbers: ``reset(seed=s)`` starts a JAX key stream at ``jax.random.key(s)``; every
later ``reset`` and ``step`` splits one key off it, so the same seed gives the same episode.
Without a seed the stream starts from Gymnasium's ``np_random``.

The vector env steps its N envs in one jitted call. By default each env has its own key
stream (env ``i`` seeded ``s + i``, as Gymnasium's ``SyncVectorEnv`` seeds), so it agrees step
for step with N single envs; ``shared_key=True`` draws every demand of the batch from one key
with the env's ``step_many`` instead (faster, the same distribution, different numbers). It
resets an env in the step that ends its episode (``AutoresetMode.SAME_STEP``): the returned
observation is the new episode's first, ``info["final_obs"]`` (N, obs) holds the last one and
``info["_final_obs"]`` (N,) says which envs ended.
"""

from __future__ import annotations

from functools import partial
from typing import Any, ClassVar

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space
from gymnax.environments import spaces as gymnax_spaces

import jaxinv
from jaxinv import families
from jaxinv.envs import spaces as jaxinv_spaces

NAMESPACE = "jaxinv"
SEED_RANGE = 2**31  # seeds drawn from np_random when reset() is given none


def to_gymnasium_space(space: Any) -> gymnasium.Space:
    """Gymnasium's space for a gymnax/jaxinv ``Discrete``, ``MultiDiscrete`` or ``Box``."""
    if isinstance(space, gymnax_spaces.Discrete):
        return gymnasium.spaces.Discrete(int(space.n))
    if isinstance(space, jaxinv_spaces.MultiDiscrete):
        return gymnasium.spaces.MultiDiscrete(np.asarray(space.nvec, np.int64))
    if isinstance(space, gymnax_spaces.Box):
        shape = tuple(space.shape)
        low = np.broadcast_to(np.asarray(space.low, np.float32), shape)
        high = np.broadcast_to(np.asarray(space.high, np.float32), shape)
        return gymnasium.spaces.Box(low, high, shape, np.float32)
    raise TypeError(f"no Gymnasium space for {space!r}")


# -- compiled pieces, cached per env (jaxinv envs are hashable by value) ----------------------


@partial(jax.jit, static_argnums=0)
def _reset(env: Any, key: jax.Array, params: Any) -> tuple[jax.Array, Any]:
    return env.reset(key, params)


def _step_no_reset(env: Any, key: jax.Array, state: Any, action: jax.Array, params: Any):
    """One period without auto-reset: (obs, state, reward, terminated, truncated, info)."""
    obs, state, reward, terminated, info = env.step_env(key, state, action, params)
    truncated = jnp.logical_and(env.is_truncated(state, params), jnp.logical_not(terminated))
    return obs, state, reward, terminated, truncated, info


@partial(jax.jit, static_argnums=0)
def _step_one(env: Any, key: jax.Array, state: Any, action: jax.Array, params: Any):
    """Split the stream's key and step: (key, obs, state, reward, terminated, truncated, info)."""
    key, step_key = jax.random.split(key)
    return key, *_step_no_reset(env, step_key, state, action, params)


def _select(done: jax.Array, new: jax.Array, old: jax.Array) -> jax.Array:
    """``new`` where ``done`` (N,), else ``old``; typed keys are compared by their data."""
    if jax.dtypes.issubdtype(new.dtype, jax.dtypes.prng_key):
        data = _select(done, jax.random.key_data(new), jax.random.key_data(old))
        return jax.random.wrap_key_data(data)
    return jnp.where(done.reshape(done.shape + (1,) * (new.ndim - done.ndim)), new, old)


@partial(jax.jit, static_argnums=0)
def _reset_many(env: Any, keys: jax.Array, params: Any) -> tuple[jax.Array, Any]:
    return jax.vmap(env.reset, (0, None))(keys, params)


@partial(jax.jit, static_argnums=0)
def _vector_step_per_env(env: Any, keys: jax.Array, state: Any, action: jax.Array, params: Any):
    """N envs, each on its own key stream, as N single envs stepped then reset when done."""
    keys, step_keys = _split_each(keys)
    stepped = jax.vmap(partial(_step_no_reset, env), (0, 0, 0, None))(
        step_keys, state, action, params
    )
    obs, new_state, reward, terminated, truncated, info = stepped
    done = terminated | truncated
    after_reset, reset_keys = _split_each(keys)
    keys = _select(done, after_reset, keys)
    first_obs, first_state = jax.vmap(env.reset, (0, None))(reset_keys, params)
    state = jax.tree.map(partial(_select, done), first_state, new_state)
    return keys, _select(done, first_obs, obs), state, reward, terminated, truncated, obs, info


@partial(jax.jit, static_argnums=0)
def _vector_step_shared(env: Any, key: jax.Array, state: Any, action: jax.Array, params: Any):
    """N envs from one key with the env's ``step_many`` (auto-reset included)."""
    key, step_key = jax.random.split(key)
    obs, state, reward, terminated, truncated, info = env.step_many(step_key, state, action, params)
    final_obs = info.pop("final_observation")
    return key, obs, state, reward, terminated, truncated, final_obs, info


def _split_each(keys: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Split each of (N,) keys in two: (the carried-on keys, the keys to use now)."""
    pairs = jax.vmap(jax.random.split)(keys)
    return pairs[:, 0], pairs[:, 1]


def _numpy_info(info: dict[str, Any]) -> dict[str, np.ndarray]:
    return {name: np.asarray(value) for name, value in info.items()}


class JaxinvEnv(gymnasium.Env):
    """One jaxinv env as a ``gymnasium.Env`` (see the module docstring)."""

    metadata: ClassVar[dict[str, Any]] = {"render_modes": []}

    def __init__(self, env_id: str, render_mode: str | None = None, **config: Any) -> None:
        if render_mode is not None:
            raise ValueError(f"render_mode={render_mode!r}: jaxinv envs do not render (use None)")
        self.env_id = env_id
        self.render_mode = None
        self.env, self.params = jaxinv.make(env_id, **config)
        self.action_space = to_gymnasium_space(self.env.action_space(self.params))
        self.observation_space = to_gymnasium_space(self.env.observation_space(self.params))
        self._key: jax.Array | None = None
        self._state: Any = None

    def _next_key(self) -> jax.Array:
        self._key, key = jax.random.split(self._key)
        return key

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode; a ``seed`` restarts the key stream (``options`` are not used)."""
        super().reset(seed=seed)
        if seed is not None or self._key is None:
            start = seed if seed is not None else int(self.np_random.integers(SEED_RANGE))
            self._key = jax.random.key(start)
        obs, self._state = _reset(self.env, self._next_key(), self.params)
        return np.asarray(obs), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """One period: ``(obs, reward, terminated, truncated, info)``, numpy and Python."""
        if self._state is None:
            raise RuntimeError("call reset() before step()")
        action = np.asarray(action, np.int32)
        self._key, obs, self._state, *out = _step_one(
            self.env, self._key, self._state, action, self.params
        )
        reward, terminated, truncated, info = jax.device_get(out)  # one transfer
        return np.asarray(obs), float(reward), bool(terminated), bool(truncated), info


class JaxinvVectorEnv(gymnasium.vector.VectorEnv):
    """N copies of one jaxinv env stepped in one jitted call (see the module docstring)."""

    metadata: ClassVar[dict[str, Any]] = {
        "render_modes": [],
        "autoreset_mode": AutoresetMode.SAME_STEP,
    }

    def __init__(
        self,
        env_id: str,
        num_envs: int,
        render_mode: str | None = None,
        shared_key: bool = False,
        **config: Any,
    ) -> None:
        if render_mode is not None:
            raise ValueError(f"render_mode={render_mode!r}: jaxinv envs do not render (use None)")
        if int(num_envs) < 1:
            raise ValueError(f"num_envs={num_envs} must be at least 1")
        self.env_id = env_id
        self.render_mode = None
        self.num_envs = int(num_envs)
        self.shared_key = bool(shared_key)
        self.env, self.params = jaxinv.make(env_id, **config)
        self.single_action_space = to_gymnasium_space(self.env.action_space(self.params))
        self.single_observation_space = to_gymnasium_space(self.env.observation_space(self.params))
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self._keys: jax.Array | None = None
        self._state: Any = None

    def reset(
        self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start every env: ``seed`` an int (env i gets ``seed + i``) or one seed per env."""
        first = seed[0] if isinstance(seed, (list, tuple)) else seed
        super().reset(seed=first)
        if seed is None and self._keys is not None:  # carry on each env's key stream
            if self.shared_key:
                self._keys, key = jax.random.split(self._keys)
                reset_keys = jax.random.split(key, self.num_envs)
            else:
                self._keys, reset_keys = _split_each(self._keys)
        else:
            if seed is None:
                seed = int(self.np_random.integers(SEED_RANGE))
            seeds = (
                list(seed)
                if isinstance(seed, (list, tuple))
                else [seed + i for i in range(self.num_envs)]
            )
            if len(seeds) != self.num_envs:
                raise ValueError(f"{len(seeds)} seeds for {self.num_envs} envs")
            if self.shared_key:
                self._keys, key = jax.random.split(jax.random.key(seeds[0]))
                reset_keys = jax.random.split(key, self.num_envs)
            else:
                self._keys, reset_keys = _split_each(jax.vmap(jax.random.key)(jnp.asarray(seeds)))
        obs, self._state = _reset_many(self.env, reset_keys, self.params)
        return np.asarray(obs), {}

    def step(
        self, actions: Any
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """One period of every env; an env whose episode ends is reset in the same call."""
        if self._state is None:
            raise RuntimeError("call reset() before step()")
        actions = jnp.asarray(actions, jnp.int32)
        step = _vector_step_shared if self.shared_key else _vector_step_per_env
        self._keys, obs, self._state, reward, terminated, truncated, final_obs, info = step(
            self.env, self._keys, self._state, actions, self.params
        )
        terminated, truncated = np.asarray(terminated), np.asarray(truncated)
        info = {
            **_numpy_info(info),
            "final_obs": np.asarray(final_obs),
            "_final_obs": terminated | truncated,
        }
        return np.asarray(obs), np.asarray(reward, np.float64), terminated, truncated, info


def register_envs() -> tuple[str, ...]:
    """Register ``jaxinv/<id>`` with Gymnasium for every jaxinv id not yet registered there;
    returns the Gymnasium ids."""
    ids = []
    for env_id in families.registered_envs():
        gym_id = f"{NAMESPACE}/{env_id}"
        if gym_id not in gymnasium.registry:
            gymnasium.register(
                id=gym_id,
                entry_point=JaxinvEnv,
                vector_entry_point=JaxinvVectorEnv,
                kwargs={"env_id": env_id},
            )
        ids.append(gym_id)
    return tuple(ids)


register_envs()
