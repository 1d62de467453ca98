"""jaxinv's exact lost-sales solver beside DynaPlex's, in one run.

    python benchmarks/dynaplex_lost_sales.py --dynaplex-python PATH [--cells 2:4,4:19,6:4]
        [--timeout 200]

Each cell ``L:p`` is Zipkin's system with Poisson demand of mean 5 and ``h = 1``. jaxinv's
``solvers.lost_sales.solve`` runs in this interpreter; DynaPlex's ``ExactSolver`` on its
``LostSalesMDP`` runs in ``--dynaplex-python`` (an interpreter with ``dynaplex``), one
process per cell under ``--timeout`` seconds. Both walls are what a user waits for one
cell from a fresh start of the solver (jaxinv: building the problem, compiling and solving;
DynaPlex: building the model, discovering the states and solving), the cells one after
another, alternating the two. Writes ``benchmarks/results/dynaplex_lost_sales.json`` with
the machine and the load averages.

Only the exact solvers are compared here; the issue's simulator and learner comparisons
with DynaPlex are not in this script.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

WORKER = """
import json, sys, time
from dynaplex.exactsolver.facade import ExactSolver
from dynaplex.models.lost_sales import LostSalesMDP
from dynaplex.modelling import DiscreteDist
lead_time, p = int(sys.argv[1]), float(sys.argv[2])
start = time.perf_counter()
mdp = LostSalesMDP(p=p, h=1.0, leadtime=lead_time, demand_dist=DiscreteDist.poisson(5.0))
result = ExactSolver(mdp).solve()
wall = time.perf_counter() - start
import dynaplex
print(json.dumps({"cost": result.cost, "wall_s": wall, "states": result.stats.get("states"),
                  "version": getattr(dynaplex, "__version__", "unknown")}))
"""


def dynaplex_cell(python: str, lead_time: int, p: float, timeout: float) -> dict:
    """DynaPlex's optimum of one cell, in its own process; ``{"timed_out": ...}`` past
    ``timeout`` seconds."""
    try:
        done = subprocess.run(
            [python, "-c", WORKER, str(lead_time), str(p)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )
    except subprocess.TimeoutExpired:
        return {"timed_out": True, "timeout_s": timeout}
    return json.loads(done.stdout.strip().splitlines()[-1])


def jaxinv_cell(lead_time: int, p: float) -> dict:
    """jaxinv's optimum of one cell: problem, compilation and solve, timed together."""
    from jaxinv.envs.lost_sales import demand_pmf
    from jaxinv.solvers import lost_sales as solver

    start = time.perf_counter()
    problem = solver.Problem(demand_pmf("poisson", 5.0), lead_time, 1.0, float(p))
    solution = solver.solve(problem)
    return {
        "cost": solution.average_cost,
        "wall_s": time.perf_counter() - start,
        "states": solution.states,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dynaplex-python", required=True)
    parser.add_argument("--cells", default="2:4,4:19,6:4")
    parser.add_argument("--timeout", type=float, default=200.0)
    args = parser.parse_args()
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from common import RESULTS, write_results

    load_before = os.getloadavg()
    rows = []
    for cell in args.cells.split(","):
        lead_time, p = (float(x) for x in cell.split(":"))
        lead_time = int(lead_time)
        ours = jaxinv_cell(lead_time, p)
        theirs = dynaplex_cell(args.dynaplex_python, lead_time, p, args.timeout)
        row = {"lead_time": lead_time, "lost_sale_cost": p, "jaxinv": ours, "dynaplex": theirs}
        if "cost" in theirs:
            row["cost_difference"] = ours["cost"] - theirs["cost"]
            row["dynaplex_over_jaxinv_wall"] = theirs["wall_s"] / ours["wall_s"]
        rows.append(row)
        them = (
            f"{theirs['cost']:.6f} in {theirs['wall_s']:6.1f} s"
            if "cost" in theirs
            else f"not finished in {args.timeout:.0f} s"
        )
        print(
            f"L={lead_time} p={p:g}: jaxinv {ours['cost']:.6f} in {ours['wall_s']:6.1f} s "
            f"({ours['states']:,} states); DynaPlex {them}"
        )
    body = {
        "benchmark": "dynaplex_lost_sales",
        "demand": "poisson, mean 5",
        "holding_cost": 1.0,
        "rows": rows,
    }
    path = write_results("dynaplex_lost_sales", body, load_before)
    print(f"wrote {path.relative_to(RESULTS.parent.parent)}")


if __name__ == "__main__":
    main()
