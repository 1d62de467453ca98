"""Environment families: one declaration of everything jaxinv knows about each family.

A family (InvManagement, RetailStore, ...) is its env module under ``jaxinv/envs/`` (dynamics,
validation, spaces) plus one ``Family`` here: its env ids and their factories, its baselines
(name -> fit), its comparison roles (which baseline learners are paired against, which row is
the bound or optimum), its published figures, the tuned learner defaults, its evaluation set,
its own figures, its demo policies, a tiny config per id for the contract tests, each id's
config keys (``jaxinv envs``) and how a user's own stock becomes a state (``jaxinv recommend``).

Consumers (``jaxinv.make``, ``train``, ``baseline``, ``compare``, ``sweep``, ``demo``) look a
family up by the exact env id with ``family_of``; nothing derives a family from the id string.
``register`` refuses an id that is already taken and registers every id with gymnax, so
``gymnax.make(id)`` works too. ARCHITECTURE.md says how to add a family.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jaxinv.envs.validate import suggest

Factory = Callable[..., tuple[Any, Any]]  # (**config) -> (env, params)
# fit(env, params, options) -> (policy, its parameters, extras); pops the options it reads.
Fit = Callable[[Any, Any, dict[str, Any]], tuple[Any, dict[str, Any], dict[str, Any]]]
# evaluation_set(env, params, episodes) -> keyword arguments of ``evaluate.evaluate``, minus
# the key (params, batched_params, num_episodes).
EvaluationSet = Callable[[Any, Any, "int | None"], dict[str, Any]]


@dataclass(frozen=True)
class CompareSpec:
    """What ``jaxinv compare`` runs for a family and how it reads the table.

    ``reference``: the baseline every row is paired against; ``bound``: the row others are a
    percentage of, an upper ``"bound"`` on every policy or the exact ``"optimum"``.
    ``cost_per_period``: the reward is minus a cost and the problem is the long-run average
    cost, so the table shows each policy's average cost per period (minus its return over the
    periods evaluated) and its gap to the bound in %, in place of "% of bound".
    """

    baselines: tuple[str, ...]
    reference: str
    bound: str | None = None
    bound_kind: str = "bound"
    cost_per_period: bool = False


@dataclass(frozen=True)
class Published:
    """Published figures for one env id, each row beside the row of ours it matches.

    ``rows``: ``(published label, published mean, our policy or algorithm)``. ``paths`` and
    ``sd``: how many demand paths the publication averaged and about what spread of returns,
    for the z-score of our difference (None where the publication used our evaluation set).
    """

    source: str
    rows: tuple[tuple[str, float, str], ...]
    paths: int | None = None
    sd: float | None = None


@dataclass(frozen=True)
class FigureContext:
    """What a family figure may draw on after ``jaxinv compare``: the comparison directory,
    the env id, every learner's label and the fitted baselines ``name -> (policy, env,
    params)`` (fitted once, by the comparison itself)."""

    out: Path
    env_id: str
    learners: tuple[str, ...]
    baselines: Mapping[str, tuple[Any, Any, Any]]
    display: Mapping[str, str]


@dataclass(frozen=True)
class ConfigDoc:
    """An env id's config keys as ``jaxinv envs ID`` prints them: ``defaults`` (key -> default
    value, the env module's ``DEFAULT_CONFIG``) and ``allowed`` (key -> one line: meaning and
    allowed values). Same keys in both; ``make`` does the checking."""

    defaults: Mapping[str, Any]
    allowed: Mapping[str, str]


@dataclass(frozen=True)
class UserState:
    """How ``jaxinv recommend`` turns a user's own numbers into an env state.

    ``fields``: field -> one line (meaning, units, shape); ``required``: those that must be
    given (the others have the defaults their lines state). ``build(env, params, fields) ->
    EnvState`` (one env, no batch axis) raises ``ValueError`` naming the field for a missing,
    unknown or impossible one (``jaxinv.recommend.check_fields`` does the first two).
    """

    fields: Mapping[str, str]
    required: tuple[str, ...]
    build: Callable[[Any, Any, Mapping[str, Any]], Any]


@dataclass(frozen=True)
class Family:
    """One env family's declaration (see module doc). Only ``name`` and ``envs`` are needed."""

    name: str
    envs: Mapping[str, Factory]  # env id -> make(**config) -> (env, params)
    descriptions: Mapping[str, str] = field(default_factory=dict)  # env id -> one line
    baselines: Mapping[str, Fit] = field(default_factory=dict)
    compare: CompareSpec | None = None
    tuned: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # algo -> overrides
    published: Mapping[str, Published] = field(default_factory=dict)  # env id -> figures
    display: Mapping[str, str] = field(default_factory=dict)  # baseline -> label in figures
    evaluation_set: EvaluationSet | None = None  # None: episodes from the evaluation key
    figures: tuple[Callable[[FigureContext], Path], ...] = ()
    demo_policies: Callable[[Any, Any], dict[str, Any]] | None = None
    smoke_config: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # id -> tiny
    config: Mapping[str, ConfigDoc] = field(default_factory=dict)  # id -> its config keys
    user_state: UserState | None = None  # jaxinv recommend: a state from the user's numbers

    def tuned_for(self, algo: str) -> dict[str, Any]:
        """The tuned overrides for ``algo`` on this family (``env.`` keys go to ``make``)."""
        return dict(self.tuned.get(algo, {}))


