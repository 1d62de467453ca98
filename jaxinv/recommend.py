"""Using a policy: load it from a run directory, and ask it what to order today.

``load_policy(run_dir, seed=None) -> LoadedPolicy`` rebuilds the policy a directory holds:

- a trained run (``jaxinv train``, a learner of ``jaxinv compare``, a configuration of
  ``jaxinv sweep``): the learner's greedy policy of seed ``seed`` (default 0);
- a fitted baseline (``jaxinv baseline --out DIR``, a baseline of a comparison): its saved
  ``params`` go back to the family's fit as options, which rebuilds the policy from them where
  they describe it (base-stock levels, (s, S), constant orders) and otherwise fits it again
  from the saved config (fits are deterministic: the DP is solved again, the shrinking-horizon
  LP set up again). The LP oracle is a bound computed on whole demand paths known in advance,
  not a policy: it is refused.

``LoadedPolicy`` carries the env and params it was trained or fitted on. Called on one env
state (no batch axis), ``loaded(state, key=None)`` gives that state's action: ``()`` for one
store, ``(M,)`` orders for M stages; it is jittable (``jax.jit(loaded)``). ``loaded.policy`` is
jaxinv's batched policy ``(key, obs (N, D), state (N, ...)) -> actions (N, ...)`` for
``jaxinv.evaluate``.

``state_from_fields(env, params, fields)`` builds that state from a user's own numbers (on
hand, orders in transit, backlog, the day) with the family's ``UserState`` declaration, and
``recommend`` puts it together: the policy's order beside the family's reference baseline's.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import jaxinv
from jaxinv import families, runs


class StateError(ValueError):
    """A state field that is missing, unknown or impossible for the env's config."""


def field_error(env_id: str, name: str, value: Any, allowed: str) -> StateError:
    """The error for state field ``name=value`` of ``env_id``."""
    return StateError(f"{env_id}: state field {name!r}={value!r} is not allowed; {allowed}")


def check_fields(env_id: str, fields: Mapping[str, Any], spec: families.UserState) -> None:
    """Raise on the first unknown field (suggesting close names), then the first missing one."""
    known = tuple(spec.fields)
    for name in fields:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
            hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
            raise StateError(
                f"{env_id}: unknown state field {name!r}.{hint} Fields: {', '.join(known)}"
            )
    for name in spec.required:
        if name not in fields:
            raise StateError(f"{env_id}: state field {name!r} is missing: {spec.fields[name]}")


def counts(
    env_id: str,
    name: str,
    value: Any,
    shape: tuple[int, ...],
    why: str,
    high: Any = None,
) -> np.ndarray:
    """``value`` as whole numbers >= 0 of ``shape`` (units, float32), each at most ``high``
    (broadcast to ``shape``) if given; ``StateError`` naming ``name`` otherwise."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise field_error(env_id, name, value, f"expected {why}") from None
    if array.shape != shape:
        length = f"{shape[0]} entries" if len(shape) == 1 else "a single number"
        raise field_error(env_id, name, value, f"expected {length} ({why})")
    if not np.all(np.isfinite(array)) or np.any(array < 0) or np.any(array != np.round(array)):
        raise field_error(env_id, name, value, f"expected whole numbers >= 0 ({why})")
    if high is not None:
        limit = np.broadcast_to(np.asarray(high, np.float64), shape)
        if np.any(array > limit):
            raise field_error(env_id, name, value, f"at most {plain(high)} ({why})")
    return array.astype(np.float32)


def plain(values: Any) -> Any:
    """Numbers as a person writes them: whole ones without ``.0`` (nested lists kept)."""
    array = np.asarray(values)
    if array.dtype.kind == "f" and np.all(np.isfinite(array)) and np.all(array == np.round(array)):
        array = array.astype(np.int64)
    return array.tolist()


def whole(env_id: str, name: str, value: Any, low: int, high: int, why: str) -> int:
    """A whole number in ``[low, high]``; ``StateError`` naming ``name`` otherwise."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not number or not math.isfinite(value) or value != int(value):
        raise field_error(env_id, name, value, f"expected a whole number ({why})")
    if not low <= value <= high:
        raise field_error(env_id, name, value, f"allowed: {low} to {high} ({why})")
    return int(value)


def state_from_fields(env: Any, params: Any, fields: Mapping[str, Any]) -> Any:
    """The env state (one env, no batch axis) the user's ``fields`` describe, checked against
    the env's config by its family's ``UserState``."""
    spec = families.family_of(env.name).user_state
    if spec is None:
        raise ValueError(f"the family of {env.name} does not say how to build a state")
    check_fields(env.name, fields, spec)
    return spec.build(env, params, fields)


