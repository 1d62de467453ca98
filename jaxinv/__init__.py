"""jaxinv: inventory-management reinforcement learning in JAX.

``jaxinv.make(env_id, **config) -> (env, params)`` validates the config in plain Python and
returns a gymnax environment and its traced parameters. Importing jaxinv also registers its
environments with gymnax, so ``gymnax.make("InvManagement-v1")`` works.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnax

from jaxinv.envs import retail, serial
from jaxinv.envs.validate import suggest

__version__ = "0.1.0"

_REGISTRY: dict[str, Callable[..., tuple[Any, Any]]] = {
    "InvManagement-v0": lambda **config: serial.make_inv_management("InvManagement-v0", **config),
    "InvManagement-v1": lambda **config: serial.make_inv_management("InvManagement-v1", **config),
    "RetailStore-v0": retail.make_retail_store,
}

registered_envs: tuple[str, ...] = tuple(_REGISTRY)


def make(env_id: str, **config: Any) -> tuple[Any, Any]:
    """Build environment ``env_id`` from OR-Gym-style ``config``; returns ``(env, params)``.

    Raises ``ValueError`` naming the key, the value and what is allowed for a bad config, and
    suggesting close ids for an unknown ``env_id``.
    """
    if env_id not in _REGISTRY:
        raise ValueError(
            f"unknown environment id {env_id!r}{suggest(env_id, registered_envs)} "
            f"Registered: {', '.join(registered_envs)}"
        )
    return _REGISTRY[env_id](**config)


def _register_with_gymnax() -> None:
    """Make ``gymnax.make(id, **config)`` build jaxinv envs (its factory returns the env)."""
    for env_id in registered_envs:
        if env_id not in gymnax.registered_envs:
            gymnax.register(env_id, lambda _id=env_id, **config: make(_id, **config)[0])


_register_with_gymnax()

__all__ = ["__version__", "make", "registered_envs"]
