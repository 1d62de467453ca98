"""Env and training throughput of this checkout against an earlier revision, in one run.

    python benchmarks/against_revision.py --base REV [--rounds 2] [--algos ppo,a2c,dqn]

The machine's speed drifts from run to run, so a change is only judged against its base
measured in the same run: REV is checked out into a temporary git worktree, and each round
runs ``benchmarks/env_throughput.py`` and ``benchmarks/train_throughput.py`` of the base tree,
then of this tree (each tree's own benchmark scripts and library, through ``PYTHONPATH``). Per
configuration the best steps/s over the rounds is kept, and the ratio this/base is reported.
Writes ``benchmarks/results/against_revision.json`` with the machine and both revisions.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


def run_tree(tree: Path, script: str, args: list[str], out: Path) -> dict:
    """Run ``tree``'s ``benchmarks/<script>`` with ``tree``'s jaxinv; its JSON result."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    env.pop("XLA_FLAGS", None)  # each script sets one device per core itself
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, str(tree / "benchmarks" / script), *args, "--out", str(out)],
        check=True,
        env=env,
        cwd=tree,
        stdout=subprocess.DEVNULL,
    )
    (path,) = [p for p in out.glob("*.json")]
    return json.loads(path.read_text())


def env_rates(result: dict) -> dict[str, float]:
    return {
        f"env {r['api']} {r['devices']} dev x {r['num_envs']} envs": r["steps_per_s"]
        for r in result["runs"]
    }


def train_rates(result: dict) -> dict[str, float]:
    rates = {}
    for algo, block in result["algos"].items():
        for r in block["runs"]:
            rates[f"train {algo} {r['seeds']} seeds {r['devices']} dev"] = r["steps_per_s"]
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", required=True, help="the git revision to measure against")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--algos", default="ppo,a2c,dqn")
    parser.add_argument("--env", default="InvManagement-v1")
    parser.add_argument("--out", type=Path, default=RESULTS / "against_revision.json")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    from jaxinv.runs import machine

    def revision(ref: str) -> str:
        return subprocess.run(
            ["git", "rev-parse", "--short", ref],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    base_rev, head_rev = revision(args.base), revision("HEAD")
    env_args = ["--env", args.env, "--repeats", "3"]
    train_args = ["--env", args.env, "--algos", args.algos, "--repeats", "3"]
    best: dict[str, dict[str, float]] = {"base": {}, "this": {}}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        base_tree = Path(tmp) / "base"
        subprocess.run(
            ["git", "worktree", "add", "--detach", "-q", str(base_tree), args.base],
            cwd=ROOT,
            check=True,
        )
        try:
            for round_ in range(args.rounds):
                for name, tree in (("base", base_tree), ("this", ROOT)):
                    where = Path(tmp) / f"{name}{round_}"
                    rates = env_rates(run_tree(tree, "env_throughput.py", env_args, where / "e"))
                    result = run_tree(tree, "train_throughput.py", train_args, where / "t")
                    rates.update(train_rates(result))
                    for key, value in rates.items():
                        best[name][key] = max(best[name].get(key, 0.0), value)
                    print(f"round {round_ + 1}/{args.rounds}: {name} done", file=sys.stderr)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base_tree)], cwd=ROOT)
    rows = [
        {
            "what": key,
            "base_steps_per_s": best["base"][key],
            "this_steps_per_s": best["this"][key],
            "ratio": best["this"][key] / best["base"][key],
        }
        for key in best["this"]
        if key in best["base"]
    ]
    result = {
        "base": base_rev,
        "this": head_rev,
        "env": args.env,
        "rounds": args.rounds,
        "machine": machine(),
        # Other work on the CPU makes both trees slower, not always equally: see these.
        "load_average_before": list(load_before),
        "load_average_after": list(os.getloadavg()),
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    width = max(len(r["what"]) for r in rows)
    for r in rows:
        print(
            f"{r['what']:<{width}}  base {r['base_steps_per_s'] / 1e3:10.1f}k  "
            f"this {r['this_steps_per_s'] / 1e3:10.1f}k  ratio {r['ratio']:.3f}"
        )


if __name__ == "__main__":
    main()
