"""Adapters for training code written against other JAX env APIs.

``FiveTuple(env)`` presents a jaxinv (gymnax 1.0) env the way PureJaxRL-style code expects:
``step`` returns ``(obs, state, reward, done, info)`` with ``done = terminated | truncated``
(both kept in ``info``), and ``reset``, ``observation_space``, ``action_space`` and the rest
are the env's own (gymnax's ``GymnaxWrapper`` forwards them). With a ``Discrete`` action
(``RetailStore-v0``) ``action_space(params).n`` is the number of orders, as such code reads
it. The serial chain's action is ``MultiDiscrete`` (one order per stage, 101 x 91 x 81 joint
actions by default): code with a single categorical head over ``.n`` cannot drive it; use a
factorised head (one categorical per stage), as jaxinv's own learners do.
"""

from __future__ import annotations

from typing import Any

import jax
from gymnax.wrappers.purerl import GymnaxWrapper


class FiveTuple(GymnaxWrapper):
    """``env.step`` as a 5-tuple ``(obs, state, reward, done, info)`` (see module doc)."""

    def step(
        self, key: jax.Array, state: Any, action: Any, params: Any = None
    ) -> tuple[jax.Array, Any, jax.Array, jax.Array, dict[str, Any]]:
        obs, state, reward, terminated, truncated, info = self._env.step(key, state, action, params)
        info = {**info, "terminated": terminated, "truncated": truncated}
        return obs, state, reward, terminated | truncated, info
