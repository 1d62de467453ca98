"""Any policy over many episodes on common random numbers, with confidence intervals.

An evaluation runs ``num_episodes`` episodes of a fixed-horizon env for ``num_steps`` periods
each and sums each episode's reward (for InvManagement the reward is already discounted by
``alpha**t``, so the sum is OR-Gym's discounted return, in currency units).

Common random numbers: the evaluation key is split once into an *env* stream and a *policy*
stream. Every period ``t`` each episode ``n`` steps with a key that depends only on the env
stream, ``t`` and ``n``; the policy gets its own key per period from the policy stream. So two
policies evaluated with the same key, episode count and horizon face the same demand paths
(for any env whose randomness depends on its key alone, not on the state), and their paired
difference has far less noise than the difference of two independent evaluations. Each
result's ``crn`` names its random numbers and its problem (key, episodes, periods and the env's
fingerprint of its static settings and the params used), and ``paired_difference`` refuses to
pair results whose ``crn`` differ.

``params`` is either one set shared by all episodes or a batch with one set per episode
(leading axis = episodes, e.g. an evaluation set of held-out demand traces), stepped with
``vmap`` over params too. Episodes that terminate before ``num_steps`` stop counting reward.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

from jaxinv.envs import base
from jaxinv.policies.constant import Policy

DEFAULT_EPISODES = 1000


@dataclasses.dataclass(frozen=True)
class EvalResult:
    """Returns of one policy over ``episodes`` episodes, and their summary.

    ``std`` uses ddof=1; ``ci95`` is the t-distribution 95% confidence interval of the mean
    (NaN with fewer than two episodes). ``crn`` names the random numbers and the problem used
    (key, episodes, periods, env settings and params, see ``crn_name``): equal ``crn`` means the
    same demand paths of the same problem.
    """

    returns: np.ndarray  # (episodes,) float64
    mean: float
    std: float
    ci95: tuple[float, float]
    episodes: int
    crn: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The ``eval`` block of a run's ``summary.json``."""
        return {
            "episodes": self.episodes,
            "mean": self.mean,
            "std": self.std,
            "ci95": list(self.ci95),
        }


@dataclasses.dataclass(frozen=True)
class PairedDifference:
    """``a - b`` episode by episode on the same paths: mean, std (ddof=1) and paired-t 95% CI."""

    mean: float
    std: float
    ci95: tuple[float, float]
    episodes: int


def _mean_std_ci(values: np.ndarray) -> tuple[float, float, tuple[float, float]]:
    n = values.size
    mean = float(values.mean()) if n else float("nan")
    if n < 2:
        return mean, float("nan"), (float("nan"), float("nan"))
    std = float(values.std(ddof=1))
    half = float(stats.t.ppf(0.975, n - 1)) * std / np.sqrt(n)
    return mean, std, (float(mean - half), float(mean + half))


def summarize(returns: Any, crn: str = "") -> EvalResult:
    """An ``EvalResult`` from per-episode returns (any array-like of shape (episodes,))."""
    values = np.asarray(returns, np.float64).reshape(-1)
    mean, std, ci95 = _mean_std_ci(values)
    return EvalResult(values, mean, std, ci95, int(values.size), crn)


def paired_difference(a: EvalResult, b: EvalResult) -> PairedDifference:
    """Mean of ``a.returns - b.returns`` with a paired-t 95% CI (same episodes, same paths)."""
    if a.episodes != b.episodes:
        raise ValueError(f"paired difference needs equal episodes, got {a.episodes}, {b.episodes}")
    if a.crn != b.crn:
        raise ValueError(f"results come from different random numbers: {a.crn!r} vs {b.crn!r}")
    mean, std, ci95 = _mean_std_ci(a.returns - b.returns)
    return PairedDifference(mean, std, ci95, a.episodes)


def default_num_steps(env: Any) -> int:
    """The env's horizon in periods (``InventoryEnv.horizon``; wrappers are unwrapped)."""
    inner = base.unwrap(env)
    if isinstance(inner, base.InventoryEnv):
        return inner.horizon
    raise ValueError(
        f"{type(inner).__name__} is not a jaxinv InventoryEnv and has no horizon; "
        "pass num_steps explicitly"
    )