_FAMILIES: dict[str, Family] = {}
_BY_ID: dict[str, Family] = {}


def register(family: Family) -> None:
    """Add ``family``; ``ValueError`` if its name or any of its ids is taken. Every id is also
    registered with gymnax (``gymnax.make(id, **config)`` returns the env)."""
    import gymnax

    if family.name in _FAMILIES:
        raise ValueError(f"a family named {family.name!r} is registered already")
    if not family.envs:
        raise ValueError(f"family {family.name!r} declares no env ids")
    taken = [env_id for env_id in family.envs if env_id in _BY_ID]
    if taken:
        owners = ", ".join(f"{i} ({_BY_ID[i].name})" for i in taken)
        raise ValueError(f"family {family.name!r}: env id(s) registered already: {owners}")
    for name in (*family.smoke_config, *family.published, *family.descriptions, *family.config):
        if name not in family.envs:
            raise ValueError(f"family {family.name!r}: {name!r} is not one of its env ids")
    for name, doc in family.config.items():
        if set(doc.defaults) != set(doc.allowed):
            odd = sorted(set(doc.defaults) ^ set(doc.allowed))
            raise ValueError(
                f"family {family.name!r}: {name}'s config doc has keys with a default but no "
                f"allowed values or the reverse: {', '.join(odd)}"
            )
    if family.compare is not None:
        spec = family.compare
        for name in (*spec.baselines, spec.reference, *([spec.bound] if spec.bound else [])):
            if name not in family.baselines:
                raise ValueError(
                    f"family {family.name!r}: compare names baseline {name!r}, which it does "
                    f"not declare (declared: {', '.join(family.baselines) or 'none'})"
                )
    _FAMILIES[family.name] = family
    for env_id, factory in family.envs.items():
        _BY_ID[env_id] = family
        if env_id not in gymnax.registered_envs:
            gymnax.register(env_id, lambda _f=factory, **config: _f(**config)[0])


def registered_envs() -> tuple[str, ...]:
    """Every registered env id, in registration order."""
    return tuple(_BY_ID)


def families() -> tuple[Family, ...]:
    return tuple(_FAMILIES.values())


def family_of(env_id: str) -> Family:
    """The family that declares ``env_id`` exactly; ``ValueError`` with close ids otherwise."""
    try:
        return _BY_ID[env_id]
    except KeyError:
        known = tuple(_BY_ID)
        raise ValueError(
            f"unknown environment id {env_id!r}{suggest(env_id, known)} "
            f"Registered: {', '.join(known)}"
        ) from None


def make(env_id: str, **config: Any) -> tuple[Any, Any]:
    """``(env, params)`` from the family's factory for ``env_id``."""
    return family_of(env_id).envs[env_id](**config)


def _register_builtin() -> None:
    from jaxinv.families import lost_sales, retail, serial

    for family in (serial.FAMILY, retail.FAMILY, lost_sales.FAMILY):
        register(family)


_register_builtin()
