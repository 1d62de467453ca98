"""What ``jaxinv envs`` prints: every registered id, and one id's config, spaces and baselines.

Everything comes from the family declarations (``jaxinv.families``: descriptions, ``ConfigDoc``,
baselines and comparison roles, ``UserState``) and from the env ``jaxinv.make`` builds
(observation layout, action space), so the listing follows the code.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from jaxinv import families


def listing() -> str:
    """One line per registered env id: the id and its family's one-line description."""
    ids = families.registered_envs()
    width = max(len(env_id) for env_id in ids)
    lines = []
    for env_id in ids:
        family = families.family_of(env_id)
        text = family.descriptions.get(env_id, "(no description declared)")
        lines.append(f"{env_id:<{width}}  {text}")
    return "\n".join(lines)


def _shown(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 24 else text[:21] + "..."


def config_lines(doc: families.ConfigDoc) -> list[str]:
    """``key  default  meaning and allowed values``, one line per config key."""
    width = max(len(key) for key in doc.defaults)
    return [
        f"  {key:<{width}}  {_shown(doc.defaults[key]):<24}  {doc.allowed[key]}"
        for key in doc.defaults
    ]


def observation_lines(env: Any) -> list[str]:
    """The observation's segments with their index ranges."""
    lines, start = [], 0
    layout = env.observation_layout()
    width = max(len(name) for name, _, _ in layout)
    for name, length, meaning in layout:
        where = f"[{start}]" if length == 1 else f"[{start}:{start + length}]"
        lines.append(f"  {where:<9} {name:<{width}}  {meaning}")
        start += length
    return lines


def action_line(env: Any, params: Any) -> str:
    """The action space in words."""
    space = env.action_space(params)
    if hasattr(space, "nvec"):
        nvec = np.asarray(space.nvec)
        return (
            f"{space!r}: one whole order per stage, retailer first; stage i orders 0 to "
            f"nvec[i] - 1 ({(nvec - 1).tolist()})"
        )
    if hasattr(space, "n"):
        return f"Discrete({space.n}): one whole order, 0 to {space.n - 1}"
    return repr(space)


def baseline_line(family: families.Family) -> str:
    """The family's baselines, with their roles in ``jaxinv compare``."""
    spec = family.compare
    names = []
    for name in family.baselines:
        roles = []
        if spec is not None and name == spec.reference:
            roles.append("reference")
        if spec is not None and name == spec.bound:
            roles.append(spec.bound_kind)
        names.append(f"{name} ({', '.join(roles)})" if roles else name)
    return ", ".join(names) or "none declared"


def describe(env_id: str, config: dict[str, Any] | None = None) -> str:
    """Everything ``jaxinv envs ID [--set KEY=VALUE ...]`` prints about ``env_id``;
    ``ValueError`` for an unknown id (with close ids) or a bad config key."""
    family = families.family_of(env_id)
    config = dict(config or {})
    env, params = families.make(env_id, **config)
    lines = [f"{env_id} (family {family.name})"]
    lines.append(f"  {family.descriptions.get(env_id, '(no description declared)')}")
    lines.append("")
    doc = family.config.get(env_id)
    lines.append(
        "config keys (jaxinv.make(ID, KEY=VALUE); --set env.KEY=VALUE on the command line):"
    )
    if doc is None:
        lines.append("  (not declared by the family)")
    else:
        lines.extend(config_lines(doc))
    given = f" with {json.dumps(config)}" if config else ""
    lines.append("")
    lines.append(f"observation{given}: {env.obs_size} float32 values")
    lines.extend(observation_lines(env))
    lines.append("")
    lines.append(f"action space: {action_line(env, params)}")
    lines.append(f"baselines (jaxinv baseline --policy NAME): {baseline_line(family)}")
    spec = family.user_state
    lines.append("")
    lines.append("state fields (jaxinv recommend --state FILE.json or --set FIELD=VALUE):")
    if spec is None:
        lines.append("  (not declared by the family: recommend does not support it)")
    else:
        width = max(len(name) for name in spec.fields)
        for name, meaning in spec.fields.items():
            need = "required" if name in spec.required else "optional"
            lines.append(f"  {name:<{width}}  {need}: {meaning}")
    return "\n".join(lines)
