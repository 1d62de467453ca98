"""jaxinv: inventory-management reinforcement learning in JAX.

``jaxinv.make(env_id, **config) -> (env, params)`` validates the config in plain Python and
returns a gymnax environment and its traced parameters. Every env id belongs to one env family
declared in ``jaxinv.families``; ``jaxinv.registered_envs`` lists the ids.

Importing jaxinv is cheap: the families (and with them JAX, flax and gymnax, whose import
pulls in every gymnax env, seaborn and pandas: about 2.5 s) load on first use. jaxinv's ids
are registered with gymnax as soon as both are imported, in either order, so ``import jaxinv;
import gymnax; gymnax.make("InvManagement-v1")`` works.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
from typing import Any

__version__ = "0.1.0"


def make(env_id: str, **config: Any) -> tuple[Any, Any]:
    """Build environment ``env_id`` from OR-Gym-style ``config``; returns ``(env, params)``.

    Raises ``ValueError`` naming the key, the value and what is allowed for a bad config, and
    suggesting close ids for an unknown ``env_id``.
    """
    from jaxinv import families

    return families.make(env_id, **config)


def load_policy(run_dir: Any, seed: int | None = None) -> Any:
    """The policy of a trained run or fitted baseline directory, with its env and params
    (``jaxinv.recommend.load_policy``; ``loaded(state) -> action``, jittable)."""
    from jaxinv import recommend

    return recommend.load_policy(run_dir, seed=seed)


def __getattr__(name: str) -> Any:
    if name == "registered_envs":  # read at each access: families registered later count
        from jaxinv import families

        return families.registered_envs()
    if not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}") is not None:
        return importlib.import_module(f"{__name__}.{name}")  # jaxinv.training etc., lazily
    raise AttributeError(f"module 'jaxinv' has no attribute {name!r}")


class _RegisterAfterGymnax(importlib.abc.MetaPathFinder):
    """Finds gymnax for whoever imports it first and, once its module has run, imports
    ``jaxinv.families`` (which registers every jaxinv id with gymnax). Used once, then gone."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name != "gymnax":
            return None
        sys.meta_path.remove(self)
        for finder in sys.meta_path:
            spec = finder.find_spec(name, path, target) if hasattr(finder, "find_spec") else None
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _Then(spec.loader)
                return spec
        return None


class _Then(importlib.abc.Loader):
    """``loader``, then the registration (see ``_RegisterAfterGymnax``)."""

    def __init__(self, loader: Any):
        self.loader = loader

    def create_module(self, spec: Any) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self.loader.exec_module(module)
        if "jaxinv.families" in sys.modules:
            return
        if _importing_jaxinv():  # a jaxinv module imports gymnax: families must wait
            _register_on_make(module)
        else:
            importlib.import_module("jaxinv.families")

    def __getattr__(self, name: str) -> Any:  # resource readers, get_filename, ...
        return getattr(self.loader, name)


def _importing_jaxinv() -> bool:
    """True while some jaxinv module is still being imported (its body has not finished)."""
    return any(
        getattr(getattr(module, "__spec__", None), "_initializing", False)
        for name, module in list(sys.modules.items())
        if name.startswith("jaxinv.")
    )


def _register_on_make(gymnax: Any) -> None:
    """``gymnax.make`` imports ``jaxinv.families`` (registering jaxinv's ids) first: for
    gymnax imported in the middle of a jaxinv import, when the families cannot load yet."""
    original = gymnax.make

    def make(env_id: str, **env_kwargs: Any) -> Any:
        importlib.import_module("jaxinv.families")
        return original(env_id, **env_kwargs)

    gymnax.make = gymnax.registration.make = make


if "gymnax" in sys.modules:
    importlib.import_module("jaxinv.families")
elif not any(isinstance(f, _RegisterAfterGymnax) for f in sys.meta_path):
    sys.meta_path.insert(0, _RegisterAfterGymnax())

__all__ = ["__version__", "load_policy", "make", "registered_envs"]
