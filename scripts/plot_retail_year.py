"""One test year of the retail store under DQN, the best (s, S) and the exact optimum.

    python scripts/plot_retail_year.py --dqn-run runs/dqn_retail [--year 0] [--days 56]
        [--out docs/retail_test_year.png]

The DQN run is a ``jaxinv train --env RetailStore-v0 --algo dqn`` directory (its greedy
policy, first seed). (s, S) is the pair searched on the training year; the optimum is the DP
policy. All three replay test year ``--year`` (0 = the article's seed 100) on the same demand;
the figure shows the first ``--days`` days: stock on the shelf at the end of each day and the
orders placed, with each policy's profit over the whole year in the legend.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import jax
import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from jaxinv import baselines, evaluate, training
from jaxinv.envs import retail


def trajectory(env, params, policy) -> dict[str, np.ndarray]:
    """Orders, end-of-day stock and profit of one year (``params`` of one store)."""
    batched = jax.tree.map(lambda leaf: leaf[None], params)
    returns, steps = evaluate.episode_trajectories(
        env, policy, batched, jax.random.PRNGKey(0), 1, env.horizon, batched_params=True
    )
    info = {k: np.asarray(v)[:, 0] for k, v in steps["info"].items()}
    flow = info["arrivals"] - info["discarded"] - info["sales"]
    stock = float(np.asarray(params.initial_stock)) + np.cumsum(flow)
    return {"order": info["order"], "stock": stock, "profit": float(np.asarray(returns)[0])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dqn-run", required=True)
    parser.add_argument("--year", type=int, default=0)
    parser.add_argument("--days", type=int, default=56)
    parser.add_argument("--out", type=Path, default=Path("docs/retail_test_year.png"))
    args = parser.parse_args()

    loaded = training.load_run(args.dqn_run)
    env = loaded.built.env
    year = jax.tree.map(lambda leaf: leaf[args.year], env.evaluation_params(loaded.built.params))
    agent = jax.tree.map(lambda leaf: leaf[0], loaded.agent)
    base_env, base_params = retail.make_retail_store()
    policies = {
        "DQN": (env, loaded.built.learner.policy(agent, True)),
        "(s, S)": (base_env, baselines.fit("RetailStore-v0", "sS", base_env, base_params, {})[0]),
        "optimum (DP)": (
            base_env,
            baselines.fit("RetailStore-v0", "dp", base_env, base_params, {})[0],
        ),
    }
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    days = np.arange(1, args.days + 1)
    for i, (name, (policy_env, policy)) in enumerate(policies.items()):
        year_params = jax.tree.map(
            lambda leaf: leaf[args.year], policy_env.evaluation_params(base_params)
        )
        if policy_env is env:
            year_params = year
        run = trajectory(policy_env, year_params, policy)
        label = f"{name}: {run['profit']:,.0f} for the year"
        top.step(days, run["stock"][: args.days], where="post", color=f"C{i}", label=label)
        bottom.bar(days + (i - 1) * 0.28, run["order"][: args.days], 0.28, color=f"C{i}")
    top.set_ylabel("cases on the shelf (end of day)")
    top.legend(fontsize=8)
    top.set_title(f"RetailStore-v0, test year {100 + args.year}: first {args.days} days")
    bottom.set_ylabel("cases ordered")
    bottom.set_xlabel("day (day 1 = Monday)")
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
