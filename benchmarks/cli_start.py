"""How fast the command line starts, and what the persistent compilation cache saves.

    python benchmarks/cli_start.py [--repeats 7]

Each figure is a fresh process (``python -m jaxinv.cli``, this checkout on ``PYTHONPATH``;
also the installed ``jaxinv`` console script beside the interpreter, where there is one):

- ``jaxinv --help`` and each subcommand's ``--help``: median wall seconds over ``--repeats``;
- ``import jaxinv`` (light: nothing heavy loads), ``import jaxinv.families`` (what any real
  command needs: JAX, flax and gymnax, which imports every gymnax env, seaborn and pandas) and
  the bare interpreter, for the floor;
- ``jaxinv train`` of a small PPO config twice with one compilation cache, empty before the
  first run (``JAXINV_COMPILATION_CACHE``): each run's wall seconds and its ``compile_s``
  (init and compiling the training chunks, from its summary.json).

Writes ``benchmarks/results/cli_start.json`` with the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import write_results

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = ["demo", "train", "evaluate", "baseline", "compare", "sweep"]
# A small training run: 40 PPO updates of 20 envs x 30 periods on InvManagement-v1.
TRAIN = ["train", "--algo", "ppo", "--total-steps", "24000", "--quiet"]
TRAIN += ["--set", "num_envs=20", "--set", "num_steps=30", "--episodes", "100"]


def wall(argv: list[str], env: dict[str, str] | None = None) -> float:
    """Wall seconds of one fresh process running ``argv`` (which must succeed)."""
    start = time.perf_counter()
    subprocess.run(argv, check=True, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def median_wall(argv: list[str], repeats: int, env: dict[str, str]) -> float:
    return statistics.median(wall(argv, env) for _ in range(repeats))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    load_before = os.getloadavg()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("XLA_FLAGS", None)
    python = [sys.executable]
    cli = [*python, "-m", "jaxinv.cli"]
    helps = {"jaxinv --help": median_wall([*cli, "--help"], args.repeats, env)}
    script = Path(sys.executable).parent / "jaxinv"  # the console script pip installs
    if script.exists():
        helps["jaxinv --help (console script)"] = median_wall([str(script), "--help"], 3, env)
    for command in COMMANDS:
        helps[f"jaxinv {command} --help"] = median_wall([*cli, command, "--help"], 3, env)
    imports = {
        name: median_wall([*python, "-c", code], max(3, args.repeats // 2), env)
        for name, code in [
            ("python (interpreter alone)", "pass"),
            ("import jaxinv", "import jaxinv"),
            ("import jaxinv.families (JAX, flax, gymnax)", "import jaxinv.families"),
        ]
    }
    train = []
    with tempfile.TemporaryDirectory() as tmp:
        cached = {**env, "JAXINV_COMPILATION_CACHE": str(Path(tmp) / "cache")}
        for run in ("first (empty cache)", "second (same cache)"):
            out = Path(tmp) / f"run{len(train)}"
            seconds = wall([*cli, *TRAIN, "--out", str(out)], cached)
            summary = json.loads((out / "summary.json").read_text())
            files = [p for p in (Path(tmp) / "cache").rglob("*") if p.is_file()]
            train.append(
                {
                    "run": run,
                    "wall_s": seconds,
                    "compile_s": summary["compile_s"],
                    "train_s": summary["train_s"],
                    "cache_entries": len(files),
                    "cache_bytes": sum(p.stat().st_size for p in files),
                }
            )
    ratio = train[1]["compile_s"] / train[0]["compile_s"]
    body = {
        "help_s": helps,
        "import_s": imports,
        "train_argv": TRAIN,
        "train": train,
        "second_over_first_compile": ratio,
        "repeats": args.repeats,
    }
    path = write_results("cli_start", body, load_before)
    for name, seconds in {**helps, **imports}.items():
        print(f"{name:<46} {seconds:6.2f} s (median)")
    for r in train:
        print(
            f"jaxinv train, {r['run']:<22} wall {r['wall_s']:6.2f} s, compile "
            f"{r['compile_s']:6.2f} s, cache {r['cache_entries']} files, "
            f"{r['cache_bytes'] / 2**20:.1f} MiB"
        )
    print(f"second/first compile: {ratio:.2f} -> {path}")


if __name__ == "__main__":
    main()