def _rollout(
    env: Any,
    policy: Policy,
    params: Any,
    key: jax.Array,
    num_episodes: int,
    num_steps: int,
    batched_params: bool,
    discount: float,
    keep_trajectory: bool,
) -> tuple[jax.Array, dict[str, Any] | None]:
    """The one rollout behind every evaluation: returns (N,) and, if kept, the trajectory."""
    env_key, policy_key = jax.random.split(key)
    reset_key, step_key = jax.random.split(env_key)
    params_axis = 0 if batched_params else None
    reset = jax.vmap(env.reset, (0, params_axis))
    step = jax.vmap(env.step, (0, 0, 0, params_axis))
    obs, state = reset(jax.random.split(reset_key, num_episodes), params)

    def period(carry, t):
        obs, state, total, alive = carry
        action = policy(jax.random.fold_in(policy_key, t), obs, state)
        keys = jax.random.split(jax.random.fold_in(step_key, t), num_episodes)
        obs, state, reward, terminated, truncated, info = step(keys, state, action, params)
        weight = jnp.power(jnp.float32(discount), t.astype(jnp.float32))
        total = total + jnp.where(alive, weight * reward, 0.0)
        record = None
        if keep_trajectory:
            record = {"action": action, "reward": reward, "alive": alive, "info": info}
        alive = alive & ~(terminated | truncated)
        return (obs, state, total, alive), record

    carry = (
        obs,
        state,
        jnp.zeros((num_episodes,), jnp.float32),
        jnp.ones((num_episodes,), bool),
    )
    carry, trajectory = jax.lax.scan(period, carry, jnp.arange(num_steps, dtype=jnp.int32))
    return carry[2], trajectory


def episode_returns(
    env: Any,
    policy: Policy,
    params: Any,
    key: jax.Array,
    num_episodes: int,
    num_steps: int,
    *,
    batched_params: bool = False,
    discount: float = 1.0,
) -> jax.Array:
    """Sum of ``discount**t * reward`` over ``num_steps`` periods per episode: (num_episodes,).

    Pure and jittable. Episode ``n`` resets and steps with keys drawn from the env stream of
    ``key`` only (see the module docstring); ``policy(key, obs, state)`` sees the batch ``obs``
    (N, obs_size) and ``state``. Reward after an episode's end (before ``num_steps``) is not
    counted.
    """
    returns, _ = _rollout(
        env, policy, params, key, num_episodes, num_steps, batched_params, discount, False
    )
    return returns


def episode_trajectories(
    env: Any,
    policy: Policy,
    params: Any,
    key: jax.Array,
    num_episodes: int,
    num_steps: int,
    *,
    batched_params: bool = False,
    discount: float = 1.0,
) -> tuple[jax.Array, dict[str, Any]]:
    """``episode_returns`` plus what happened each period, on the same random numbers.

    The trajectory dict holds ``action`` (T, N, ...), ``reward`` (T, N), ``alive`` (T, N; the
    episode had not ended before period t) and the env's ``info`` (T, N, ...), e.g.
    ``info["demand"]``.
    """
    return _rollout(
        env, policy, params, key, num_episodes, num_steps, batched_params, discount, True
    )


def episode_returns_many(
    env: Any,
    make_policy: Callable[[Any], Policy],
    policy_params: Any,
    params: Any,
    key: jax.Array,
    num_episodes: int,
    num_steps: int,
    *,
    batched_params: bool = False,
    discount: float = 1.0,
    batch_size: int | None = None,
) -> jax.Array:
    """``episode_returns`` of ``make_policy(theta)`` for each ``theta`` in ``policy_params``.

    ``policy_params`` is a pytree with a leading axis of C candidates; returns (C, num_episodes).
    All candidates share ``key``, so they face the same demand paths (drawn once per period and
    shared, as they do not depend on the candidate). ``batch_size`` candidates are vmapped at a
    time (``lax.map``), to bound memory; ``None`` vmaps all at once. Pure and jittable.
    """

    def returns_of(theta: Any) -> jax.Array:
        policy = make_policy(theta)
        return episode_returns(
            env,
            policy,
            params,
            key,
            num_episodes,
            num_steps,
            batched_params=batched_params,
            discount=discount,
        )

    if batch_size is None:
        return jax.vmap(returns_of)(policy_params)
    return jax.lax.map(returns_of, policy_params, batch_size=batch_size)


