"""The repository keeps its promises: CI runs exactly the README's test command."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    """The shell commands in the README's Quickstart section, in order."""
    text = (ROOT / "README.md").read_text()
    quickstart = text.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```(?:bash|sh)\n(.+?)\n```", quickstart, flags=re.S)


def test_ci_runs_the_readme_test_command() -> None:
    commands = readme_commands()
    assert len(commands) == 2, commands
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert commands[1].strip() in [line.strip() for line in ci_lines]
    assert "pytest" in commands[1]
    # The first command is the comparison a newcomer runs first: learners against baselines.
    assert "jaxinv compare --env InvManagement-v1" in commands[0]


def test_pinned_dependencies_import_together_at_their_pins() -> None:
    """The runtime pins in pyproject.toml are what is installed, and they import together."""
    import importlib
    import tomllib
    from importlib.metadata import version

    pins = {}
    for requirement in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "dependencies"
    ]:
        name, sep, pinned = requirement.partition("==")
        if sep:
            pins[name] = pinned
    assert {"jax", "jaxlib", "flax", "optax", "chex", "distrax", "gymnax"} <= set(pins)
    for name, pinned in pins.items():
        assert version(name) == pinned, name
    for module in ("jax", "flax.struct", "optax", "chex", "distrax", "gymnax"):
        importlib.import_module(module)
