"""Zipkin's lost-sales grid solved exactly: optimum, best heuristics and their gaps, timed.

    python benchmarks/lost_sales_solve.py [--cells poisson:2:4,geometric:4:39] [--skip-heuristics]
                                          [--long-lead-time 6] [--long-p 4]

For Poisson and geometric demand of mean 5, h = 1, p in {4, 9, 19, 39} and L in {1, 2, 3, 4}
(32 cells), ``jaxinv.solvers.lost_sales.solve`` finds the optimal average cost by relative
value iteration on Zipkin's truncated space (span < 1e-7), timed per cell (compilation
included: each cell has its own shapes). Then, evaluated exactly on the same chain: the best
capped base-stock pair (every cap r up to Zipkin's order bound), the best uncapped
base-stock level (descent on S from the capped pair's S; the cost is convex in S) and Zipkin's
myopic policy, with their gaps to
the optimum in %; the published best base-stock gaps (Poisson) are printed beside ours. Last,
one longer lead time (default L = 6, p = 4, Poisson): how far the solver goes (states, time).
Writes ``benchmarks/results/lost_sales_solve.json`` with the machine.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from jaxinv.envs.lost_sales import demand_pmf
from jaxinv.runs import machine
from jaxinv.solvers import lost_sales as solver

RESULTS = Path(__file__).parent / "results"
MODELS = ("poisson", "geometric")
LEAD_TIMES = (1, 2, 3, 4)
PENALTIES = (4, 9, 19, 39)

# Best base-stock gap to the optimum in %, Poisson mean 5, h = 1 (the Deep Controlled Learning
# authors' logs, Temizoz et al. 2025, as quoted in issue 15): (L, p) -> gap.
PUBLISHED_BASE_STOCK_GAP = {
    (2, 4): 5.54, (2, 9): 3.65, (2, 19): 2.32, (2, 39): 0.92,
    (3, 4): 8.18, (3, 9): 5.09, (3, 19): 2.89, (3, 39): 1.79,
    (4, 4): 9.92, (4, 9): 6.36, (4, 19): 3.88, (4, 39): 2.48,
}  # fmt: skip
# Zipkin (2008) optimal average cost, mean 5, h = 1: (model, L, p) -> cost.
PUBLISHED_OPTIMUM = {
    ("poisson", 2, 4): 4.40, ("poisson", 2, 19): 7.66, ("poisson", 4, 4): 4.73,
    ("poisson", 4, 19): 8.89, ("geometric", 2, 4): 10.24, ("geometric", 2, 19): 20.89,
    ("geometric", 4, 4): 10.61, ("geometric", 4, 19): 22.95,
}  # fmt: skip


def gap(cost: float, optimum: float) -> float:
    return 100.0 * (cost / optimum - 1.0)


def solve_cell(model: str, lead_time: int, p: int, heuristics: bool) -> dict:
    """One cell: the optimum, its truncation check and (optionally) the heuristics."""
    problem = solver.Problem(demand_pmf(model, 5.0), lead_time, 1.0, float(p))
    start = time.perf_counter()
    solution = solver.solve(problem)
    solve_s = time.perf_counter() - start
    row = {
        "demand": model,
        "lead_time": lead_time,
        "lost_sale_cost": p,
        "optimum": solution.average_cost,
        "span": solution.upper - solution.lower,
        "iterations": solution.iterations,
        "states": solution.states,
        "position_bound": solution.position_bound,
        "order_bound": solution.order_bound,
        "solve_s": solve_s,
    }
    start = time.perf_counter()
    row["truncation"] = solver.truncation_check(problem, solution)
    row["truncation_check_s"] = time.perf_counter() - start
    published = PUBLISHED_OPTIMUM.get((model, lead_time, p))
    if published is not None:
        row["published_optimum"] = published
    if not heuristics:
        return row
    start = time.perf_counter()
    (level, cap), evaluation, tried = solver.best_capped_base_stock(problem)
    row["capped_base_stock"] = {"S": level, "r": cap, "cost": evaluation.average_cost}
    row["capped_base_stock_s"] = time.perf_counter() - start
    row["capped_pairs_evaluated"] = len(tried)
    start = time.perf_counter()
    # Descent from the best capped level (near the best uncapped one; the cost is convex in S,
    # so the start changes only how many levels are evaluated, not the result).
    level, evaluation, tried = solver.best_base_stock(problem, start=level)
    row["base_stock"] = {"S": level, "cost": evaluation.average_cost}
    row["base_stock_s"] = time.perf_counter() - start
    row["base_stock_levels_evaluated"] = len(tried)
    start = time.perf_counter()
    orders = solver.myopic_orders(problem)
    evaluation = solver.evaluate(problem, orders, problem.position_bound, problem.order_bound)
    row["myopic"] = {"cost": evaluation.average_cost}
    row["myopic_s"] = time.perf_counter() - start
    for name in ("base_stock", "capped_base_stock", "myopic"):
        row[name]["gap_pct"] = gap(row[name]["cost"], solution.average_cost)
    if model == "poisson" and (lead_time, p) in PUBLISHED_BASE_STOCK_GAP:
        row["published_base_stock_gap_pct"] = PUBLISHED_BASE_STOCK_GAP[(lead_time, p)]
    return row


def show(row: dict) -> str:
    text = (
        f"{row['demand']:>9} L={row['lead_time']} p={row['lost_sale_cost']:>2}: "
        f"optimum {row['optimum']:.6f} ({row['states']} states, {row['iterations']} it, "
        f"{row['solve_s']:.2f} s)"
    )
    if row["truncation"]["binds"]:
        text += " TRUNCATION BINDS"
    if "published_optimum" in row:
        text += f" [Zipkin {row['published_optimum']:.2f}]"
    if "base_stock" in row:
        text += f" | base-stock S={row['base_stock']['S']} +{row['base_stock']['gap_pct']:.2f}%"
        if "published_base_stock_gap_pct" in row:
            text += f" [pub {row['published_base_stock_gap_pct']:.2f}%]"
        c = row["capped_base_stock"]
        text += f" | capped ({c['S']},{c['r']}) +{c['gap_pct']:.2f}%"
        text += f" | myopic +{row['myopic']['gap_pct']:.2f}%"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", default=None, help="model:L:p,... (default: all 32)")
    parser.add_argument("--skip-heuristics", action="store_true")
    parser.add_argument("--long-lead-time", type=int, default=6, help="0 to skip")
    parser.add_argument("--long-p", type=int, default=4)
    parser.add_argument("--out", default=str(RESULTS / "lost_sales_solve.json"))
    args = parser.parse_args()
    if args.cells:
        cells = [(m, int(lt), int(p)) for m, lt, p in (c.split(":") for c in args.cells.split(","))]
    else:
        cells = [(m, lt, p) for m in MODELS for lt in LEAD_TIMES for p in PENALTIES]
    start = time.perf_counter()
    rows = []
    for model, lead_time, p in cells:
        rows.append(solve_cell(model, lead_time, p, not args.skip_heuristics))
        print(show(rows[-1]), flush=True)
    total = time.perf_counter() - start
    result = {
        "benchmark": "lost_sales_solve",
        "machine": machine(),
        "cells": rows,
        "solve_s_total": sum(r["solve_s"] for r in rows),
        "truncation_check_s_total": sum(r["truncation_check_s"] for r in rows),
        "binding_cells": sum(r["truncation"]["binds"] for r in rows),
        "wall_s_total": total,
    }
    print(
        f"{len(rows)} cells: solves {result['solve_s_total']:.1f} s, truncation checks "
        f"{result['truncation_check_s_total']:.1f} s ({result['binding_cells']} binding), "
        f"all {total:.1f} s"
    )
    if args.long_lead_time:
        long_row = solve_cell("poisson", args.long_lead_time, args.long_p, False)
        result["long_lead_time"] = long_row
        print(show(long_row), flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
