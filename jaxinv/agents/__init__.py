"""Learners: PPO, A2C and DQN in Flax/Optax, sharing networks and rollout code.

``algorithm(name)`` returns the module of a learner; each has ``make_config(**overrides)``,
``make_learner(config, env, env_params)`` and ``make_train(config, env, env_params)``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from jaxinv.envs.validate import suggest

ALGORITHMS = ("ppo", "a2c", "dqn")


def algorithm(name: str) -> ModuleType:
    """The learner module for ``name`` (``ValueError`` with close names if unknown)."""
    if name not in ALGORITHMS:
        raise ValueError(
            f"unknown algorithm {name!r}{suggest(name, ALGORITHMS)} "
            f"Choose from: {', '.join(ALGORITHMS)}"
        )
    return importlib.import_module(f"jaxinv.agents.{name}")
