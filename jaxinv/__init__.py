"""jaxinv: inventory-management reinforcement learning in JAX.

``jaxinv.make(env_id, **config) -> (env, params)`` validates the config in plain Python and
returns a gymnax environment and its traced parameters. Every env id belongs to one env family
declared in ``jaxinv.families``; importing jaxinv registers them all, with gymnax too, so
``gymnax.make("InvManagement-v1")`` works. ``jaxinv.registered_envs`` lists the ids.
"""

from __future__ import annotations

from typing import Any

from jaxinv import families

__version__ = "0.1.0"


def make(env_id: str, **config: Any) -> tuple[Any, Any]:
    """Build environment ``env_id`` from OR-Gym-style ``config``; returns ``(env, params)``.

    Raises ``ValueError`` naming the key, the value and what is allowed for a bad config, and
    suggesting close ids for an unknown ``env_id``.
    """
    return families.make(env_id, **config)


def __getattr__(name: str) -> Any:
    if name == "registered_envs":  # read at each access: families registered later count
        return families.registered_envs()
    raise AttributeError(f"module 'jaxinv' has no attribute {name!r}")


__all__ = ["__version__", "make", "registered_envs"]
