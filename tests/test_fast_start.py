"""The command line starts fast: ``jaxinv --help`` and every subcommand's ``--help`` import
neither JAX nor gymnax, and neither does ``import jaxinv`` (gymnax still knows jaxinv's ids
once it is imported); the CLI keeps JAX's persistent compilation cache where
``JAXINV_COMPILATION_CACHE`` says."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from jaxinv import cli

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("jax", "jaxlib", "flax", "gymnax", "optax", "matplotlib", "pandas")


def python(code: str, **env: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_help_of_every_command_imports_nothing_heavy():
    commands = [
        "",
        "demo",
        "train",
        "evaluate",
        "baseline",
        "compare",
        "sweep",
        "envs",
        "recommend",
    ]
    out = python(
        "import contextlib, io, sys\n"
        "from jaxinv import cli\n"
        f"for command in {commands!r}:\n"
        "    with contextlib.redirect_stdout(io.StringIO()) as text:\n"
        "        try:\n"
        "            cli.main([command, '--help'] if command else ['--help'])\n"
        "        except SystemExit:\n"
        "            pass\n"
        "    assert 'usage: jaxinv' in text.getvalue(), command\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    assert out.strip() == "[]"


def test_import_jaxinv_is_light_and_gymnax_still_knows_its_ids():
    out = python(
        "import sys\n"
        "import jaxinv\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
        "import gymnax\n"
        "env, params = gymnax.make('InvManagement-v1')\n"
        "print(env.name, 'RetailStore-v0' in gymnax.registered_envs, jaxinv.registered_envs)\n"
    )
    light, made = out.splitlines()
    assert light == "[]"
    assert made.startswith("InvManagement-v1 True ('InvManagement-v0', 'InvManagement-v1'")


def test_compilation_cache_directory_follows_the_variable(tmp_path):
    home = Path.home() / ".cache" / "jaxinv" / "jax"
    assert cli.compilation_cache_dir({}) == home
    assert cli.compilation_cache_dir({"XDG_CACHE_HOME": "/x"}) == Path("/x/jaxinv/jax")
    assert cli.compilation_cache_dir({cli.CACHE_VAR: str(tmp_path)}) == tmp_path
    for off in ("0", "off", "false", "No"):
        assert cli.compilation_cache_dir({cli.CACHE_VAR: off, "XDG_CACHE_HOME": "/x"}) is None
    assert cli.use_compilation_cache({"JAX_COMPILATION_CACHE_DIR": "/y"}) is None  # JAX's own
    assert os.environ[cli.CACHE_VAR] == "0"  # the suite's (conftest): the user's cache untouched


def test_the_command_line_fills_the_cache_it_is_given(tmp_path):
    cache = tmp_path / "cache"
    python(
        "from jaxinv import cli\n"
        f"cli.main(['baseline', '--policy', 'constant', '--set', 'env.periods=5', "
        f"'--episodes', '2', '--out', {str(tmp_path / 'run')!r}])\n",
        JAXINV_COMPILATION_CACHE=str(cache),
    )
    assert len(list(cache.iterdir())) >= 1  # compiled programs, however small
