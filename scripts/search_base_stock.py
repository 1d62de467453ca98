"""Search echelon base-stock levels for an InvManagement chain and evaluate them out of sample.

Prints (and with ``--out`` writes as JSON) the levels found on ``--paths`` common demand paths,
their in-sample mean return, the search's evaluations and wall time, and an evaluation of the
found levels and of ``--compare`` levels on ``--eval-episodes`` fresh paths (another key),
with 95% confidence intervals and the paired difference. Returns are OR-Gym's discounted
30-period returns, in currency units.

    python scripts/search_base_stock.py --env InvManagement-v1 --paths 4000
"""

from __future__ import annotations

import argparse
import json
import time

import jax

import jaxinv
from jaxinv import evaluate
from jaxinv.policies import base_stock


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="InvManagement-v1")
    parser.add_argument("--paths", type=int, default=2000, help="demand paths in the search")
    parser.add_argument("--eval-episodes", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0, help="search key; evaluation uses +1")
    parser.add_argument("--compare", type=float, nargs="+", default=[85.0, 200.0, 410.0])
    parser.add_argument("--out", default=None, help="write the results here as JSON")
    args = parser.parse_args()

    env, params = jaxinv.make(args.env)
    found = base_stock.search_base_stock(env, params, jax.random.key(args.seed), args.paths)
    eval_key = jax.random.key(args.seed + 1)
    start = time.perf_counter()
    results = {
        "found": evaluate.evaluate(
            env,
            base_stock.echelon_base_stock(env, params, found.base_stock_level),
            params,
            eval_key,
            args.eval_episodes,
        ),
        "compare": evaluate.evaluate(
            env,
            base_stock.echelon_base_stock(env, params, args.compare),
            params,
            eval_key,
            args.eval_episodes,
        ),
    }
    eval_s = time.perf_counter() - start
    diff = evaluate.paired_difference(results["found"], results["compare"])
    summary = {
        "env": args.env,
        "search": {
            "base_stock_level": found.base_stock_level.tolist(),
            "increments": found.increments.tolist(),
            "mean_return_in_sample": found.mean_return,
            "paths": found.num_paths,
            "evaluations": found.evaluations,
            "wall_s": round(found.wall_s, 2),
        },
        "eval": {name: r.as_dict() for name, r in results.items()},
        "compare_levels": args.compare,
        "found_minus_compare": {"mean": diff.mean, "std": diff.std, "ci95": list(diff.ci95)},
        "eval_wall_s": round(eval_s, 2),
        "devices": f"{len(jax.local_devices())} {jax.default_backend()}",
    }
    print(json.dumps(summary, indent=1, default=float))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(summary, f, indent=1, default=float)


if __name__ == "__main__":
    main()