# -- loading a policy ---------------------------------------------------------------------------


@dataclass(eq=False)  # hashed by identity: jax.jit(loaded) closes over env and params
class LoadedPolicy:
    """A policy read back from a run directory, with the env and params it is for."""

    env_id: str
    env: Any
    params: Any
    policy: Callable  # jaxinv's batched (key, obs (N, D), state (N, ...)) -> actions (N, ...)
    name: str  # e.g. "ppo seed 0", "base_stock levels=[...]"
    run_dir: Path
    kind: str  # "learner" or "baseline"
    info: dict[str, Any] = field(default_factory=dict)  # the summary's params, the algorithm

    def __call__(self, state: Any, key: Any = None) -> Any:
        """The action for one env ``state`` (no batch axis): ``()`` or ``(M,)``; ``key`` (default
        ``PRNGKey(0)``) only matters to a random policy. Jittable."""
        import jax

        key = jax.random.PRNGKey(0) if key is None else key
        obs = self.env.get_obs(state, self.params)
        batch = jax.tree.map(lambda leaf: leaf[None], (obs, state))
        return self.policy(key, *batch)[0]


def load_policy(run_dir: str | Path, seed: int | None = None) -> LoadedPolicy:
    """The policy in ``run_dir`` (a trained run or a fitted baseline; see the module doc);
    ``seed`` picks one of a multi-seed run's agents (default 0). ``ValueError`` or
    ``FileNotFoundError`` naming what is wrong with the directory."""
    run_dir = Path(run_dir)
    summary = _read_if_there(run_dir / runs.SUMMARY)
    if summary.get("command") == "baseline":
        if seed not in (None, 0):
            raise ValueError(f"{run_dir} holds a baseline, which has no seeds: drop seed={seed}")
        return _load_baseline(run_dir, summary)
    config = _read_if_there(run_dir / runs.CONFIG)
    # A sweep's or a comparison's own config.json names its algorithm(s) too.
    whole = "configurations" in config or (config.get("command") == "compare" and "algos" in config)
    if isinstance(config.get("algo"), str) and not whole:
        return _load_learner(run_dir, 0 if seed is None else seed)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"{run_dir} is not a directory")
    inside = sorted(p.name for p in run_dir.iterdir() if p.is_dir() and runs.find_run(p))
    if inside:
        raise ValueError(
            f"{run_dir} holds several runs, not one policy: give one of its subdirectories "
            f"({', '.join(inside)})"
        )
    raise ValueError(
        f"{run_dir} holds no trained run (config.json with an algo and a checkpoint) and no "
        f"fitted baseline (summary.json of jaxinv baseline)"
    )


def _read_if_there(path: Path) -> dict[str, Any]:
    return runs.read_json(path) if path.is_file() else {}


def _load_learner(run_dir: Path, seed: int) -> LoadedPolicy:
    from jaxinv import training

    loaded = training.load_run(run_dir)
    seeds = int(loaded.config["seeds"])
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < seeds:
        raise ValueError(f"seed={seed!r}: {run_dir} trained seeds 0 to {seeds - 1}")
    built = loaded.built
    agent = training.seed_slice(loaded.agent, seed)
    algo = loaded.config["algo"]
    return LoadedPolicy(
        env_id=loaded.config["env"],
        env=built.env,
        params=built.params,
        policy=built.learner.policy(agent, True),
        name=f"{algo} seed {seed}",
        run_dir=run_dir,
        kind="learner",
        info={"algo": algo, "seed": seed},
    )


def _load_baseline(run_dir: Path, summary: dict[str, Any]) -> LoadedPolicy:
    from jaxinv import training

    env_id, name = summary["env"], summary["policy"]
    env_config, options = training.split_overrides(summary.get("config", {}))
    env, params = jaxinv.make(env_id, **env_config)
    saved = summary.get("params", {})
    family = families.family_of(env_id)
    if name not in family.baselines:
        raise ValueError(f"{run_dir}: {env_id} has no baseline {name!r} any more")
    # Options the fit does not read (descriptive params, say) are left over: ignored here.
    policy, fitted, _ = family.baselines[name](env, params, {**options, **saved})
    if hasattr(policy, "evaluate_bound"):
        raise ValueError(
            f"{run_dir} holds the {name!r} baseline, a bound computed on each whole demand path "
            f"known in advance: it cannot choose an order from today's state alone"
        )
    return _baseline_policy(env_id, env, params, name, policy, fitted, run_dir)