# Compiled once per env, policy (or make_policy), episode count, horizon and options: calling
# evaluate again with the same policy object and shapes reuses the compilation.
_STATIC = ("env", "num_episodes", "num_steps", "batched_params", "discount")
_episode_returns_jit = jax.jit(episode_returns, static_argnames=(*_STATIC, "policy"))
_episode_returns_many_jit = jax.jit(
    episode_returns_many, static_argnames=(*_STATIC, "make_policy", "batch_size")
)


def _num_episodes(params: Any, num_episodes: int | None, batched_params: bool) -> int:
    if not batched_params:
        return DEFAULT_EPISODES if num_episodes is None else int(num_episodes)
    sizes = {leaf.shape[0] for leaf in jax.tree.leaves(params)}
    if len(sizes) != 1:
        raise ValueError(f"batched params need one leading axis (episodes), got sizes {sizes}")
    (size,) = sizes
    if num_episodes is not None and num_episodes != size:
        raise ValueError(f"num_episodes={num_episodes} but the batched params hold {size}")
    return int(size)


def crn_name(
    env: Any, params: Any, key: jax.Array, num_episodes: int, num_steps: int, batched: bool
) -> str:
    """Name of the random numbers and the problem an evaluation ran on: the key, episodes,
    periods, shared or batched params, and ``env_fingerprint`` of the env's static settings
    and ``params`` (observation-only settings left out: they do not change the paths)."""
    data = np.asarray(jax.random.key_data(key)).reshape(-1)
    kind = "batched params" if batched else "shared params"
    problem = base.env_fingerprint(env, params, include_observation=False)
    return f"key={data.tolist()} episodes={num_episodes} periods={num_steps} {kind} env={problem}"


def crn_periods(crn: str) -> int:
    """The periods per episode an evaluation named by ``crn_name`` ran."""
    found = re.search(r"\bperiods=(\d+)\b", crn)
    if found is None:
        raise ValueError(f"no periods in the evaluation's name {crn!r}")
    return int(found.group(1))


def evaluate(
    env: Any,
    policy: Policy,
    params: Any,
    key: jax.Array,
    num_episodes: int | None = None,
    num_steps: int | None = None,
    *,
    batched_params: bool = False,
    discount: float = 1.0,
) -> EvalResult:
    """Evaluate ``policy`` over ``num_episodes`` episodes on the fixed evaluation ``key``.

    ``num_episodes`` defaults to the batch size of batched ``params``, else DEFAULT_EPISODES;
    ``num_steps`` to the env's horizon (``default_num_steps``). Same key, same numbers.
    Compiled once per (env, policy object, shapes): the policy must be hashable, as functions
    and closures are.
    """
    n = _num_episodes(params, num_episodes, batched_params)
    steps = default_num_steps(env) if num_steps is None else int(num_steps)
    returns = _episode_returns_jit(
        env, policy, params, key, n, steps, batched_params=batched_params, discount=discount
    )
    return summarize(returns, crn_name(env, params, key, n, steps, batched_params))


def evaluate_many(
    env: Any,
    make_policy: Callable[[Any], Policy],
    policy_params: Any,
    params: Any,
    key: jax.Array,
    num_episodes: int | None = None,
    num_steps: int | None = None,
    *,
    batched_params: bool = False,
    discount: float = 1.0,
    batch_size: int | None = None,
) -> list[EvalResult]:
    """``evaluate`` for each candidate ``make_policy(theta)``, all on the same paths (one call)."""
    n = _num_episodes(params, num_episodes, batched_params)
    steps = default_num_steps(env) if num_steps is None else int(num_steps)
    returns = _episode_returns_many_jit(
        env,
        make_policy,
        policy_params,
        params,
        key,
        n,
        steps,
        batched_params=batched_params,
        discount=discount,
        batch_size=batch_size,
    )
    returns = np.asarray(returns)
    crn = crn_name(env, params, key, n, steps, batched_params)
    return [summarize(row, crn) for row in returns]
