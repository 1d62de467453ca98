"""The OR-Gym paper's LP baselines on InvManagement-v0/-v1, on jaxinv's evaluation paths.

For each env (defaults): the perfect-information LP (oracle) and the shrinking-horizon LP
(SHLP) on the first ``--episodes`` paths of the fixed evaluation key (the paths every jaxinv
run and baseline is scored on), the echelon base-stock policy with the README's searched levels
on the same paths, paired differences, the check that replaying the oracle's plans in the env
earns the oracle's values, and a comparison with the paper's published means (10 paths, sd
about 30, so a standard error of about 9.5).

Usage: python scripts/lp_baselines.py [--episodes 1000] [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np

import jaxinv
from jaxinv import evaluate as evaluate_lib
from jaxinv import training
from jaxinv.policies import base_stock
from jaxinv.solvers import lp

PAPER = {  # OR-Gym paper (Hubbs et al. 2020), mean of 10 paths
    "InvManagement-v0": {"oracle": 546.8, "shlp": 508.0},
    "InvManagement-v1": {"oracle": 542.7, "shlp": 485.4},
}
PAPER_SE = 30.0 / math.sqrt(10.0)
SEARCHED_LEVELS = {  # README: base-stock levels searched on 2,000 paths (SEARCH_SEED)
    "InvManagement-v0": [91.0, 211.0, 416.0],
    "InvManagement-v1": [94.0, 211.0, 408.0],
}


def describe(result: evaluate_lib.EvalResult) -> dict[str, float]:
    return {**result.as_dict(), "se": result.std / math.sqrt(result.episodes)}


def against_paper(ours: evaluate_lib.EvalResult, paper: float) -> dict[str, float]:
    """Our mean minus the paper's, and that difference in combined standard errors."""
    se = math.hypot(ours.std / math.sqrt(ours.episodes), PAPER_SE)
    return {"paper": paper, "difference": ours.mean - paper, "z": (ours.mean - paper) / se}


def paired(a: evaluate_lib.EvalResult, b: evaluate_lib.EvalResult) -> dict[str, float]:
    diff = evaluate_lib.paired_difference(a, b)
    return {"mean": diff.mean, "ci95": list(diff.ci95)}


def run(env_id: str, episodes: int) -> dict:
    env, params = jaxinv.make(env_id)
    setup = training.evaluation_set(env, params, episodes)
    out: dict = {"episodes": episodes}

    start = time.perf_counter()
    oracle = lp.OracleBound().evaluate_bound(env, **setup)
    out["oracle_wall_s"] = time.perf_counter() - start
    demand = lp.evaluation_demand(env, params, setup["key"], episodes, env.periods)
    plans = lp.oracle_plans(lp.SerialChainLP(env, params), demand)
    orders = np.stack([plan.shipments for plan in plans])
    replayed = lp.replay_returns(env, params, demand, np.round(orders))
    out["oracle_integrality_gap"] = float(np.abs(orders - np.round(orders)).max())
    out["oracle_replay_max_gap"] = float(np.abs(replayed - oracle.returns).max())

    start = time.perf_counter()
    shlp = evaluate_lib.evaluate(env, lp.shlp_policy(env, params), **setup)
    out["shlp_wall_s"] = time.perf_counter() - start
    policy = base_stock.echelon_base_stock(env, params, SEARCHED_LEVELS[env_id])
    stock = evaluate_lib.evaluate(env, policy, **setup)

    out["oracle"] = {**describe(oracle), **against_paper(oracle, PAPER[env_id]["oracle"])}
    out["shlp"] = {**describe(shlp), **against_paper(shlp, PAPER[env_id]["shlp"])}
    out["base_stock"] = {**describe(stock), "levels": SEARCHED_LEVELS[env_id]}
    out["shlp_minus_base_stock"] = paired(shlp, stock)
    out["oracle_minus_shlp"] = paired(oracle, shlp)
    out["oracle_minus_shlp_min"] = float((oracle.returns - shlp.returns).min())
    out["oracle_minus_base_stock_min"] = float((oracle.returns - stock.returns).min())
    out["demand_mean_per_period"] = float(demand.mean())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=evaluate_lib.DEFAULT_EPISODES)
    parser.add_argument("--envs", default="InvManagement-v0,InvManagement-v1")
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    args = parser.parse_args()
    results = {env_id: run(env_id, args.episodes) for env_id in args.envs.split(",")}
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as handle:
            handle.write(text + "\n")


if __name__ == "__main__":
    main()