def _baseline_policy(
    env_id: str, env: Any, params: Any, name: str, policy: Callable, fitted: dict, run_dir: Path
) -> LoadedPolicy:
    """A fitted baseline as a ``LoadedPolicy``, named by its parameters."""
    shown = " ".join(f"{k}={plain(v)}" for k, v in fitted.items() if k != "policy_table_shape")
    return LoadedPolicy(
        env_id=env_id,
        env=env,
        params=params,
        policy=policy,
        name=f"{name} {shown}".strip(),
        run_dir=run_dir,
        kind="baseline",
        info={"policy": name, "params": fitted},
    )


# -- recommending an order ----------------------------------------------------------------------


@dataclass
class Recommendation:
    """The orders for one state: the policy's and (if any) the reference baseline's."""

    env_id: str
    state: Any  # the env state built from the user's fields
    policy: str  # its name
    order: np.ndarray  # () or (M,) the policy's order
    reference: str | None = None
    reference_order: np.ndarray | None = None
    reference_source: str = ""  # "fitted" or the directory it was read from


def same_problem(a: LoadedPolicy, b: LoadedPolicy) -> bool:
    """True when both policies were made for the same env id, dynamics and params (the
    observation they see may differ)."""
    from jaxinv.envs.base import env_fingerprint

    def name(p: LoadedPolicy) -> str:
        return env_fingerprint(p.env, p.params, include_observation=False)

    return a.env_id == b.env_id and name(a) == name(b)


def reference_policy(loaded: LoadedPolicy) -> LoadedPolicy | None:
    """The family's reference baseline (``CompareSpec.reference``) fitted for ``loaded``'s
    env and params; None where the family names none."""
    from jaxinv import baselines

    spec = families.family_of(loaded.env_id).compare
    if spec is None:
        return None
    policy, fitted, _ = baselines.fit(loaded.env_id, spec.reference, loaded.env, loaded.params, {})
    return _baseline_policy(
        loaded.env_id, loaded.env, loaded.params, spec.reference, policy, fitted, loaded.run_dir
    )


def recommend(
    loaded: LoadedPolicy,
    fields: Mapping[str, Any],
    reference: LoadedPolicy | None = None,
    reference_source: str = "fitted",
) -> Recommendation:
    """The order ``loaded`` places in the state ``fields`` describe, with ``reference``'s
    (which must be for the same problem) beside it."""
    state = state_from_fields(loaded.env, loaded.params, fields)
    order = np.asarray(loaded(state))
    result = Recommendation(loaded.env_id, state, loaded.name, order)
    if reference is not None:
        if not same_problem(loaded, reference):
            raise ValueError(
                f"the baseline in {reference.run_dir} was fitted for another problem than the "
                f"policy in {loaded.run_dir} (env id, dynamics or params differ): fit it with "
                f"the run's env settings (the env.* keys of its config.json), or leave "
                f"--baseline out to fit the reference now"
            )
        result.reference = reference.name
        result.reference_order = np.asarray(reference(state))
        result.reference_source = reference_source
    return result


def describe_state(state: Any) -> str:
    """``on_hand=12 pipeline=[3, 0] ...``: every field of an env state, as the policy sees it."""
    parts = []
    for name in state.__dataclass_fields__:
        parts.append(f"{name}={plain(getattr(state, name))}")
    return " ".join(parts)


def report(result: Recommendation) -> str:
    """The recommendation as lines of text: one row per stage (or one order)."""
    order = np.atleast_1d(result.order)
    ref = None if result.reference_order is None else np.atleast_1d(result.reference_order)
    lines = [f"{result.env_id}, state: {describe_state(result.state)}"]
    head = f"  {'':<10} {'policy':>8}"
    if ref is not None:
        head += f" {'reference':>10}"
    lines.append(head)
    for i, quantity in enumerate(order):
        label = "order" if order.size == 1 and np.ndim(result.order) == 0 else f"stage {i}"
        row = f"  {label:<10} {_units(quantity):>8}"
        if ref is not None:
            row += f" {_units(ref[i]):>10}"
        lines.append(row)
    lines.append(f"  policy: {result.policy}")
    if ref is not None:
        lines.append(f"  reference: {result.reference} ({result.reference_source})")
    return "\n".join(lines)


def _units(x: Any) -> str:
    x = float(x)
    return f"{x:g}"
