"""What every learner provides, and the pieces around it: chunked runs and config checking.

A learner is built by its module's ``make_learner(config, env, env_params) -> Learner``:
``init(key)`` gives the whole training state, ``update(state)`` does one update (collect, then
learn) and ``policy(agent, greedy)`` turns the learned parameters into a jaxinv policy
``(key, obs, env_state) -> action``. Everything is pure and jittable; ``make_train`` wraps it
as the one-call ``train(key) -> (state, metrics)`` that ``vmap`` runs over seeds, and over
configs for sweeps (traced hyperparameters are pytree leaves of the config; shape-setting
ones are static fields).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax

from jaxinv.envs.validate import suggest


class Learner(NamedTuple):
    """A training run cut into updates (see module doc)."""

    init: Callable[[jax.Array], Any]
    update: Callable[[Any], tuple[Any, dict[str, jax.Array]]]
    policy: Callable[[Any, bool], Callable]
    agent: Callable[[Any], Any]  # training state -> what a policy and a checkpoint need
    value: Callable[[Any, jax.Array], jax.Array]  # (agent, obs (N, D)) -> state values (N,)
    num_updates: int
    steps_per_update: int  # env steps (all envs together) per update


def run(learner: Learner, state: Any, num_updates: int) -> tuple[Any, dict[str, jax.Array]]:
    """``num_updates`` updates in one ``lax.scan``; metrics stacked ``(num_updates,)``."""
    return jax.lax.scan(lambda s, _: learner.update(s), state, None, num_updates)


@functools.lru_cache(maxsize=256)
def policy_maker(learner: Learner, greedy: bool = True) -> Callable[[Any], Callable]:
    """``agent -> learner.policy(agent, greedy)``, one object per ``(learner, greedy)``.

    Evaluation takes the policy maker as a static ``jit`` argument, so a fresh lambda per call
    would compile again; this returns the same function for the same learner (``Learner`` is
    a tuple of functions and ints, hashed by their identities and values).
    """

    def make(agent: Any) -> Callable:
        return learner.policy(agent, greedy)

    return make


def train_fn(learner: Learner) -> Callable[[jax.Array], tuple[Any, dict[str, jax.Array]]]:
    """The whole run as ``train(key) -> (final state, metrics per update)``."""

    def train(key: jax.Array) -> tuple[Any, dict[str, jax.Array]]:
        return run(learner, learner.init(key), learner.num_updates)

    return train


# -- config overrides --------------------------------------------------------------------------

Limits = dict[str, tuple[float, float]]


def with_overrides(config: Any, overrides: dict[str, Any], limits: Limits, algo: str) -> Any:
    """``config`` with ``overrides`` applied, each checked against its type and ``limits``.

    Raises ``ValueError`` naming the key, the value and the allowed range (or close names for
    an unknown key), in plain Python before anything is traced.
    """
    fields = {f.name: f for f in dataclasses.fields(config)}
    changes: dict[str, Any] = {}
    for key, value in overrides.items():
        if key not in fields:
            raise ValueError(
                f"{algo}: unknown config key {key!r}{suggest(key, list(fields))} "
                f"Known keys: {', '.join(sorted(fields))}"
            )
        default = getattr(config, key)
        value = _coerce(algo, key, value, default)
        if key in limits:
            lo, hi = limits[key]
            if not (isinstance(value, int | float) and lo <= value <= hi):
                raise ValueError(f"{algo}: config {key!r}={value!r} must be in [{lo}, {hi}]")
        changes[key] = value
    return config.replace(**changes)


def _coerce(algo: str, key: str, value: Any, default: Any) -> Any:
    """``value`` as the type of ``default`` (bool, int, float, str or tuple of ints)."""
    bad = ValueError(f"{algo}: config {key!r}={value!r} should be like {default!r}")
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise bad
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
            raise bad
        return int(value)
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad
        if not math.isfinite(value):
            raise ValueError(f"{algo}: config {key!r}={value!r} must be finite")
        return float(value)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise bad
        return value
    if isinstance(default, tuple):
        if not isinstance(value, list | tuple) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value
        ):
            raise ValueError(f"{algo}: config {key!r}={value!r} must be a list of positive ints")
        return tuple(value)
    return value


def check_choice(algo: str, key: str, value: str, choices: tuple[str, ...]) -> None:
    """Raise naming ``key`` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(
            f"{algo}: config {key!r}={value!r} is not allowed{suggest(value, choices)} "
            f"Choose from: {', '.join(choices)}"
        )
